// Byte-exactness against TFLM's reference kernels: every golden vector of the
// five MLPerf Tiny models and of the 31 kernel-zoo models, through the Node
// API (from .tflite and from .wisp) and through the CLI; and every
// intermediate tensor of input 0 against TFLM's debug dumps. The API runs
// through both modules: build/wisp-simd.wasm and the scalar build/wisp.wasm;
// and the first vectors of every set of every model under wasm3 (our Node
// binding), the interpreter devices run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoadOptions, loadSync, Model } from "../host/node/api";
import { convertTflite } from "../host/convert";
import { goldenSets, TASKS } from "../host/node/models";
import { runGolden } from "../bench/measure";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { cli, kernelZoo, modelsDir, readModel } from "./helpers";

const wasm3 = findWasm3Dir() ? false : MISSING_WASM3_HINT;
const WASM3_VECTORS = 3; // per golden set: the interpreter is slower than V8

// Both modules, each checked to be the one that ran.
const MODULES = [{ simd: true, module: "simd" }, { simd: false, module: "scalar" }] as const;

function loadIn(bytes: Uint8Array, m: (typeof MODULES)[number], options: LoadOptions = {}): Model {
  const model = loadSync(bytes, { ...options, simd: m.simd });
  assert.equal(model.info.module, m.module);
  return model;
}

const EXPECTED_SETS: Record<string, string[]> = {
  kws: ["public", "real"], ic: ["images", "public"], vww: ["images", "public"], ad: ["public", "real"], sww: ["marvin", "public", "real"],
};

// `limit`: only the first vectors of each set.
function assertAllExact(model: Model, dir: string, label: string, limit?: number): void {
  const sets = goldenSets(dir);
  assert.ok(sets.length > 0, `${label}: no golden sets`);
  for (const whole of sets) {
    const set = limit === undefined ? whole : { ...whole, inputs: whole.inputs.subarray(0, limit * model.inputBytes), outputs: whole.outputs.subarray(0, limit * model.outputBytes) };
    const r = runGolden(model, set);
    assert.ok(r.vectors > 0, `${label}/${set.name}: empty set`);
    assert.equal(r.exact, r.vectors, `${label}/${set.name}: ${r.exact}/${r.vectors} byte-exact, first mismatch at vector ${r.firstMismatch}`);
  }
}

// Compares each op's output for input 0 with TFLM's dump of the same tensor
// and names the first layer that differs.
function assertLayersMatch(model: Model, dir: string, label: string): void {
  const debug = join(dir, "debug");
  // The dumps are of public input 0.
  const input = new Int8Array(readFileSync(join(dir, "public", "inputs.bin")).subarray(0, model.inputBytes));
  const trace = model.trace(input);
  let compared = 0;
  model.info.ops.forEach((op, i) => {
    const dump = join(debug, `t${op.tfliteOutput}.bin`);
    if (!existsSync(dump)) return;
    const expected = new Int8Array(readFileSync(dump));
    const actual = trace[i];
    const at = actual.findIndex((v, k) => v !== expected[k]);
    assert.ok(actual.length === expected.length && at < 0, `${label}: first differing layer is op ${i} (${op.op}, tensor ${op.tfliteOutput}) at element ${at}`);
    compared++;
  });
  assert.ok(compared > 0, `${label}: no intermediate tensor was compared`);
}

// The least weights window a model accepts, from the error a 1-byte window
// gets (which must say so). Models without weights accept any window.
function smallestWindow(model: Uint8Array, simd = true): number {
  let message = "";
  try {
    loadSync(model, { streamWeights: true, weightWindow: 1, simd });
    assert.ok(!loadSync(model).info.ops.some((op) => ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"].includes(op.op)), "a model with weights loaded with a 1-byte window");
    return 1;
  } catch (e) {
    assert.equal((e as { code?: string }).code, "OUT_OF_MEMORY", (e as Error).message);
    message = (e as Error).message;
  }
  assert.match(message, /weights window smaller than one channel/);
  const needed = Number(/\((\d+)\)/.exec(message)?.[1]);
  assert.ok(needed > 28, message);
  loadSync(model, { streamWeights: true, weightWindow: needed, simd }); // and it is enough
  assert.throws(() => loadSync(model, { streamWeights: true, weightWindow: needed - 1, simd }), /weights window smaller/);
  return needed;
}

test("weightWindow: a whole number of bytes, and only with streamed weights", () => {
  const model = readModel(join(modelsDir(), "ad"));
  for (const weightWindow of [-1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => loadSync(model, { streamWeights: true, weightWindow }), (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /whole number/.test(e.message), String(weightWindow));
  }
  assert.throws(() => loadSync(model, { weightWindow: 1024 }), (e: Error & { code?: string }) => e.code === "BAD_INPUT" && /only with streamWeights/.test(e.message));
});

for (const task of TASKS) {
  const dir = join(modelsDir(), task);
  test(`${task}: golden sets present`, () => {
    assert.deepEqual(goldenSets(dir).map((s) => s.name), EXPECTED_SETS[task]);
  });
  for (const m of MODULES) {
    const label = `${task} [${m.module}]`;
    test(`${label}: every golden vector byte-exact through the Node API (.tflite)`, () => {
      assertAllExact(loadIn(readModel(dir), m), dir, label);
    });
    test(`${label}: every golden vector byte-exact from the converted .wisp`, () => {
      assertAllExact(loadIn(convertTflite(readModel(dir)).wisp, m), dir, label);
    });
    test(`${label}: every golden vector byte-exact with the weights streamed (model left outside linear memory)`, () => {
      const model = loadIn(readModel(dir), m, { streamWeights: true });
      assertAllExact(model, dir, label);
      assert.ok(model.info.arenaBytes > 0);
    });
    test(`${label}: every golden vector byte-exact with the weights streamed in channel blocks through small windows`, () => {
      const smallest = smallestWindow(readModel(dir), m.simd);
      for (const window of [smallest, smallest + 1000]) assertAllExact(loadIn(readModel(dir), m, { streamWeights: true, weightWindow: window }), dir, `${label} (window ${window})`);
    });
    test(`${label}: every intermediate tensor of input 0 matches TFLM's dump`, () => {
      assertLayersMatch(loadIn(readModel(dir), m), dir, label);
    });
  }
  test(`${task}: the first ${WASM3_VECTORS} vectors of every golden set byte-exact under wasm3, resident and streamed through the smallest window, and every layer of input 0`, { skip: wasm3 }, () => {
    assertAllExact(loadSync(readModel(dir), { engine: "wasm3" }), dir, `${task} (wasm3)`, WASM3_VECTORS);
    const window = smallestWindow(readModel(dir), false);
    assertAllExact(loadSync(readModel(dir), { engine: "wasm3", streamWeights: true, weightWindow: window }), dir, `${task} (wasm3, window ${window})`, WASM3_VECTORS);
    assertLayersMatch(loadSync(readModel(dir), { engine: "wasm3" }), dir, `${task} (wasm3)`);
  });
  test(`${task}: every golden vector byte-exact through the CLI`, () => {
    const tmp = mkdtempSync(join(tmpdir(), "wisp-golden-"));
    for (const set of goldenSets(dir)) {
      const out = join(tmp, `${set.name}.bin`);
      const r = cli(["run", join(dir, "model.tflite"), "--input", join(dir, set.name, "inputs.bin"), "--output", out]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(out).equals(set.outputs), `${task}/${set.name}: CLI output differs from TFLM`);
    }
  });
}

const zoo = kernelZoo();
test("kernel zoo has 31 models", () => {
  assert.equal(zoo.length, 31);
});
for (const { name, dir } of zoo) {
  test(`zoo ${name}: byte-exact (API through both modules, and CLI) and every layer matches`, () => {
    for (const m of MODULES) {
      const label = `${name} [${m.module}]`;
      const model = loadIn(readModel(dir), m);
      assertAllExact(model, dir, label);
      assertLayersMatch(model, dir, label);
      assertAllExact(loadIn(readModel(dir), m, { streamWeights: true, weightWindow: smallestWindow(readModel(dir), m.simd) }), dir, `${label} (smallest window)`);
    }
    const tmp = mkdtempSync(join(tmpdir(), "wisp-zoo-"));
    const r = cli(["run", join(dir, "model.tflite"), "--input", join(dir, "public", "inputs.bin"), "--output", join(tmp, "out.bin")]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(join(tmp, "out.bin")).equals(readFileSync(join(dir, "public", "outputs.bin"))), `${name}: CLI output differs`);
  });
}
test(`kernel zoo under wasm3: the first ${WASM3_VECTORS} vectors of every model byte-exact`, { skip: wasm3 }, () => {
  for (const { name, dir } of zoo) assertAllExact(loadSync(readModel(dir), { engine: "wasm3" }), dir, `${name} (wasm3)`, WASM3_VECTORS);
});
