// Models built in the test: float32 edges (QUANTIZE in, DEQUANTIZE out) that
// the host handles, an int8 -> int8 QUANTIZE, and graphs the converter must
// refuse. Expected values come from a plain transliteration of TFLM's
// reference arithmetic, independent of the AssemblyScript kernels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertTflite } from "../host/convert";
import { perTensorDenseMultiplier, quantizeMultiplier } from "../host/quant";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { buildTflite, int32Bytes, int8Bytes, scalar, table, ModelSpec } from "./tflite-writer";
import { throwsCoded } from "./helpers";

// gemmlowp / TFLM, in BigInt and int32 JavaScript.
function highMul(a: number, b: number): number {
  if (a === b && a === -2147483648) return 2147483647;
  const ab = BigInt(a) * BigInt(b);
  return Number((ab + (ab >= 0n ? 1n << 30n : 1n - (1n << 30n))) / (1n << 31n));
}
function roundingShift(x: number, e: number): number {
  const mask = 2 ** e - 1;
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}
function multiplyByQuantizedMultiplier(x: number, m: number, shift: number): number {
  return roundingShift(highMul(x << Math.max(shift, 0), m), Math.max(-shift, 0));
}
const clamp8 = (v: number) => Math.min(127, Math.max(-128, v));
const f32 = Math.fround;

function assertRejects(spec: ModelSpec, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(buildTflite(spec)), code, pattern);
}

const fcOptions = table(scalar("i8", 0));

test("float32 edges: QUANTIZE in and DEQUANTIZE out run on the host, the rest in the module", () => {
  const inScale = f32(0.05), inZp = 3, wScale = f32(0.02), outScale = f32(0.1), outZp = -5;
  const weights = [12, -7, 100, -128, 5, 66, -90, 127];
  const bias = [300, -1200];
  const model = loadSync(buildTflite({
    tensors: [
      { shape: [1, 4], type: TensorType.FLOAT32 },
      { shape: [1, 4], type: TensorType.INT8, scale: [inScale], zeroPoint: [inZp] },
      { shape: [2, 4], type: TensorType.INT8, scale: [wScale], data: int8Bytes(weights) },
      { shape: [2], type: TensorType.INT32, scale: [f32(inScale * wScale)], data: int32Bytes(bias) },
      { shape: [1, 2], type: TensorType.INT8, scale: [outScale], zeroPoint: [outZp] },
      { shape: [1, 2], type: TensorType.FLOAT32 },
    ],
    ops: [
      { builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] },
      { builtin: Builtin.FULLY_CONNECTED, version: 4, inputs: [1, 2, 3], outputs: [4], options: fcOptions },
      { builtin: Builtin.DEQUANTIZE, inputs: [4], outputs: [5] },
    ],
    inputs: [0],
    outputs: [5],
  }));
  assert.equal(model.info.input.float, true);
  assert.equal(model.info.output.float, true);
  assert.deepEqual(model.info.ops.map((o) => o.op), ["FULLY_CONNECTED"]);

  const x = Float32Array.from([0.4, -1.3, 2.0251, -7.0]);
  const q = Array.from(x, (v) => clamp8(Math.sign(f32(v / inScale)) * Math.round(Math.abs(f32(v / inScale))) + inZp));
  const { multiplier, shift } = perTensorDenseMultiplier(inScale, wScale, outScale);
  const expected = [0, 1].map((c) => {
    let acc = bias[c];
    for (let i = 0; i < 4; i++) acc += weights[c * 4 + i] * (q[i] - inZp);
    const out = clamp8(multiplyByQuantizedMultiplier(acc, multiplier, shift) + outZp);
    return f32(outScale * (out - outZp));
  });
  assert.deepEqual(Array.from(model.invokeFloat(x)), expected);
});

test("float edges quantize like TFLM: round half away from zero, then clamp", () => {
  const scale = f32(0.05), zp = 3;
  const model = loadSync(buildTflite({
    tensors: [
      { shape: [1, 6], type: TensorType.FLOAT32 },
      { shape: [1, 6], type: TensorType.INT8, scale: [scale], zeroPoint: [zp] },
      { shape: [1, 6], type: TensorType.INT8, scale: [scale], zeroPoint: [zp] },
      { shape: [1, 6], type: TensorType.FLOAT32 },
    ],
    ops: [
      { builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] },
      { builtin: Builtin.QUANTIZE, inputs: [1], outputs: [2] },
      { builtin: Builtin.DEQUANTIZE, inputs: [2], outputs: [3] },
    ],
    inputs: [0],
    outputs: [3],
  }));
  // 0.5 and -1.5 quanta round away from zero; 2.49 rounds down; 7.0 and -9.0 clamp.
  const x = Float32Array.from([0.5 * scale, -1.5 * scale, 2.49 * scale, 0, 7.0, -9.0]);
  const quanta = [1, -2, 2, 0, 127 - zp, -128 - zp];
  assert.deepEqual(Array.from(model.invokeFloat(x)), quanta.map((k) => f32(scale * k)));
});

test("an int8 -> int8 QUANTIZE requantizes like TFLM's Requantize", () => {
  const inScale = f32(0.1), inZp = 2, outScale = f32(0.07), outZp = -9;
  const model = loadSync(buildTflite({
    tensors: [
      { shape: [1, 8], type: TensorType.INT8, scale: [inScale], zeroPoint: [inZp] },
      { shape: [1, 8], type: TensorType.INT8, scale: [outScale], zeroPoint: [outZp] },
    ],
    ops: [{ builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] }],
    inputs: [0],
    outputs: [1],
  }));
  const { multiplier, shift } = quantizeMultiplier(inScale / outScale);
  const x = Int8Array.from([-128, -50, -1, 0, 1, 2, 77, 127]);
  const expected = Array.from(x, (v) => clamp8(multiplyByQuantizedMultiplier(v - inZp, multiplier, shift) + outZp));
  assert.deepEqual(Array.from(model.invoke(x)), expected);
});

const q8 = (shape: number[], zeroPoint = 0) => ({ shape, type: TensorType.INT8, scale: [0.05], zeroPoint: [zeroPoint] });

test("refusals name the op and its operator index", () => {
  const add = table(scalar("i8", 0));
  // ADD broadcasts now; shapes that do not broadcast are still refused.
  assertRejects({ tensors: [q8([1, 2, 2, 3]), q8([1, 2, 3, 3]), q8([1, 2, 2, 3])], ops: [{ builtin: Builtin.ADD, version: 2, inputs: [0, 1], outputs: [2], options: add }], inputs: [0], outputs: [2] },
    "BAD_MODEL", /^operator 0 \(ADD\): shapes \[1,2,2,3\] and \[1,2,3,3\] do not broadcast/);

  const conv = table(scalar("i8", 1), scalar("i32", 1), scalar("i32", 1), scalar("i8", 0));
  const filter = { shape: [2, 1, 1, 2], type: TensorType.INT8, scale: [0.01], data: int8Bytes([1, 2, 3, 4]) };
  // Grouped convolution runs now; a filter depth that does not divide the input's is refused.
  assertRejects({ tensors: [q8([1, 4, 4, 3]), filter, q8([1, 4, 4, 2])], ops: [{ builtin: Builtin.CONV_2D, version: 3, inputs: [0, 1, -1], outputs: [2], options: conv }], inputs: [0], outputs: [2] },
    "BAD_MODEL", /^operator 0 \(CONV_2D\): filter \[2,1,1,2\] does not fit 3 -> 2 channels/);
  assertRejects({ tensors: [q8([2, 4, 4, 2]), filter, q8([2, 4, 4, 2])], ops: [{ builtin: Builtin.CONV_2D, version: 3, inputs: [0, 1, -1], outputs: [2], options: conv }], inputs: [0], outputs: [2] },
    "UNSUPPORTED_OP", /^operator 0 \(CONV_2D\): input has batch 2/);

  const axis = { shape: [1], type: TensorType.INT32, data: int32Bytes([3]) };
  // MEAN runs over any axes now; version 3 (int16) is still refused.
  assertRejects({ tensors: [q8([1, 2, 2, 3]), axis, q8([1, 2, 2, 1])], ops: [{ builtin: Builtin.MEAN, version: 3, inputs: [0, 1], outputs: [2], options: table(scalar("u8", 1)) }], inputs: [0], outputs: [2] },
    "UNSUPPORTED_OP", /^operator 0 \(MEAN\): op version 3 is not supported/);

  assertRejects({ tensors: [q8([1, 10]), q8([1, 10], 0)], ops: [{ builtin: Builtin.SOFTMAX, version: 2, inputs: [0], outputs: [1], options: table(scalar("f32", 1)) }], inputs: [0], outputs: [1] },
    "UNSUPPORTED_TYPE", /^operator 0 \(SOFTMAX\): int8 SOFTMAX output must have scale 1\/256 and zero point -128/);

  assertRejects({ tensors: [q8([1, 4]), q8([1, 4])], ops: [{ builtin: 32, custom: "MyOp", inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] },
    "UNSUPPORTED_OP", /^operator 0 \(CUSTOM\): custom op "MyOp" is not supported/);

  // A float island may hold only float32 elementwise ops (tests/ops-lut.test.ts runs them).
  const middle = { shape: [1, 4], type: TensorType.FLOAT32 };
  assertRejects({ tensors: [q8([1, 4]), middle, middle, q8([1, 4])], ops: [{ builtin: Builtin.DEQUANTIZE, inputs: [0], outputs: [1] }, { builtin: Builtin.EXP, inputs: [1], outputs: [2] }, { builtin: Builtin.QUANTIZE, inputs: [2], outputs: [3] }], inputs: [0], outputs: [3] },
    "UNSUPPORTED_OP", /^operator 0 \(DEQUANTIZE\): the float island from DEQUANTIZE reaches operator 1 \(EXP\), which Wisp does not run in float32/);
});

test("graph-level refusals: several subgraphs, several inputs", () => {
  const one = { tensors: [q8([1, 4]), q8([1, 4])], ops: [{ builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] };
  assertRejects({ ...one, subgraphs: 2 }, "UNSUPPORTED_OP", /subgraph 1 is not the init graph of a CALL_ONCE/);
  assertRejects({ ...one, tensors: [...one.tensors, q8([1, 4])], inputs: [0, 2] }, "UNSUPPORTED_OP", /model has 2 inputs and 1 outputs/);
});
