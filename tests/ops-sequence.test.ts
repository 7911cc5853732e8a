// The stateful sequence ops, UNIDIRECTIONAL_SEQUENCE_LSTM (assembly/ops/lstm.ts)
// and SVDF (svdf.ts), and the int8 SOFTMAX with int16 output and int16 ->
// int32 QUANTIZE that keyword models end with. Variants the shared models
// lack (batches, time major, int16 activations, clipping, rank 2, int8 and
// int16 state, zero points) are built here and run on TFLM's reference
// kernels (the tflm-oracle binary, when present), which runs its rows in
// sequence on one interpreter: the state carries from row to row there, and
// it must here. Refused variants must be refused with TFLM's reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { opRecords } from "../host/node/wisp-file";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync, Model } from "../host/node/api";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findZoo2Dir } from "../host/node/models";
import { haveOracle, prng, random, runConfined, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int32Bytes, int8Bytes, ModelSpec, scalar, table, TensorSpec } from "./tflite-writer";

const needsOracle = haveOracle ? {} : { skip: "tflm-oracle is not present" };
const f32 = Math.fround;
const model = (spec: ModelSpec): Uint8Array => buildTflite(spec, { optionsTypes: true });


const bytesOf = (values: number[], Kind: Int16ArrayConstructor | Int32ArrayConstructor): Uint8Array => new Uint8Array(Kind.from(values).buffer);
const int64Bytes = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
const q = (shape: number[], type: number, scale: number, zeroPoint = 0, variable = false): TensorSpec => ({ shape, type, scale: [f32(scale)], zeroPoint: [zeroPoint], variable });

function invokeBytes(m: Model, bytes: Uint8Array): Uint8Array {
  const y = m.invoke(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  return new Uint8Array(y.buffer, y.byteOffset, y.byteLength).slice();
}

// Runs `rows` raw inputs in sequence on TFLM and on fresh Wisp models (.tflite
// and .wisp); every output must match. Returns Wisp's outputs.
function assertSequenceMatchesTflm(tflite: Uint8Array, rows: number, seed: number, label: string): Uint8Array[] {
  const wisp = loadSync(tflite);
  const inBytes = wisp.inputBytes, outBytes = wisp.outputBytes;
  const inputs = int8Bytes(random(seed, rows * inBytes, -128, 127));
  const expected = runOracle(tflite, inputs);
  assert.ok(expected, `${label}: TFLM refused the model`);
  assert.equal(expected.length, rows * outBytes);
  const fromWisp = loadSync(convertTflite(tflite).wisp);
  const outputs: Uint8Array[] = [];
  for (let r = 0; r < rows; r++) {
    const x = inputs.subarray(r * inBytes, (r + 1) * inBytes);
    const want: number[] = Array.from(expected!.subarray(r * outBytes, (r + 1) * outBytes));
    const y = invokeBytes(wisp, x);
    assert.deepEqual(Array.from(y), want, `${label}: row ${r}`);
    assert.deepEqual(Array.from(invokeBytes(fromWisp, x)), want, `${label}: row ${r} (.wisp)`);
    outputs.push(y);
  }
  // The state matters: some later row on a fresh model gives another answer.
  const differs = outputs.some((y, r) => r > 0 && !invokeBytes(loadSync(tflite), inputs.subarray(r * inBytes, (r + 1) * inBytes)).every((v, k) => v === y[k]));
  assert.ok(differs, `${label}: the state made no difference`);
  return outputs;
}

// --- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------

interface LstmOptions {
  batches: number; steps: number; inputs: number; units: number; timeMajor?: boolean; wide?: boolean;
  inZp?: number; hZp?: number; cellScale?: number; clip?: number; activation?: number; seed: number;
}

// Inputs 0..23 as TFLM's lstm_shared.h numbers them; -1 for the absent ones.
function lstm(o: LstmOptions): ModelSpec {
  const act = o.wide ? TensorType.INT16 : TensorType.INT8;
  const [inZp, hZp] = o.wide ? [0, 0] : [o.inZp ?? 0, o.hZp ?? 0];
  const inScale = o.wide ? 1 / 8192 : 0.05, hScale = o.wide ? 1 / 16384 : 1 / 128;
  const seq = o.timeMajor ? [o.steps, o.batches] : [o.batches, o.steps];
  const tensors: TensorSpec[] = [q([...seq, o.inputs], act, inScale, inZp)];
  const inputs = new Array(24).fill(-1);
  inputs[0] = 0;
  const weights = (rows: number, cols: number, seed: number): TensorSpec =>
    ({ shape: [rows, cols], type: TensorType.INT8, data: int8Bytes(random(seed, rows * cols, -127, 127)), scale: [f32(0.004 + (seed % 7) * 0.001)], zeroPoint: [0] });
  for (let g = 0; g < 4; g++) {
    inputs[1 + g] = tensors.push(weights(o.units, o.inputs, o.seed + g)) - 1;
    inputs[5 + g] = tensors.push(weights(o.units, o.units, o.seed + 10 + g)) - 1;
    const b = random(o.seed + 20 + g, o.units, -3000, 3000);
    inputs[12 + g] = tensors.push({ shape: [o.units], type: o.wide ? TensorType.INT64 : TensorType.INT32, data: o.wide ? int64Bytes(b) : int32Bytes(b), scale: [f32(1e-5)], zeroPoint: [0] }) - 1;
  }
  inputs[18] = tensors.push(q([o.batches, o.units], act, hScale, hZp, true)) - 1;
  inputs[19] = tensors.push(q([o.batches, o.units], TensorType.INT16, o.cellScale ?? 2 ** -11, 0, true)) - 1;
  const out = tensors.push(q([...seq, o.units], act, hScale, hZp)) - 1;
  // UnidirectionalSequenceLSTMOptions: activation, cell_clip, proj_clip, time_major.
  const options = table(scalar("i8", o.activation ?? 4), scalar("f32", o.clip ?? 0), scalar("f32", 0), scalar("u8", o.timeMajor ? 1 : 0));
  return { tensors, ops: [{ builtin: Builtin.UNIDIRECTIONAL_SEQUENCE_LSTM, version: o.wide ? 5 : 1, inputs, outputs: [out], options }], inputs: [0], outputs: [out] };
}

test("LSTM int8: batches, steps, zero points, cell clip and state across invokes match TFLM", needsOracle, () => {
  assertSequenceMatchesTflm(model(lstm({ batches: 2, steps: 3, inputs: 5, units: 4, inZp: 7, hZp: -3, clip: 0.25, seed: 1 })), 5, 11, "batch-major, clip");
  assertSequenceMatchesTflm(model(lstm({ batches: 1, steps: 1, inputs: 9, units: 6, inZp: -128, hZp: 20, cellScale: 2 ** -13, seed: 2 })), 6, 12, "one step per invoke, no clip");
});

test("LSTM int8 time major with two batches matches TFLM", needsOracle, () => {
  assertSequenceMatchesTflm(model(lstm({ batches: 2, steps: 4, inputs: 3, units: 5, timeMajor: true, inZp: -5, hZp: 1, clip: 0.4, cellScale: 2 ** -10, seed: 3 })), 4, 13, "time major");
});

test("LSTM with int16 activations (int64 bias) matches TFLM", needsOracle, () => {
  assertSequenceMatchesTflm(model(lstm({ batches: 1, steps: 3, inputs: 6, units: 4, wide: true, clip: 0.1, seed: 4 })), 4, 14, "int16x8");
});

test("LSTM refusals name the op and TFLM's reason", () => {
  const base = lstm({ batches: 1, steps: 2, inputs: 3, units: 2, seed: 5 });
  const withInput = (k: number, index: number): ModelSpec => ({ ...base, ops: [{ ...base.ops[0], inputs: base.ops[0].inputs.map((v, i) => (i === k ? index : v)) }] });
  const withTensor = (k: number, patch: Partial<TensorSpec>): ModelSpec => ({ ...base, tensors: base.tensors.map((t, i) => (i === base.ops[0].inputs[k] ? { ...t, ...patch } : t)) });
  const refuse = (spec: ModelSpec, code: string, pattern: RegExp) => throwsCoded(() => convertTflite(model(spec)), code, pattern);
  refuse(withInput(9, base.ops[0].inputs[1]), "UNSUPPORTED_OP", /^operator 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM\): the peephole LSTM variant is not supported/);
  refuse(withInput(16, base.ops[0].inputs[1]), "UNSUPPORTED_OP", /projection LSTM variant/);
  refuse(withInput(20, base.ops[0].inputs[12]), "UNSUPPORTED_OP", /layer normalization LSTM variant/);
  refuse(withInput(1, -1), "UNSUPPORTED_OP", /input 1 is missing: TFLM runs the standard LSTM only \(no CIFG\)/);
  refuse({ ...base, ops: [{ ...base.ops[0], inputs: base.ops[0].inputs.slice(0, 20) }] }, "BAD_MODEL", /has 20 inputs and 1 outputs, expected 24 and 1/);
  refuse(withTensor(18, { variable: false }), "BAD_MODEL", /hidden state tensor "t\d+" must be a variable tensor/);
  refuse(withTensor(19, { type: TensorType.INT8 }), "UNSUPPORTED_TYPE", /cell state tensor "t\d+" is INT8; Wisp runs int16 here/);
  refuse(withTensor(2, { scale: [0.01, 0.02], zeroPoint: [0, 0], quantizedDimension: 0 }), "UNSUPPORTED_TYPE", /input weights "t\d+" has 2 scales; TFLM's LSTM takes per-tensor weights/);
  refuse(withTensor(13, { type: TensorType.INT64, data: int64Bytes([1, 2]) }), "UNSUPPORTED_TYPE", /bias "t\d+" is not int32/);
  refuse({ ...base, ops: [{ ...base.ops[0], options: table(scalar("i8", 1), scalar("f32", 0), scalar("f32", 0), scalar("u8", 0)) }] }, "UNSUPPORTED_OP", /cell activation 1 is not supported \(TFLM runs TANH only\)/);
  refuse({ ...base, tensors: base.tensors.map((t, i) => (i === 0 ? { ...t, type: TensorType.FLOAT32, scale: undefined, zeroPoint: undefined } : t)) }, "UNSUPPORTED_TYPE", /computes in float32: tensor "t0" is float32 \(int8 weights with float32 activations: dynamic-range quantization/);
});

// --- SVDF ------------------------------------------------------------------

interface SvdfOptions { batches: number; inputs: number; filters: number; memory: number; rank: number; wideState: boolean; stateZp?: number; bias?: boolean; seed: number }

function svdf(o: SvdfOptions): ModelSpec {
  const units = o.filters / o.rank;
  const stateType = o.wideState ? TensorType.INT16 : TensorType.INT8;
  const stateScale = o.wideState ? 0.004 : 0.3, wtScale = o.wideState ? 0.0035 : 0.012;
  const tensors: TensorSpec[] = [
    q([o.batches, o.inputs], TensorType.INT8, 0.06, -128),
    { shape: [o.filters, o.inputs], type: TensorType.INT8, data: int8Bytes(random(o.seed, o.filters * o.inputs, -127, 127)), scale: [f32(0.009)], zeroPoint: [0] },
    { shape: [o.filters, o.memory], type: stateType, data: o.wideState ? bytesOf(random(o.seed + 1, o.filters * o.memory, -20000, 20000), Int16Array) : int8Bytes(random(o.seed + 1, o.filters * o.memory, -127, 127)), scale: [f32(wtScale)], zeroPoint: [0] },
    { shape: [units], type: TensorType.INT32, data: int32Bytes(random(o.seed + 2, units, -2000, 2000)), scale: [f32(f32(stateScale) * f32(wtScale))], zeroPoint: [0] },
    q([o.batches, o.filters * o.memory], stateType, stateScale, o.wideState ? 0 : o.stateZp ?? 0, true),
    q([o.batches, units], TensorType.INT8, 0.2, -128),
  ];
  // SVDFOptions: rank, fused_activation_function (RELU; TFLM's integer kernel ignores it).
  return { tensors, ops: [{ builtin: Builtin.SVDF, version: 3, inputs: [0, 1, 2, o.bias === false ? -1 : 3, 4], outputs: [5], options: table(scalar("i32", o.rank), scalar("i8", 1)) }], inputs: [0], outputs: [5] };
}

test("SVDF with int16 and int8 state, rank 1 and 2, batches and state across invokes matches TFLM", needsOracle, () => {
  assertSequenceMatchesTflm(model(svdf({ batches: 1, inputs: 12, filters: 8, memory: 4, rank: 1, wideState: true, seed: 6 })), 6, 16, "int16 state, rank 1");
  assertSequenceMatchesTflm(model(svdf({ batches: 2, inputs: 7, filters: 6, memory: 3, rank: 2, wideState: true, seed: 7 })), 5, 17, "int16 state, rank 2, two batches");
  assertSequenceMatchesTflm(model(svdf({ batches: 2, inputs: 10, filters: 4, memory: 5, rank: 1, wideState: false, stateZp: -50, seed: 8 })), 7, 18, "int8 state, zero point -50");
});

test("SVDF refusals name the op and TFLM's reason", () => {
  const base = svdf({ batches: 1, inputs: 4, filters: 4, memory: 2, rank: 2, wideState: true, seed: 9 });
  const withTensor = (k: number, patch: Partial<TensorSpec>): ModelSpec => ({ ...base, tensors: base.tensors.map((t, i) => (i === k ? { ...t, ...patch } : t)) });
  const refuse = (spec: ModelSpec, code: string, pattern: RegExp) => throwsCoded(() => convertTflite(model(spec)), code, pattern);
  refuse(svdf({ batches: 1, inputs: 4, filters: 4, memory: 2, rank: 2, wideState: true, bias: false, seed: 9 }), "UNSUPPORTED_OP", /^operator 0 \(SVDF\): SVDF without a bias is not supported/);
  refuse(withTensor(4, { type: TensorType.INT8, scale: [0.3], zeroPoint: [0] }), "UNSUPPORTED_TYPE", /activation state tensor "t4" is INT8; Wisp runs int16 here/);
  refuse(withTensor(3, { scale: [0.5] }), "BAD_MODEL", /bias scale is not activation state scale \* time weights scale/);
  refuse(withTensor(4, { variable: false }), "BAD_MODEL", /activation state tensor "t4" must be a variable tensor/);
  refuse(withTensor(4, { zeroPoint: [3] }), "UNSUPPORTED_TYPE", /an int16 activation state must have zero point 0/);
  refuse({ ...base, ops: [{ ...base.ops[0], options: table(scalar("i32", 3), scalar("i8", 1)) }] }, "BAD_MODEL", /4 filters are not a multiple of rank 3/);
});

// --- The keyword models' int16 tail ------------------------------------------

test("int8 SOFTMAX with int16 output and QUANTIZE int16 -> int32 match TFLM", needsOracle, () => {
  const tensors: TensorSpec[] = [q([2, 5], TensorType.INT8, 0.07, 2), q([2, 5], TensorType.INT16, 1 / 65536, -32768), q([2, 5], TensorType.INT32, 3.0518509447574615e-05, 0)];
  const spec: ModelSpec = {
    tensors,
    ops: [
      { builtin: Builtin.SOFTMAX, version: 2, inputs: [0], outputs: [1], options: table(scalar("f32", 1)) },
      { builtin: Builtin.QUANTIZE, version: 1, inputs: [1], outputs: [2] },
    ],
    inputs: [0],
    outputs: [2],
  };
  const tflite = model(spec);
  const inputs = int8Bytes(random(19, 10 * 8, -128, 127));
  const expected = runOracle(tflite, inputs);
  assert.ok(expected, "TFLM refused the model");
  const m = loadSync(tflite);
  for (let r = 0; r < 8; r++) assert.deepEqual(Array.from(invokeBytes(m, inputs.subarray(10 * r, 10 * (r + 1)))), Array.from(expected.subarray(40 * r, 40 * (r + 1))), `row ${r}`);
  throwsCoded(() => convertTflite(model({ ...spec, tensors: [tensors[0], q([2, 5], TensorType.INT16, 1 / 32768, 0), tensors[2]] })), "UNSUPPORTED_TYPE", /^operator 0 \(SOFTMAX\): int8 SOFTMAX with int16 output needs scale 1\/65536 and zero point -32768/);
});

// --- Validation ----------------------------------------------------------

test("mutated LSTM and SVDF records end in a coded error or a run confined to the arena", () => {
  const specs = [
    lstm({ batches: 2, steps: 3, inputs: 5, units: 4, inZp: 7, hZp: -3, clip: 0.25, seed: 30 }),
    lstm({ batches: 1, steps: 2, inputs: 4, units: 3, wide: true, timeMajor: true, seed: 31 }),
    svdf({ batches: 2, inputs: 6, filters: 4, memory: 3, rank: 2, wideState: true, seed: 32 }),
    svdf({ batches: 1, inputs: 5, filters: 3, memory: 4, rank: 1, wideState: false, stateZp: 9, seed: 33 }),
  ];
  const extremes = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 255, 256];
  const random = prng(97);
  const outcomes = new Map<string, number>();
  for (const spec of specs) {
    const base = convertTflite(model(spec)).wisp;
    const [record] = opRecords(base).filter((r) => r.opcode >= F.FIRST_REGISTERED_OPCODE);
    for (let i = 0; i < 150; i++) {
      const bytes = base.slice();
      const v = new DataView(bytes.buffer);
      const at = record.at + 4 * (1 + random(record.words - 1)); // any word but the opcode
      v.setInt32(at, random(2) ? extremes[random(extremes.length)] : v.getInt32(at, true) + random(9) - 4, true);
      v.setUint32(12, crc32(bytes.subarray(F.HEADER_BYTES)), true);
      let outcome = "ran";
      try {
        runConfined(loadSync(bytes, { streamWeights: i % 3 === 0 }));
      } catch (e) {
        if (!(e instanceof WispError)) throw e;
        outcome = e.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  }
  assert.ok((outcomes.get("ran") ?? 0) > 30 && (outcomes.get("BAD_WISP") ?? 0) > 100, JSON.stringify([...outcomes]));
});

// reset() starts LSTM and SVDF state afresh, as a new load does: the state
// tensors are variables, zero-filled by the ONCE block that reset reruns.
// Compared on the state bytes themselves (the keyword models' outputs saturate).
test("reset() puts LSTM and SVDF state back to a fresh load's", { skip: findZoo2Dir() ? false : "zoo2 not found" }, () => {
  for (const name of ["real_micro_speech_lstm", "real_dtln_noise_suppression", "real_keyword_scrambled_8bit"]) {
    const m = loadSync(new Uint8Array(readFileSync(join(findZoo2Dir()!, name, "model.tflite"))));
    const variables = (m.info as unknown as { variables: { name: string; arenaOffset: number; arenaBytes: number }[] }).variables;
    assert.ok(variables.length >= 1, `${name}: no state listed`);
    const state = () => variables.map((v) => Buffer.from(new Uint8Array(m.wasm.memory.buffer, m.wasm.wisp_arena_ptr() + v.arenaOffset, v.arenaBytes)).toString("hex")).join("|");
    const x = (i: number) => new Uint8Array(random(7 + i, m.inputBytes, 0, 255));
    invokeBytes(m, x(0));
    const afterOne = state();
    for (let i = 1; i < 5; i++) invokeBytes(m, x(i));
    assert.notEqual(state(), afterOne, `${name}: the state did not change`);
    m.reset();
    invokeBytes(m, x(0));
    assert.equal(state(), afterOne, `${name}: after reset() and one invoke`);
  }
});
