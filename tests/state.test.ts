// Models with state and the edge types real exports use: resource variables
// with a CALL_ONCE init graph (20 invokes in a row, then a reset), uint8
// inputs and outputs with QUANTIZE between int8 and uint8, and the refusal of
// float32 models. Golden outputs come from TFLM's reference kernels
// (../shared/tools/tflm-oracle), made here from models our own writer builds.
import test, { after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { convertTflite } from "../host/convert";
import { loadSync } from "../host/node/api";
import { Builtin, TensorType } from "../host/convert/tflite";
import { buildTflite, OpSpec, scalar, table, TensorSpec } from "./tflite-writer";
import { q, statefulSpec, uint8Spec } from "./state-models";
import { cli, haveOracle, haveStateOracle, PACKAGE_ROOT, prng, runOracle, STATE_ORACLE, throwsCoded } from "./helpers";
import { editDescription } from "./hostile-models";
import { buildNativeGolden } from "../host/boards/build";
import { spawnSync } from "node:child_process";
import { crc32 } from "../host/crc32";
import * as F from "../assembly/format";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const skipOracle = haveOracle ? false : "TFLM oracle (../shared/tools/tflm-oracle) not found";

// TFLM's outputs for the stateful models. The shared oracle creates no
// resource variables, so they were made with tests/oracle/state-oracle.cc
// and are kept in tests/oracle/state-golden.json; with $WISP_STATE_ORACLE
// set, every one is made again and must equal the kept one
// (WISP_WRITE_GOLDEN=1 rewrites the file instead).
const GOLDEN_FILE = join(PACKAGE_ROOT, "tests", "oracle", "state-golden.json");
type Golden = Record<string, { model: string; flags: string[]; inputs: string; outputs: string }>;
const kept: Golden = existsSync(GOLDEN_FILE) ? JSON.parse(readFileSync(GOLDEN_FILE, "utf8")) : {};
const made: Golden = {};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function tflmOutputs(name: string, model: Uint8Array, inputs: Uint8Array, flags: string[] = []): Uint8Array {
  const entry = { model: sha(model), flags, inputs: hex(inputs), outputs: "" };
  const k = kept[name];
  if (haveStateOracle) {
    const out = runOracle(model, inputs, flags, STATE_ORACLE);
    assert.ok(out, `TFLM refused ${name}`);
    made[name] = { ...entry, outputs: hex(out) };
    if (!process.env.WISP_WRITE_GOLDEN) assert.deepEqual(k, made[name], `${name}: TFLM's outputs differ from tests/oracle/state-golden.json`);
    return out;
  }
  assert.ok(k, `${name} is missing from tests/oracle/state-golden.json`);
  assert.deepEqual({ ...k, outputs: "" }, entry, `${name}: the model or inputs changed; remake the vectors (WISP_STATE_ORACLE=... WISP_WRITE_GOLDEN=1)`);
  return new Uint8Array(Buffer.from(k.outputs, "hex"));
}

after(() => {
  if (process.env.WISP_WRITE_GOLDEN && haveStateOracle) writeFileSync(GOLDEN_FILE, JSON.stringify(made, null, 1) + "\n");
});

const stateful = buildTflite(statefulSpec(), { optionsTypes: true });

function randomInputs(count: number, bytes: number, seed: number): Uint8Array {
  const next = prng(seed);
  return Uint8Array.from({ length: count * bytes }, () => next(256));
}

function runAll(model: ReturnType<typeof loadSync>, inputs: Uint8Array): Uint8Array[] {
  const n = inputs.length / model.inputBytes;
  return Array.from({ length: n }, (_, i) => new Uint8Array(model.invoke(new Int8Array(inputs.buffer, i * model.inputBytes, model.inputBytes)).buffer));
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  return Array.from({ length: bytes.length / size }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

test("a stateful streaming model: 20 invokes byte-exact with TFLM, output by output, and again after reset()", () => {
  const inputs = randomInputs(20, 4, 15);
  const expected = split(tflmOutputs("stateful, 20 random inputs", stateful, inputs), 8);
  for (const options of [{}, { streamWeights: true }]) {
    const model = loadSync(stateful, options);
    const first = runAll(model, inputs);
    first.forEach((out, i) => assert.deepEqual(out, expected[i], `invoke ${i}${options.streamWeights ? " (streamed weights)" : ""}`));
    model.reset();
    runAll(model, inputs).forEach((out, i) => assert.deepEqual(out, expected[i], `invoke ${i} after reset()`));
  }
  // The .wisp path: convert once, load the file.
  const fromWisp = loadSync(convertTflite(stateful).wisp);
  runAll(fromWisp, inputs).forEach((out, i) => assert.deepEqual(out, expected[i], `invoke ${i} from the .wisp`));
});

test("an ASSIGN stays a copy when an op between the value's producer and the ASSIGN still reads the old state", () => {
  // acc + ring -> s; then (acc as it was) + s -> t; then ASSIGN(acc, s): s
  // cannot be written into acc, or the second ADD would read the new sum.
  const spec = statefulSpec();
  const ops: OpSpec[] = spec.ops;
  ops.splice(9, 2, { builtin: Builtin.ADD, inputs: [9, 10], outputs: [12], options: table(scalar("i8", 0)) }, ops[9], { ...ops[10], inputs: [12, 3] });
  const model = buildTflite({ ...spec, tensors: [...spec.tensors, q([1, 8], 0.1, 0)], ops }, { optionsTypes: true });
  const { info } = convertTflite(model);
  assert.equal(info.opCounts.ASSIGN_VARIABLE, 3);
  const inputs = randomInputs(20, 4, 16);
  const expected = split(tflmOutputs("stateful, old acc read after the sum, 20 random inputs", model, inputs), 8);
  runAll(loadSync(model), inputs).forEach((out, i) => assert.deepEqual(out, expected[i], `invoke ${i}`));
});

const haveAot = ["gcc", "wasm2c"].every((t) => !spawnSync(t, ["--version"]).error);

test("the C host (wasm2c engine, native): the 20 invokes byte-exact, then again after wisp_reset()", { skip: haveAot ? false : "gcc or wasm2c missing: run host/c/install-toolchain.sh" }, () => {
  const inputs = randomInputs(20, 4, 15);
  const expected = tflmOutputs("stateful, 20 random inputs", stateful, inputs);
  const { wisp, info } = convertTflite(stateful);
  const twice = (b: Uint8Array) => Uint8Array.from([...b, ...b]);
  const exe = buildNativeGolden("aot", { name: "stateful-reset", wisp, count: 40, arenaBytes: info.arenaBytes, inputs: twice(inputs), outputs: twice(expected), resetEvery: 20 });
  const r = spawnSync(exe, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /stateful-reset: 40\/40 byte-exact/);
});

test("the state is real: the same input gives different outputs invoke after invoke, as in TFLM", () => {
  const one = randomInputs(1, 4, 7);
  const inputs = new Uint8Array(20 * 4);
  for (let i = 0; i < 20; i++) inputs.set(one, 4 * i);
  const expected = split(tflmOutputs("stateful, one input 20 times", stateful, inputs), 8);
  const outputs = runAll(loadSync(stateful), inputs);
  outputs.forEach((out, i) => assert.deepEqual(out, expected[i], `invoke ${i}`));
  assert.ok(new Set(outputs.map((o) => o.join(","))).size > 10, "outputs should change as the state does");
  // A different init graph changes the first outputs: the init graph runs.
  const other = buildTflite(statefulSpec([0, 0, 0, 0, 0, 0, 0, 0]), { optionsTypes: true });
  const otherOut = runAll(loadSync(other), inputs);
  assert.deepEqual(otherOut, split(tflmOutputs("stateful with another init graph, one input 20 times", other, inputs), 8));
  assert.notDeepEqual(otherOut[0], outputs[0]);
});

test("TFLM's own Reset() refills variables with their zero point and does not rerun CALL_ONCE; reset() matches a fresh interpreter instead", () => {
  // Pinned because docs/state-and-types.md explains the difference.
  const inputs = randomInputs(2, 4, 9);
  const fresh = split(tflmOutputs("stateful, 2 inputs", stateful, inputs), 8);
  const tflmReset = split(tflmOutputs("stateful, 2 inputs, Reset() before each", stateful, inputs, ["--reset-between"]), 8);
  assert.deepEqual(tflmReset[0], fresh[0]);
  // After TFLM's Reset() the state is what an init graph assigning the zero points leaves.
  const zeroInit = buildTflite(statefulSpec([-5, -5, -5, -5, -5, -5, -5, -5], [3, 3, 3, 3, 3, 3, 3, 3]), { optionsTypes: true });
  assert.deepEqual(tflmReset[1], split(tflmOutputs("stateful with zero-point init, second input", zeroInit, inputs.subarray(4)), 8)[0]);
  const freshSecond = split(tflmOutputs("stateful, second input on a fresh interpreter", stateful, inputs.subarray(4)), 8)[0];
  assert.notDeepEqual(tflmReset[1], freshSecond);
  const model = loadSync(stateful);
  model.invoke(new Int8Array(inputs.buffer, 0, 4));
  model.reset();
  assert.deepEqual(new Uint8Array(model.invoke(new Int8Array(inputs.buffer, 4, 4)).buffer), freshSecond);
});

test("variables are planned offline: inspect shows their place, apart from every tensor", () => {
  const { info } = convertTflite(stateful);
  assert.deepEqual(info.variables.map((v) => [v.name, v.arenaBytes, v.fill]), [["buf", 8, 251], ["acc", 8, 3]]);
  const [buf, acc] = info.variables;
  const overlaps = (a: { arenaOffset: number; arenaBytes: number }, b: { arenaOffset: number; arenaBytes: number }) =>
    a.arenaOffset < b.arenaOffset + b.arenaBytes && b.arenaOffset < a.arenaOffset + a.arenaBytes;
  assert.ok(!overlaps(buf, acc));
  // Every op output but the variables' own writes (fills, ASSIGN) lies outside both.
  for (const op of info.ops) {
    if (op.arenaBytes === 0 || info.variables.some((v) => v.arenaOffset === op.arenaOffset && v.arenaBytes === op.arenaBytes)) continue;
    assert.ok(!overlaps(op, buf) && !overlaps(op, acc), `op ${op.index} (${op.op}) writes over a variable`);
  }
  // READ of `acc` shares the variable (no copy); READ of `buf` is a copy.
  assert.equal(info.opCounts.READ_VARIABLE, 1);
  // The main graph's ASSIGNs cost nothing: the STRIDED_SLICE writes the new
  // ring straight into `buf`, the ADD the new sum into `acc` (in place).
  assert.equal(info.opCounts.ASSIGN_VARIABLE, 2); // the init graph's constants
  assert.equal(info.ops.find((o) => o.op === "STRIDED_SLICE")!.arenaOffset, buf.arenaOffset);
  assert.equal(info.ops.filter((o) => o.op === "ADD")[0].arenaOffset, acc.arenaOffset);
  // Two ONCE blocks: the fills, then the init graph.
  assert.equal(info.opCounts.ONCE, 1);
  assert.equal(info.opCounts.VARIABLE_FILL, 2);
  assert.equal(info.opCounts.CALL_ONCE, 1);
  // Variables 16 bytes, the copy of `buf` 8, the input 4 and the
  // concatenation 12: all alive at the CONCATENATION.
  assert.equal(info.arenaBytes, 40);
  const dir = mkdtempSync(join(tmpdir(), "wisp-state-"));
  try {
    writeFileSync(join(dir, "m.tflite"), stateful);
    const r = cli(["inspect", join(dir, "m.tflite")]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`variable buf +${buf.arenaOffset} +8 +fill 251`));
    assert.match(r.stdout, new RegExp(`variable acc +${acc.arenaOffset} +8 +fill 3`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stateful models refuse incremental streaming: every hop runs the model once", () => {
  const model = loadSync(stateful);
  const w = model.wasm;
  assert.equal(w.wisp_lfbe_init(1, 0, 1, 4), 0);
  assert.equal(w.wisp_stream_incremental(), 0);
});

test("resource-variable models the converter refuses, with the reason", () => {
  const spec = statefulSpec();
  const reject = (s: object, code: string, pattern: RegExp) => throwsCoded(() => convertTflite(buildTflite(s as typeof spec, { optionsTypes: true })), code, pattern);
  // `acc` is read but no ASSIGN writes it.
  reject({ ...spec, ops: spec.ops.filter((o) => !(o.builtin === Builtin.ASSIGN_VARIABLE && o.inputs[0] === 2)), graphs: [{ ...spec.graphs[0], ops: spec.graphs[0].ops.slice(0, 3) }] },
    "BAD_MODEL", /^operator 7 \(READ_VARIABLE\): resource variable "acc" is read, but no ASSIGN_VARIABLE ever writes it/);
  // An ASSIGN whose value does not fit the variable.
  const wrong = { ...spec, tensors: spec.tensors.map((t, i) => (i === 10 ? q([1, 8], 0.08, 3, TensorType.INT16) : t)) };
  reject(wrong, "BAD_MODEL", /^subgraph 1 operator 3 \(ASSIGN_VARIABLE\): constant "t3" \(INT8, 8 bytes\) does not fit variable "acc" \(INT16, 16 bytes\)/);
  // CALL_ONCE of a subgraph that is not there, and inside an init graph.
  reject({ ...spec, ops: [{ ...spec.ops[0], options: table(scalar("i32", 5)) }, ...spec.ops.slice(1)] }, "BAD_MODEL", /^operator 0 \(CALL_ONCE\): init subgraph 5 does not exist/);
  reject({ ...spec, graphs: [{ ...spec.graphs[0], ops: [spec.ops[0], ...spec.graphs[0].ops] }] }, "UNSUPPORTED_OP", /^subgraph 1 operator 0 \(CALL_ONCE\): CALL_ONCE inside an init graph is not supported/);
  // A subgraph no CALL_ONCE runs.
  reject({ ...spec, ops: spec.ops.slice(1) }, "UNSUPPORTED_OP", /^subgraph 1 is not the init graph of a CALL_ONCE/);
});

test("uint8 input and output, and QUANTIZE between int8 and uint8 anywhere: byte-exact with TFLM", { skip: skipOracle }, () => {
  const tflite = buildTflite(uint8Spec(), { optionsTypes: true });
  const inputs = randomInputs(32, 16, 21);
  const golden = runOracle(tflite, inputs);
  assert.ok(golden, "TFLM refused the model");
  const model = loadSync(tflite);
  assert.equal(model.info.input.type, "uint8");
  assert.equal(model.info.output.type, "uint8");
  assert.equal(model.info.input.zeroPoint, 128);
  const outputs = split(inputs, 16).map((x) => model.invoke(Uint8Array.from(x)));
  outputs.forEach((out, i) => {
    assert.ok(out instanceof Uint8Array);
    assert.deepEqual(out, golden.subarray(6 * i, 6 * i + 6), `input ${i}`);
  });
  assert.ok(new Set(outputs.map((o) => o.join(","))).size > 16, "outputs should vary");
  const fromWisp = loadSync(convertTflite(tflite).wisp, { streamWeights: true });
  split(inputs, 16).forEach((x, i) => assert.deepEqual(fromWisp.invoke(Uint8Array.from(x)), outputs[i]));
});

test("QUANTIZE uint8 -> uint8 is refused as TFLM refuses it", () => {
  const spec = { tensors: [q([1, 4], 0.1, 128, TensorType.UINT8), q([1, 4], 0.2, 120, TensorType.UINT8)], ops: [{ builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] };
  throwsCoded(() => convertTflite(buildTflite(spec)), "UNSUPPORTED_TYPE", /^operator 0 \(QUANTIZE\): QUANTIZE from UINT8 to UINT8: TFLM pairs uint8 only with int8/);
});

test("float32 models are refused with the converter settings that make an int8 model", () => {
  const f = (shape: number[]): TensorSpec => ({ shape, type: TensorType.FLOAT32 });
  const weights = { shape: [2, 4], type: TensorType.FLOAT32, data: new Uint8Array(new Float32Array(8).fill(0.5).buffer) };
  const spec = { tensors: [f([1, 4]), weights, f([1, 2])], ops: [{ builtin: Builtin.FULLY_CONNECTED, inputs: [0, 1, -1], outputs: [2], options: table(scalar("i8", 0)) }], inputs: [0], outputs: [2] };
  const advice = /This is a float model\. Wisp runs integer-quantized models and does not quantize float models itself\. .*converter\.optimizations = \[tf\.lite\.Optimize\.DEFAULT\]; converter\.representative_dataset = .*converter\.target_spec\.supported_ops = \[tf\.lite\.OpsSet\.TFLITE_BUILTINS_INT8\]; converter\.inference_input_type = tf\.int8 .*converter\.inference_output_type = tf\.int8/;
  throwsCoded(() => convertTflite(buildTflite(spec)), "UNSUPPORTED_TYPE", new RegExp(`^operator 0 \\(FULLY_CONNECTED\\): computes in float32: tensor "t0" is float32\\. ${advice.source}`));
  // Through the CLI, the same words.
  const dir = mkdtempSync(join(tmpdir(), "wisp-float-"));
  try {
    writeFileSync(join(dir, "f.tflite"), buildTflite(spec));
    const r = cli(["convert", join(dir, "f.tflite"), "-o", join(dir, "f.wisp")]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /UNSUPPORTED_TYPE/);
    assert.match(r.stderr, /inference_input_type = tf\.int8/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("format version 4: version 2 and 3 files still load and run; version 1, newer ones and the int8 kinds LUT records replaced are refused", () => {
  const wisp = convertTflite(buildTflite(uint8Spec())).wisp;
  const asVersion = (n: number, source = wisp) => {
    const out = editDescription(source, (i) => {
      i.formatVersion = n;
      if (n < 3) delete i.variables; // version 2 descriptions have no variables
    });
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    v.setUint32(4, n, true);
    v.setUint32(12, crc32(out.subarray(F.HEADER_BYTES)), true);
    return out;
  };
  const x = Uint8Array.from({ length: 16 }, (_, i) => 16 * i);
  for (const n of [2, 3]) {
    const old = loadSync(asVersion(n));
    assert.equal(old.info.formatVersion, n);
    if (n === 2) assert.deepEqual(old.info.variables, []);
    assert.deepEqual(old.invoke(x), loadSync(wisp).invoke(x));
  }
  throwsCoded(() => loadSync(asVersion(1)), "BAD_WISP", /older converter: convert the \.tflite again/);
  throwsCoded(() => loadSync(asVersion(5)), "BAD_WISP", /newer than this runtime/);
  // A version 3 ACTIVATION record of an int8 kind (here RELU's kind 0, made
  // from an int16 LEAKY_RELU record): refused, saying to convert again.
  const i16 = (scale: number): TensorSpec => ({ shape: [1, 8], type: TensorType.INT16, scale: [scale], zeroPoint: [0] });
  const leaky = convertTflite(buildTflite({ tensors: [i16(0.001), i16(0.002)], ops: [{ builtin: Builtin.LEAKY_RELU, version: 2, inputs: [0], outputs: [1], options: table(scalar("f32", 0.1)) }], inputs: [0], outputs: [1] })).wisp;
  const view = new DataView(leaky.buffer, leaky.byteOffset, leaky.byteLength);
  const record = view.getUint32(F.HEADER_BYTES + 8, true) + 4 * F.GRAPH_HEADER_WORDS;
  assert.equal(view.getInt32(record, true), 48, "the first record is ACTIVATION");
  // [opcode, words, T = 2, 2 x (offset, bytes), W = 0, kind, ...]
  assert.equal(view.getInt32(record + 4 * 8, true), 4);
  view.setInt32(record + 4 * 8, 0, true);
  throwsCoded(() => loadSync(asVersion(3, leaky)), "BAD_WISP", /ACTIVATION kind invalid \(kinds 0-3, 8, 9 of \.wisp 3: convert again\)/);
});
