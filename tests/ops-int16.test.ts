// int16x8 (16-bit activations, 8-bit weights): CONV_2D, DEPTHWISE_CONV_2D,
// FULLY_CONNECTED, pooling (assembly/ops/conv16.ts), SOFTMAX (softmax16.ts),
// ADD/MUL (binary.ts), LOGISTIC/TANH (sigmoid.ts), MEAN/SUM (reduce.ts), the
// shape ops (copy.ts), and the int16 model edges. Refusals that mirror TFLM's
// (checked against TFLM itself when the oracle is present), Wisp's own
// limits, byte-exactness against TFLM's reference kernels on variants the
// shared models lack (int32 bias, grouped and strided convolution, depth
// multiplier, per-tensor dense, padded pooling, power-of-two LOGISTIC/TANH
// scales, broadcasting ADD/MUL, MEAN over one axis), and mutated records.
// Expected outputs come from ../shared/tools/tflm-oracle, run at test
// time; those tests skip when it is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { loadSync, Model } from "../host/node/api";
import { findZoo2Dir } from "../host/node/models";
import type { WispExports } from "../host/node/runtime";
import { haveOracle, prng, random, runOracle, throwsCoded } from "./helpers";
import { buildTflite, ModelSpec, scalar, table, TensorSpec } from "./tflite-writer";
import { opRecords } from "../host/node/wisp-file";

const needsOracle = haveOracle ? {} : { skip: "tflm-oracle is not present" };
const f32 = Math.fround;

// The oracle's models name their options' type, so TFLM reads the options.
const model = (spec: ModelSpec): Uint8Array => buildTflite(spec, { optionsTypes: true });


const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const i16 = (shape: number[], scale: number, zeroPoint = 0): TensorSpec => ({ shape, type: TensorType.INT16, scale: [f32(scale)], zeroPoint: [zeroPoint] });
const bytesOf = (a: ArrayLike<number>, Kind: Int8ArrayConstructor | Int32ArrayConstructor | BigInt64ArrayConstructor) =>
  new Uint8Array(Kind === BigInt64Array ? BigInt64Array.from(Array.from(a, BigInt)).buffer : (Kind as Int8ArrayConstructor).from(a).buffer);

// An int8 filter with per-channel scales along `dimension`.
function filter(shape: number[], dimension: number, seed: number): TensorSpec {
  const channels = shape[dimension];
  return { shape, type: TensorType.INT8, data: bytesOf(random(seed, elements(shape), -127, 127), Int8Array), scale: random(seed + 1, channels, 1, 100).map((s) => f32(s / 10000)), zeroPoint: new Array(channels).fill(0), quantizedDimension: dimension };
}

function bias(channels: number, type: "int32" | "int64", seed: number, scale = 1e-6): TensorSpec {
  const values = random(seed, channels, -20000, 20000);
  return type === "int64"
    ? { shape: [channels], type: TensorType.INT64, data: bytesOf(values, BigInt64Array), scale: new Array(channels).fill(f32(scale)), zeroPoint: new Array(channels).fill(0) }
    : { shape: [channels], type: TensorType.INT32, data: bytesOf(values, Int32Array), scale: new Array(channels).fill(f32(scale)), zeroPoint: new Array(channels).fill(0) };
}


// Four int16 rows: a ramp over the whole range, its reverse, two random.
function rows(values: number, spread = 32767): Int16Array {
  const out = new Int16Array(values * 4);
  const r = random(777, values * 2, -spread, spread);
  for (let i = 0; i < values; i++) {
    const ramp = Math.round(-spread + (2 * spread * i) / Math.max(1, values - 1));
    out[i] = ramp;
    out[values + i] = -ramp;
    out[2 * values + i] = r[i];
    out[3 * values + i] = r[values + i];
  }
  return out;
}

// Byte-exact against the oracle on every row, through Int16Array and raw bytes.
function assertMatchesTflm(tflite: Uint8Array, label: string, spread?: number): void {
  const m = loadSync(tflite);
  assert.equal(m.info.input.type, "int16");
  const inputs = rows(m.inputBytes / 2, spread);
  const raw = new Uint8Array(inputs.buffer);
  const expected = runOracle(tflite, raw);
  assert.ok(expected, `${label}: TFLM refused the model`);
  for (let r = 0; r < 4; r++) {
    const y = m.invoke(inputs.subarray(r * m.inputBytes / 2, (r + 1) * m.inputBytes / 2));
    const want: Uint8Array = expected!.subarray(r * m.outputBytes, (r + 1) * m.outputBytes);
    assert.ok(m.info.output.type === "int16" ? y instanceof Int16Array : y instanceof Int8Array);
    assert.deepEqual(Array.from(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)), Array.from(want), `${label}, row ${r}`);
    const bytes = m.invoke(new Int8Array(raw.buffer, r * m.inputBytes, m.inputBytes));
    assert.deepEqual(Array.from(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)), Array.from(want), `${label}, row ${r} (raw bytes)`);
  }
}

function assertRejects(tflite: Uint8Array, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(tflite), code, pattern);
}

// CONV_2D: padding, stride, activation, dilation (Conv2DOptions 0..5).
function conv(inShape: number[], fShape: number[], outShape: number[], o: { pad?: number; stride?: number; act?: number; dil?: number; biasType?: "int32" | "int64" | "none"; inScale?: number; outScale?: number } = {}): Uint8Array {
  const tensors = [i16(inShape, o.inScale ?? 1 / 4096), filter(fShape, 0, 11), i16(outShape, o.outScale ?? 1 / 2048)];
  const inputs = [0, 1];
  if (o.biasType !== "none") { tensors.push(bias(fShape[0], o.biasType ?? "int64", 5)); inputs.push(3); }
  const s = o.stride ?? 1, d = o.dil ?? 1;
  return model({
    tensors,
    ops: [{ builtin: Builtin.CONV_2D, version: 3, inputs, outputs: [2], options: table(scalar("i8", o.pad ?? 0), scalar("i32", s), scalar("i32", s), scalar("i8", o.act ?? 0), scalar("i32", d), scalar("i32", d)) }],
    inputs: [0],
    outputs: [2],
  });
}

test("int16 CONV_2D: int32 and int64 bias, no bias, strides, dilation, RELU / RELU6, groups match TFLM", needsOracle, () => {
  assertMatchesTflm(conv([1, 7, 7, 3], [4, 3, 3, 3], [1, 4, 4, 4], { stride: 2, act: 3, biasType: "int32" }), "3x3 stride 2 SAME RELU6 int32 bias");
  assertMatchesTflm(conv([1, 7, 7, 3], [4, 3, 3, 3], [1, 4, 4, 4], { stride: 2, act: 1 }), "3x3 stride 2 SAME RELU int64 bias");
  assertMatchesTflm(conv([1, 9, 8, 2], [5, 3, 2, 2], [1, 5, 6, 5], { pad: 1, dil: 2, biasType: "none" }), "3x2 dilation 2 VALID no bias");
  assertMatchesTflm(conv([1, 5, 5, 4], [6, 3, 3, 2], [1, 5, 5, 6], { biasType: "int64", outScale: 1 / 512 }), "two groups");
  assertMatchesTflm(conv([1, 4, 4, 8], [3, 1, 1, 8], [1, 4, 4, 3], { biasType: "int32", outScale: 1 / 65536 }), "1x1 int32 bias, saturating");
});

test("int16 DEPTHWISE_CONV_2D with a depth multiplier, VALID and dilation matches TFLM", needsOracle, () => {
  for (const [pad, dil, act] of [[0, 1, 0], [1, 2, 1]]) {
    const tflite = model({
      tensors: [i16([1, 8, 8, 3], 1 / 4096), filter([1, 3, 3, 6], 3, 21), i16(pad === 0 ? [1, 8, 8, 6] : [1, 4, 4, 6], 1 / 2048), bias(6, "int64", 9)],
      ops: [{ builtin: Builtin.DEPTHWISE_CONV_2D, version: 3, inputs: [0, 1, 3], outputs: [2], options: table(scalar("i8", pad), scalar("i32", 1), scalar("i32", 1), scalar("i32", 2), scalar("i8", act), scalar("i32", dil), scalar("i32", dil)) }],
      inputs: [0],
      outputs: [2],
    });
    assertMatchesTflm(tflite, `depthwise pad ${pad} dilation ${dil}`);
  }
});

test("int16 FULLY_CONNECTED per-tensor and per-channel, int32 and int64 bias, several rows matches TFLM", needsOracle, () => {
  for (const [perChannel, biasType] of [[false, "int64"], [true, "int32"], [false, "int32"]] as [boolean, "int32" | "int64"][]) {
    const w = filter([5, 12], 0, 31);
    if (!perChannel) { w.scale = [f32(0.004)]; w.zeroPoint = [0]; }
    const inScale = f32(1 / 8192);
    const tflite = model({
      tensors: [i16([3, 12], inScale), w, i16([3, 5], 1 / 1024), bias(5, biasType, 3, f32(inScale * (w.scale![0])))],
      ops: [{ builtin: Builtin.FULLY_CONNECTED, version: 4, inputs: [0, 1, 3], outputs: [2], options: table(scalar("i8", 0)) }],
      inputs: [0],
      outputs: [2],
    });
    assertMatchesTflm(tflite, `dense per-channel ${perChannel} ${biasType} bias`);
  }
});

test("int16 AVERAGE_POOL_2D (edge windows) and MAX_POOL_2D with RELU6 match TFLM", needsOracle, () => {
  for (const builtin of [Builtin.AVERAGE_POOL_2D, Builtin.MAX_POOL_2D]) {
    const tflite = model({
      tensors: [i16([1, 7, 6, 3], 1 / 4096), i16([1, 4, 3, 3], 1 / 4096)],
      ops: [{ builtin, version: 2, inputs: [0], outputs: [1], options: table(scalar("i8", 0), scalar("i32", 2), scalar("i32", 2), scalar("i32", 3), scalar("i32", 3), scalar("i8", builtin === Builtin.MAX_POOL_2D ? 3 : 0)) }],
      inputs: [0],
      outputs: [1],
    });
    assertMatchesTflm(tflite, `pool ${builtin}`);
  }
});

test("int16 SOFTMAX at several input scales and betas matches TFLM", needsOracle, () => {
  for (const [scale, beta] of [[1 / 4096, 1], [1 / 256, 0.5], [1 / 32768, 2]]) {
    const tflite = model({
      tensors: [i16([3, 20], scale), i16([3, 20], 1 / 32768)],
      ops: [{ builtin: Builtin.SOFTMAX, version: 2, inputs: [0], outputs: [1], options: table(scalar("f32", beta)) }],
      inputs: [0],
      outputs: [1],
    });
    assertMatchesTflm(tflite, `SOFTMAX scale ${scale} beta ${beta}`);
  }
});

test("int16 LOGISTIC and TANH with power-of-two and general input scales match TFLM", needsOracle, () => {
  for (const builtin of [Builtin.LOGISTIC, Builtin.TANH]) {
    for (const scale of [1 / 4096, 1 / 2048, 1 / 16384, 0.0003, 0.01]) {
      const tflite = model({ tensors: [i16([1, 300], scale), i16([1, 300], 1 / 32768)], ops: [{ builtin, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] });
      assertMatchesTflm(tflite, `${builtin === Builtin.TANH ? "TANH" : "LOGISTIC"} scale ${scale}`);
    }
  }
});

test("int16 ADD and MUL with broadcasting and RELU match TFLM", needsOracle, () => {
  for (const builtin of [Builtin.ADD, Builtin.MUL]) {
    // The second operand comes from the first through a MAX_POOL (no int16 constants).
    const tflite = model({
      tensors: [i16([1, 4, 4, 3], 1 / 4096), i16([1, 1, 1, 3], 1 / 4096), i16([1, 4, 4, 3], builtin === Builtin.ADD ? 1 / 3000 : 1 / 1000)],
      ops: [
        { builtin: Builtin.MAX_POOL_2D, version: 2, inputs: [0], outputs: [1], options: table(scalar("i8", 1), scalar("i32", 4), scalar("i32", 4), scalar("i32", 4), scalar("i32", 4), scalar("i8", 0)) },
        { builtin, version: builtin === Builtin.ADD ? 2 : 3, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 1)) },
      ],
      inputs: [0],
      outputs: [2],
    });
    assertMatchesTflm(tflite, builtin === Builtin.ADD ? "ADD" : "MUL");
  }
});

test("int16 MEAN over one axis and SUM match TFLM", needsOracle, () => {
  for (const [builtin, axes, outShape, outScale] of [[Builtin.MEAN, [2], [3, 4], 1 / 5000], [Builtin.SUM, [1, 2], [3], 1 / 300], [Builtin.MEAN, [0, -1], [4], 1 / 4000]] as [number, number[], number[], number][]) {
    const tflite = model({
      tensors: [i16([3, 4, 5], 1 / 4096), { shape: [axes.length], type: TensorType.INT32, data: bytesOf(axes, Int32Array) }, i16(outShape, outScale)],
      ops: [{ builtin, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("u8", 0)) }],
      inputs: [0],
      outputs: [2],
    });
    assertMatchesTflm(tflite, `reduce ${builtin} over ${axes}`);
  }
});

test("QUANTIZE int16 -> int8, int8 -> int16 and int16 -> int16 matches TFLM", needsOracle, () => {
  const i8 = (shape: number[], scale: number, zeroPoint: number): TensorSpec => ({ shape, type: TensorType.INT8, scale: [f32(scale)], zeroPoint: [zeroPoint] });
  const q = (a: TensorSpec, b: TensorSpec) => model({ tensors: [a, b], ops: [{ builtin: Builtin.QUANTIZE, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] });
  assertMatchesTflm(q(i16([1, 256], 1 / 4096), i8([1, 256], 0.02, -5)), "int16 -> int8");
  assertMatchesTflm(q(i16([1, 256], 1 / 4096), i16([1, 256], 1 / 30000)), "int16 -> int16");
  // int8 in: every byte value, through raw bytes.
  const tflite = q(i8([1, 256], 0.05, 3), i16([1, 256], 1 / 2000));
  const m = loadSync(tflite);
  assert.equal(m.info.output.type, "int16");
  const x = Int8Array.from({ length: 256 }, (_, i) => i - 128);
  const expected = runOracle(tflite, new Uint8Array(x.buffer));
  assert.ok(expected, "TFLM refused int8 -> int16");
  assert.deepEqual(Array.from(new Uint8Array(m.invoke(x).buffer)), Array.from(expected));
});

// Refusals TFLM makes too; with the oracle, TFLM's own refusal is checked.
const tflmRefusals: [string, () => Uint8Array, string, RegExp][] = [
  ["int16 input with int8 output", () => model({ tensors: [i16([1, 4, 4, 2], 1 / 4096), filter([2, 1, 1, 2], 0, 1), { shape: [1, 4, 4, 2], type: TensorType.INT8, scale: [0.1], zeroPoint: [0] }], ops: [{ builtin: Builtin.CONV_2D, version: 3, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0), scalar("i32", 1), scalar("i32", 1)) }], inputs: [0], outputs: [2] }), "UNSUPPORTED_TYPE", /CONV_2D\): input tensor .* is INT16; Wisp runs int8/],
  ["int16 CONV_2D with int16 weights (hybrid)", () => model({ tensors: [i16([1, 4, 4, 2], 1 / 4096), { ...i16([2, 1, 1, 2], 0.01), data: new Uint8Array(8) }, i16([1, 4, 4, 2], 1 / 4096)], ops: [{ builtin: Builtin.CONV_2D, version: 3, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0), scalar("i32", 1), scalar("i32", 1)) }], inputs: [0], outputs: [2] }), "UNSUPPORTED_TYPE", /int8 weights/],
  ["int16 LOGISTIC with an output scale other than 2^-15", () => model({ tensors: [i16([1, 8], 1 / 4096), i16([1, 8], 0.001)], ops: [{ builtin: Builtin.LOGISTIC, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /LOGISTIC.*2\^-15/],
  ["int16 TANH with an output zero point", () => model({ tensors: [i16([1, 8], 1 / 4096), i16([1, 8], 1 / 32768, 3)], ops: [{ builtin: Builtin.TANH, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /TANH.*zero point 3/],
  ["int16 SOFTMAX with an output scale other than 1/32768", () => model({ tensors: [i16([1, 8], 1 / 4096), i16([1, 8], 1 / 256)], ops: [{ builtin: Builtin.SOFTMAX, version: 2, inputs: [0], outputs: [1], options: table(scalar("f32", 1)) }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /SOFTMAX.*1\/32768/],
  ["int16 AVERAGE_POOL_2D rescaling", () => model({ tensors: [i16([1, 4, 4, 2], 1 / 4096), i16([1, 2, 2, 2], 1 / 2048)], ops: [{ builtin: Builtin.AVERAGE_POOL_2D, version: 2, inputs: [0], outputs: [1], options: table(scalar("i8", 1), scalar("i32", 2), scalar("i32", 2), scalar("i32", 2), scalar("i32", 2), scalar("i8", 0)) }], inputs: [0], outputs: [1] }), "BAD_MODEL", /AVERAGE_POOL_2D.*scales differ/],
  ["int16 MUL with a zero point", () => model({ tensors: [i16([1, 8], 1 / 4096, 2), i16([1, 8], 1 / 4096), i16([1, 8], 1 / 4096)], ops: [{ builtin: Builtin.MUL, version: 3, inputs: [0, 0], outputs: [2], options: table(scalar("i8", 0)) }], inputs: [0], outputs: [2] }), "UNSUPPORTED_TYPE", /MUL.*zero point 2/],
];

for (const [name, build, code, pattern] of tflmRefusals) {
  test(`refused like TFLM: ${name}`, () => {
    const tflite = build();
    assertRejects(tflite, code, pattern);
    // 64 bytes: one input of each model above (8 or 32 int16 values), or four.
    if (haveOracle) assert.equal(runOracle(tflite, new Uint8Array(64)), null, "TFLM accepted the model");
  });
}

test("Wisp's own int16 limits: SUB, REDUCE_MAX, constant operands, int32 depthwise bias, float to int16 QUANTIZE", () => {
  const two = (builtin: number, b: TensorSpec) => model({ tensors: [i16([1, 8], 1 / 4096), b, i16([1, 8], 1 / 4096)], ops: [{ builtin, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0)) }], inputs: [0], outputs: [2] });
  assertRejects(two(Builtin.SUB, i16([1, 8], 1 / 4096)), "UNSUPPORTED_TYPE", /int16 SUB is not supported/);
  assertRejects(two(Builtin.ADD, { ...i16([1, 8], 1 / 4096), data: new Uint8Array(16) }), "UNSUPPORTED_TYPE", /INT16 and second input a constant/);
  assertRejects(model({ tensors: [i16([2, 8], 1 / 4096), { shape: [1], type: TensorType.INT32, data: bytesOf([1], Int32Array) }, i16([2], 1 / 4096)], ops: [{ builtin: Builtin.REDUCE_MAX, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("u8", 0)) }], inputs: [0], outputs: [2] }), "UNSUPPORTED_TYPE", /int16 REDUCE_MAX/);
  assertRejects(model({
    tensors: [i16([1, 4, 4, 2], 1 / 4096), filter([1, 3, 3, 2], 3, 2), i16([1, 4, 4, 2], 1 / 4096), bias(2, "int32", 1)],
    ops: [{ builtin: Builtin.DEPTHWISE_CONV_2D, version: 3, inputs: [0, 1, 3], outputs: [2], options: table(scalar("i8", 0), scalar("i32", 1), scalar("i32", 1), scalar("i32", 1)) }],
    inputs: [0],
    outputs: [2],
  }), "UNSUPPORTED_TYPE", /DEPTHWISE_CONV_2D.*int64 bias/);
  // A float32 model input quantized to int16: the host quantizes only to int8.
  assertRejects(model({ tensors: [{ shape: [1, 8], type: TensorType.FLOAT32 }, i16([1, 8], 1 / 4096)], ops: [{ builtin: Builtin.QUANTIZE, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /QUANTIZE\): input tensor .* is FLOAT32/);
  assertRejects(model({ tensors: [i16([1, 4, 4, 2], 1 / 4096), i16([1, 8, 2], 1 / 4096)], ops: [{ builtin: Builtin.DEPTH_TO_SPACE, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /int16 DEPTH_TO_SPACE/);
});

test("the API: an int16 model takes an Int16Array or raw bytes, and says its types", () => {
  const m = loadSync(conv([1, 4, 4, 2], [3, 3, 3, 2], [1, 4, 4, 3]));
  assert.equal(m.info.input.type, "int16");
  assert.equal(m.info.output.type, "int16");
  assert.equal(m.inputBytes, 64);
  const x = Int16Array.from(random(3, 32, -30000, 30000));
  const y = m.invoke(x);
  assert.ok(y instanceof Int16Array && y.length === 48);
  const raw = m.invoke(new Int8Array(x.buffer));
  assert.ok(raw instanceof Int8Array && raw.length === 96);
  assert.deepEqual(Array.from(new Uint8Array(y.buffer)), Array.from(new Uint8Array(raw.buffer)));
  assert.throws(() => m.invoke(new Int16Array(31)), /64/);
  // An int8 model takes no Int16Array.
  const int8 = loadSync(model({
    tensors: [{ shape: [1, 2, 4, 1], type: TensorType.INT8, scale: [0.1], zeroPoint: [0] }, { shape: [1, 2, 4, 1], type: TensorType.INT8, scale: [0.1], zeroPoint: [0] }],
    ops: [{ builtin: Builtin.MAX_POOL_2D, version: 1, inputs: [0], outputs: [1], options: table(scalar("i8", 1), scalar("i32", 1), scalar("i32", 1), scalar("i32", 1), scalar("i32", 1), scalar("i8", 0)) }],
    inputs: [0],
    outputs: [1],
  }));
  assert.equal(int8.info.input.type, "int8");
  assert.throws(() => int8.invoke(new Int16Array(4)), /Int8Array/);
});

// --- mutated records (as tests/fuzz-ops.test.ts, for the int16 ones) ---

const CASES = 600;
const EXTREMES = [0, 1, -1, 0x7fffffff, -0x80000000, 0x10000, 0xffff, 255, 256, 1 << 28, 32767, -32768];
const INT16_MODELS = ["conv_int16x8", "dwconv_int16x8", "dense_int16x8", "avgpool_maxpool_int16x8", "softmax_int16x8", "logistic_tanh_int16x8", "mean_reshape_int16x8", "add_int16x8", "real_seanet_leaky_relu0"];

function wasmOf(m: Model): WispExports {
  return (m as unknown as { wasm: WispExports }).wasm;
}

test(`${CASES} mutated int16 records end in a coded error or a run confined to the arena`, { skip: findZoo2Dir() ? false : "zoo2 not found" }, () => {
  const zoo = findZoo2Dir()!;
  const seeds = INT16_MODELS.filter((n) => existsSync(join(zoo, n, "model.tflite"))).map((n) => {
    const wisp = convertTflite(new Uint8Array(readFileSync(join(zoo, n, "model.tflite")))).wisp;
    const records = opRecords(wisp).filter((r) => r.opcode >= F.FIRST_REGISTERED_OPCODE).map((r): [number, number] => [r.at, r.at + 4 * r.words]);
    return { wisp, records };
  });
  assert.ok(seeds.length >= 5, `only ${seeds.length} int16 seed models`);
  const rnd = prng(20261203);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    const { wisp, records } = seeds[i % seeds.length];
    const bytes = wisp.slice();
    const v = new DataView(bytes.buffer);
    const [from, to] = records[rnd(records.length)];
    for (let k = 1 + rnd(3); k > 0; k--) {
      const at = from + 4 * (1 + rnd((to - from) / 4 - 1));
      v.setInt32(at, rnd(3) === 0 ? EXTREMES[rnd(EXTREMES.length)] : v.getInt32(at, true) + rnd(9) - 4, true);
    }
    v.setUint32(12, crc32(bytes.subarray(F.HEADER_BYTES)), true);
    let outcome = "ran";
    try {
      const m = loadSync(bytes, { streamWeights: i % 3 === 0 });
      const w = wasmOf(m);
      const before = new Uint8Array(w.memory.buffer).slice();
      w.wisp_invoke();
      const after = new Uint8Array(w.memory.buffer);
      const lo = w.wisp_arena_ptr(), hi = w.wisp_memory_used();
      for (let b = 0; b < after.length; b++) if ((b < lo || b >= hi) && after[b] !== before[b]) assert.fail(`invoke wrote byte ${b} outside [${lo}, ${hi})`);
    } catch (e) {
      if (!(e instanceof WispError)) throw e;
      outcome = e.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  assert.ok((outcomes.get("ran") ?? 0) > CASES / 20, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("BAD_WISP") ?? 0) > CASES / 4, JSON.stringify([...outcomes]));
});
