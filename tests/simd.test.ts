// The SIMD host module (build/wisp-simd.wasm): which module load() runs, that
// both modules have one ABI, and that both give the same bytes as TFLM on
// random int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD models whose
// shapes and scales reach the SIMD kernels' edges (channels not a multiple of
// 4 or 16, runs not a multiple of 8, borders, dilation, depth multipliers,
// left and right requantization shifts). The golden and zoo suites run every
// model through both modules too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { chooseModule, engineHasSimd, wasmPath } from "../host/node/runtime";
import { haveOracle, prng, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int8Bytes, int32Bytes, scalar, table, TensorSpec } from "./tflite-writer";

const f32 = Math.fround;

test("load() runs the SIMD module where the engine has SIMD128, the scalar one with simd: false", () => {
  assert.ok(engineHasSimd(), "Node 20 has wasm SIMD128");
  const tflite = randomModel(1);
  assert.equal(loadSync(tflite).info.module, "simd");
  assert.equal(loadSync(tflite, { simd: true }).info.module, "simd");
  assert.equal(loadSync(tflite, { simd: false }).info.module, "scalar");
  assert.equal(loadSync(tflite, { module: new Uint8Array(readFileSync(wasmPath("scalar"))) }).info.module, "given");
  throwsCoded(() => loadSync(tflite, { simd: "yes" as unknown as boolean }), "BAD_INPUT", /simd must be true or false/);
  // An engine without SIMD gets the scalar module whatever is asked.
  assert.equal(chooseModule(undefined, false), "scalar");
  assert.equal(chooseModule(true, false), "scalar");
  assert.equal(chooseModule(undefined, true), "simd");
  assert.equal(chooseModule(false, true), "scalar");
});

test("both modules have the same exports and imports", () => {
  const scalar = new WebAssembly.Module(readFileSync(wasmPath("scalar")));
  const simd = new WebAssembly.Module(readFileSync(wasmPath("simd")));
  assert.deepEqual(WebAssembly.Module.exports(simd), WebAssembly.Module.exports(scalar));
  assert.deepEqual(WebAssembly.Module.imports(simd), WebAssembly.Module.imports(scalar));
});

// A random one-op int8 model (seeded): the op, its shapes and its scales.
// `force` fixes some of it (the large layers below).
interface Forced { kind: string; inC: number; outC: number; k: number; inH: number; inW: number }
function randomModel(seed: number, force: Partial<Forced> = {}): Uint8Array {
  const r = prng(seed * 7919 + 13);
  const pick = <T>(xs: T[]): T => xs[r(xs.length)];
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * (r(1 << 20) / (1 << 20));
  const bytes = (n: number, lo = -127, hi = 127) => int8Bytes(Array.from({ length: n }, () => lo + r(hi - lo + 1)));
  // conv3x3: the SIMD build's Winograd path (3x3, stride 1, input channels a
  // multiple of 8), with weights over the whole int8 range.
  const kind = force.kind ?? pick(["conv", "conv", "conv3x3", "conv3x3", "conv1x1", "depthwise", "depthwise", "dense", "add"]);
  const inScale = uniform(0.005, 0.1), inZp = r(256) - 128;
  // Output scales small enough for left shifts sometimes, large for long right shifts.
  const outScale = pick([uniform(0.0005, 0.005), uniform(0.01, 0.2), uniform(1, 8)]), outZp = r(256) - 128;
  const act = pick([0, 0, 1, 3]);
  const q8 = (shape: number[], scale: number, zeroPoint: number, data?: Uint8Array): TensorSpec => ({ shape, type: TensorType.INT8, scale: [f32(scale)], zeroPoint: [zeroPoint], data });
  const perChannel = (shape: number[], dim: number): TensorSpec => {
    const scales = Array.from({ length: shape[dim] }, () => f32(uniform(0.001, 0.05)));
    return { shape, type: TensorType.INT8, scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: dim, data: bytes(shape.reduce((a, b) => a * b, 1)) };
  };
  const biasFor = (w: TensorSpec): TensorSpec => {
    const scales = w.scale!.map((s) => f32(s * inScale));
    return { shape: [scales.length], type: TensorType.INT32, scale: scales, zeroPoint: scales.map(() => 0), data: int32Bytes(scales.map(() => r(20001) - 10000)) };
  };
  const model = (tensors: TensorSpec[], builtin: number, inputs: number[], options: ReturnType<typeof table>, version = 1) =>
    buildTflite({ tensors, ops: [{ builtin, version, inputs, outputs: [tensors.length - 1], options }], inputs: [0], outputs: [tensors.length - 1] }, { optionsTypes: true });
  const outSize = (n: number, k: number, s: number, d: number, same: boolean) => (same ? Math.ceil(n / s) : Math.floor((n - (k - 1) * d - 1) / s) + 1);
  if (kind === "add") {
    const shape = [1, 1 + r(6), 1 + r(6), 1 + r(40)];
    return model([q8(shape, inScale, inZp), q8(shape, uniform(0.005, 0.1), r(256) - 128, bytes(shape.reduce((a, b) => a * b, 1), -128)), q8(shape, outScale / 4, outZp)], Builtin.ADD, [0, 1], table(scalar("i8", act)));
  }
  if (kind === "dense") {
    const depth = 1 + r(100), outC = 1 + r(40);
    const w: TensorSpec = { shape: [outC, depth], type: TensorType.INT8, scale: [f32(uniform(0.001, 0.05))], zeroPoint: [0], data: bytes(outC * depth) };
    const b: TensorSpec = { shape: [outC], type: TensorType.INT32, scale: [f32(w.scale![0] * inScale)], zeroPoint: [0], data: int32Bytes(Array.from({ length: outC }, () => r(20001) - 10000)) };
    return model([q8([1, depth], inScale, inZp), w, b, q8([1, outC], outScale, outZp)], Builtin.FULLY_CONNECTED, [0, 1, 2], table(scalar("i8", act)));
  }
  const winograd = kind === "conv3x3";
  const inC = force.inC ?? (kind === "depthwise" ? 1 + r(40) : winograd ? 8 * (1 + r(8)) : 1 + r(36));
  const [kH, kW] = kind === "conv1x1" ? [1, 1] : winograd ? [3, 3] : force.k ? [force.k, force.k] : [1 + r(4), 1 + r(4)];
  const stride = kind === "conv1x1" || winograd ? 1 : 1 + r(2), dil = kind === "conv1x1" || winograd || r(3) > 0 ? 1 : 2;
  const same = r(2) === 0;
  const inH = force.inH ?? (kH - 1) * dil + 1 + r(winograd ? 12 : 6), inW = force.inW ?? (kW - 1) * dil + 1 + r(winograd ? 12 : 6);
  const outH = outSize(inH, kH, stride, dil, same), outW = outSize(inW, kW, stride, dil, same);
  const padding = scalar("i8", same ? 0 : 1);
  if (kind === "depthwise") {
    const multiplier = pick([1, 1, 1, 2]);
    const outC = inC * multiplier;
    const w = perChannel([1, kH, kW, outC], 3);
    return model([q8([1, inH, inW, inC], inScale, inZp), w, biasFor(w), q8([1, outH, outW, outC], outScale, outZp)], Builtin.DEPTHWISE_CONV_2D, [0, 1, 2],
      table(padding, scalar("i32", stride), scalar("i32", stride), scalar("i32", multiplier), scalar("i8", act), scalar("i32", dil), scalar("i32", dil)), 2);
  }
  const outC = force.outC ?? (winograd && r(4) > 0 ? 4 * (1 + r(10)) : 1 + r(40));
  const w = perChannel([outC, kH, kW, inC], 0);
  if (winograd) w.data = bytes(w.data!.length, -128);
  return model([q8([1, inH, inW, inC], inScale, inZp), w, biasFor(w), q8([1, outH, outW, outC], outScale, outZp)], Builtin.CONV_2D, [0, 1, 2],
    table(padding, scalar("i32", stride), scalar("i32", stride), scalar("i8", act), scalar("i32", dil), scalar("i32", dil)), 3);
}

// Layers large enough that the SIMD products go in several chunks of rows
// (and of single-row items, for 1x1 convs, which run as dense layers).
const LARGE: Partial<Forced>[] = [
  { kind: "conv1x1", inC: 512, outC: 512, inH: 3, inW: 5 },
  { kind: "conv1x1", inC: 200, outC: 300, inH: 1, inW: 9 },
  { kind: "conv3x3", inC: 64, outC: 64, inH: 9, inW: 9 },
  { kind: "conv3x3", inC: 32, outC: 36, inH: 17, inW: 2 },
  { kind: "conv", inC: 48, outC: 64, k: 3, inH: 15, inW: 15 },
];

test(`${LARGE.length} large layers through the SIMD products in chunks give the scalar module's bytes${haveOracle ? ", and TFLM's" : ""}`, () => {
  LARGE.forEach((force, i) => {
    const tflite = randomModel(900 + i, force);
    const simd = loadSync(tflite, { simd: true }), scalar = loadSync(tflite, { simd: false });
    const r = prng(i + 5000);
    const inputs = Array.from({ length: 2 }, () => Int8Array.from({ length: simd.inputBytes }, () => r(256) - 128));
    const label = `large ${i} (${JSON.stringify(simd.info.ops[0].inputShapes)} -> ${JSON.stringify(simd.info.ops[0].outputShape)})`;
    const outputs = inputs.map((x) => {
      const a = simd.invoke(x);
      assert.deepEqual(a, scalar.invoke(x), `${label}: SIMD and scalar differ`);
      return a;
    });
    if (!haveOracle) return;
    const expected = runOracle(tflite, Buffer.concat(inputs.map((x) => Buffer.from(x.buffer))));
    assert.ok(expected && Buffer.from(expected).equals(Buffer.concat(outputs.map((y) => Buffer.from(y.buffer)))), `${label}: differs from TFLM`);
  });
});

const CASES = 300;

// The interpreter build (wasm3's loop shapes) runs here in V8: same bytes.
test(`${CASES} random int8 conv / depthwise / dense / add models: SIMD, scalar and the interpreter build give the same bytes${haveOracle ? ", and TFLM's" : ""}`, () => {
  let compared = 0;
  const interpreterBuild = new Uint8Array(readFileSync(wasmPath("wasm3")));
  for (let i = 0; i < CASES; i++) {
    const tflite = randomModel(i + 2);
    const simd = loadSync(tflite, { simd: true }), scalar = loadSync(tflite, { simd: false });
    const interpreted = loadSync(tflite, { module: interpreterBuild });
    const r = prng(i + 1000);
    const inputs = Array.from({ length: 3 }, () => Int8Array.from({ length: simd.inputBytes }, () => r(256) - 128));
    const label = `case ${i} (${simd.info.ops.map((o) => o.op).join(", ")} ${JSON.stringify(simd.info.ops[0].inputShapes)} -> ${JSON.stringify(simd.info.ops[0].outputShape)})`;
    const outputs = inputs.map((x) => {
      const a = simd.invoke(x), b = scalar.invoke(x);
      assert.deepEqual(a, b, `${label}: SIMD and scalar differ`);
      assert.deepEqual(interpreted.invoke(x), b, `${label}: the interpreter build and scalar differ`);
      return a;
    });
    if (!haveOracle) continue;
    const expected = runOracle(tflite, Buffer.concat(inputs.map((x) => Buffer.from(x.buffer))));
    assert.ok(expected, `${label}: TFLM refused the model`);
    assert.ok(Buffer.from(expected).equals(Buffer.concat(outputs.map((y) => Buffer.from(y.buffer)))), `${label}: differs from TFLM`);
    compared++;
  }
  if (haveOracle) assert.equal(compared, CASES);
});
