// The spatial and reduction ops: grouped CONV_2D, TRANSPOSE_CONV, RESIZE_NEAREST_NEIGHBOR,
// RESIZE_BILINEAR, L2_NORMALIZATION, MEAN, SUM, REDUCE_MAX, REDUCE_MIN,
// ARG_MAX, ARG_MIN. Variants the shared models lack are built here and run
// on TFLM's reference kernels (the tflm-oracle binary, when present); Wisp
// must match its outputs byte for byte. The variants Wisp refuses are
// refused with the code and reason TFLM's behaviour calls for.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { crc32 } from "../host/crc32";
import { Builtin, TensorType } from "../host/convert/tflite";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { prng, haveOracle, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int32Bytes, int8Bytes, ModelSpec, scalar, table, TableNode, TensorSpec } from "./tflite-writer";


// The oracle's models name their options' type, so TFLM reads the options.
const model = (spec: ModelSpec): Uint8Array => buildTflite(spec, { optionsTypes: true });

// Deterministic pseudo-random int8 values.
function random(seed: number, n: number, lo = -128, hi = 127): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const q8 = (shape: number[], scale: number, zeroPoint: number): TensorSpec => ({ shape, type: TensorType.INT8, scale: [scale], zeroPoint: [zeroPoint] });
const i32 = (values: number[], shape = [values.length]): TensorSpec => ({ shape, type: TensorType.INT32, data: int32Bytes(values) });

// Runs `spec` (tensor 0 the input, one op) on TFLM and on Wisp for a batch
// of random inputs; the raw outputs must be identical.
function assertMatchesTflm(spec: ModelSpec, seed: number): void {
  const bytes = model(spec);
  const wisp = loadSync(bytes);
  const count = 8, inBytes = wisp.inputBytes;
  const inputs = int8Bytes(random(seed, count * inBytes));
  const expected = runOracle(bytes, inputs);
  assert.ok(expected, "tflm-oracle refused the model");
  assert.equal(expected.length, count * wisp.outputBytes);
  let differing = 0;
  for (let k = 0; k < count; k++) {
    const y = wisp.invoke(new Int8Array(inputs.buffer, k * inBytes, inBytes));
    if (Buffer.compare(Buffer.from(y.buffer, y.byteOffset, y.length), expected.subarray(k * wisp.outputBytes, (k + 1) * wisp.outputBytes)) !== 0) differing++;
  }
  assert.equal(differing, 0, `${differing} of ${count} outputs differ from TFLM`);
}

function one(builtin: number, version: number, tensors: TensorSpec[], inputs: number[], options?: TableNode): ModelSpec {
  const out = tensors.length - 1;
  return { tensors, ops: [{ builtin, version, inputs, outputs: [out], options }], inputs: [0], outputs: [out] };
}

const withVersion = (spec: ModelSpec, version: number): ModelSpec => ({ ...spec, ops: [{ ...spec.ops[0], version }] });

function assertRejects(spec: ModelSpec, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(model(spec)), code, pattern);
}

// --- TRANSPOSE_CONV -------------------------------------------------------

function transposeConv(o: { inShape: number[]; outShape: number[]; k: [number, number]; stride: [number, number]; padding: number; activation: number; perChannel: boolean; bias: boolean; seed: number }): ModelSpec {
  const [, , , inC] = o.inShape, outC = o.outShape[3];
  const filterShape = [outC, o.k[0], o.k[1], inC];
  const scales = o.perChannel ? random(o.seed, outC, 1, 9).map((s) => s * 0.002) : [0.006];
  const tensors: TensorSpec[] = [
    q8(o.inShape, 0.03, 5),
    i32(o.outShape),
    { shape: filterShape, type: TensorType.INT8, data: int8Bytes(random(o.seed + 1, elements(filterShape))), scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: 0 },
  ];
  const inputs = [1, 2, 0];
  if (o.bias) {
    tensors.push({ shape: [outC], type: TensorType.INT32, data: int32Bytes(random(o.seed + 2, outC, -3000, 3000)) });
    inputs.push(3);
  }
  tensors.push(q8(o.outShape, 0.08, -3));
  return one(Builtin.TRANSPOSE_CONV, 4, tensors, inputs, table(scalar("i8", o.padding), scalar("i32", o.stride[1]), scalar("i32", o.stride[0]), scalar("i8", o.activation)));
}

test("TRANSPOSE_CONV variants match TFLM: stride 1 SAME per-tensor no bias RELU6, stride 2x1 VALID 3x3, batch 2 stride 3 with overlap", { skip: !haveOracle }, () => {
  assertMatchesTflm(transposeConv({ inShape: [1, 5, 4, 3], outShape: [1, 5, 4, 2], k: [3, 3], stride: [1, 1], padding: 0, activation: 3, perChannel: false, bias: false, seed: 11 }), 1);
  assertMatchesTflm(transposeConv({ inShape: [1, 4, 5, 3], outShape: [1, 9, 7, 4], k: [3, 3], stride: [2, 1], padding: 1, activation: 0, perChannel: true, bias: true, seed: 12 }), 2);
  assertMatchesTflm(transposeConv({ inShape: [2, 3, 3, 2], outShape: [2, 9, 9, 3], k: [4, 5], stride: [3, 3], padding: 0, activation: 1, perChannel: true, bias: true, seed: 13 }), 3);
});

test("TRANSPOSE_CONV refusals", () => {
  const base = transposeConv({ inShape: [1, 3, 3, 2], outShape: [1, 6, 6, 2], k: [2, 2], stride: [2, 2], padding: 1, activation: 0, perChannel: true, bias: true, seed: 5 });
  const withFilter = (patch: Partial<TensorSpec>): ModelSpec => ({ ...base, tensors: base.tensors.map((t, i) => (i === 2 ? { ...t, ...patch } : t)) });
  assertRejects(withFilter({ zeroPoint: [3, 0] }), "UNSUPPORTED_TYPE", /^operator 0 \(TRANSPOSE_CONV\): weights have a non-zero zero point/);
  assertRejects(withFilter({ quantizedDimension: 3 }), "UNSUPPORTED_TYPE", /^operator 0 \(TRANSPOSE_CONV\): weights are quantized along dimension 3/);
  assertRejects(withVersion(base, 5), "UNSUPPORTED_OP", /^operator 0 \(TRANSPOSE_CONV\): op version 5 is not supported/);
  // int16 activations (the 16x8 kernel) are not run.
  assertRejects({ ...base, tensors: base.tensors.map((t, i) => (i === 0 ? { ...t, type: TensorType.INT16 } : t)) }, "UNSUPPORTED_TYPE", /^operator 0 \(TRANSPOSE_CONV\): input tensor "t0" is INT16/);
});

// --- Grouped CONV_2D (int8) -------------------------------------------

// CONV_2D version 6 with filter depth inC / groups (Conv2DOptions: padding,
// stride_w, stride_h, activation, dilation_w, dilation_h).
function groupedConv(o: { inShape: number[]; outShape: number[]; k: [number, number]; fi: number; stride: number; dilation: number; padding: number; activation: number; perChannel: boolean; bias: boolean; inZp: number; seed: number }): ModelSpec {
  const outC = o.outShape[3];
  const filterShape = [outC, o.k[0], o.k[1], o.fi];
  const scales = o.perChannel ? random(o.seed, outC, 1, 9).map((s) => s * 0.003) : [0.01];
  const tensors: TensorSpec[] = [
    q8(o.inShape, 0.05, o.inZp),
    { shape: filterShape, type: TensorType.INT8, data: int8Bytes(random(o.seed + 1, elements(filterShape), -127, 127)), scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: 0 },
  ];
  const inputs = [0, 1];
  if (o.bias) {
    tensors.push({ shape: [outC], type: TensorType.INT32, data: int32Bytes(random(o.seed + 2, outC, -3000, 3000)) });
    inputs.push(2);
  }
  tensors.push(q8(o.outShape, 0.3, -7));
  const options = table(scalar("i8", o.padding), scalar("i32", o.stride), scalar("i32", o.stride), scalar("i8", o.activation), scalar("i32", o.dilation), scalar("i32", o.dilation));
  return one(Builtin.CONV_2D, 6, tensors, inputs, options);
}

test("int8 grouped CONV_2D matches TFLM: 2, 3 and 4 groups, several filters per group, stride, dilation, VALID, RELU6, per-tensor, no bias", { skip: !haveOracle }, () => {
  assertMatchesTflm(groupedConv({ inShape: [1, 6, 5, 4], outShape: [1, 6, 5, 6], k: [3, 3], fi: 2, stride: 1, dilation: 1, padding: 0, activation: 0, perChannel: true, bias: true, inZp: 3, seed: 21 }), 21);
  assertMatchesTflm(groupedConv({ inShape: [1, 9, 8, 8], outShape: [1, 5, 4, 8], k: [3, 2], fi: 2, stride: 2, dilation: 1, padding: 0, activation: 3, perChannel: false, bias: false, inZp: -20, seed: 22 }), 22);
  assertMatchesTflm(groupedConv({ inShape: [1, 9, 9, 6], outShape: [1, 5, 5, 9], k: [3, 3], fi: 2, stride: 1, dilation: 2, padding: 1, activation: 1, perChannel: true, bias: true, inZp: 0, seed: 23 }), 23);
  assertMatchesTflm(groupedConv({ inShape: [1, 4, 4, 6], outShape: [1, 4, 4, 4], k: [1, 1], fi: 3, stride: 1, dilation: 1, padding: 0, activation: 0, perChannel: true, bias: true, inZp: 100, seed: 24 }), 24);
});

test("int8 grouped CONV_2D refusals", () => {
  const base = groupedConv({ inShape: [1, 4, 4, 6], outShape: [1, 4, 4, 4], k: [3, 3], fi: 3, stride: 1, dilation: 1, padding: 0, activation: 0, perChannel: true, bias: true, inZp: 0, seed: 30 });
  const withFilterDepth = (fi: number): ModelSpec => ({ ...base, tensors: base.tensors.map((t, i) => (i === 1 ? { ...t, shape: [4, 3, 3, fi], data: int8Bytes(random(31, 36 * fi)) } : t)) });
  assertRejects(withFilterDepth(4), "BAD_MODEL", /^operator 0 \(CONV_2D\): filter \[4,3,3,4\] does not fit 6 -> 4 channels/);
  // 6 channels in 3 groups of 2 cannot make 4 outputs.
  assertRejects(withFilterDepth(2), "BAD_MODEL", /^operator 0 \(CONV_2D\): filter \[4,3,3,2\] does not fit 6 -> 4 channels/);
  assertRejects({ ...base, tensors: base.tensors.map((t, i) => (i === 2 ? { ...t, type: TensorType.INT64, data: new Uint8Array(32) } : t)) }, "UNSUPPORTED_TYPE", /^operator 0 \(CONV_2D\): int8 CONV_2D needs an int32 bias/);
  assertRejects(withVersion(base, 7), "UNSUPPORTED_OP", /^operator 0 \(CONV_2D\): op version 7 is not supported/);
});

// --- RESIZE ---------------------------------------------------------------

function resize(builtin: number, inShape: number[], size: [number, number], alignCorners: boolean, halfPixel: boolean): ModelSpec {
  const options = builtin === Builtin.RESIZE_BILINEAR
    ? table(undefined, undefined, scalar("u8", alignCorners ? 1 : 0), scalar("u8", halfPixel ? 1 : 0))
    : table(scalar("u8", alignCorners ? 1 : 0), scalar("u8", halfPixel ? 1 : 0));
  return one(builtin, 3, [q8(inShape, 0.02, -4), i32(size), q8([inShape[0], size[0], size[1], inShape[3]], 0.02, -4)], [0, 1], options);
}

test("RESIZE variants match TFLM: nearest with align_corners or half-pixel centres, bilinear plain and downscaling", { skip: !haveOracle }, () => {
  assertMatchesTflm(resize(Builtin.RESIZE_NEAREST_NEIGHBOR, [1, 5, 7, 2], [11, 9], true, false), 4);
  assertMatchesTflm(resize(Builtin.RESIZE_NEAREST_NEIGHBOR, [2, 6, 5, 3], [9, 13], false, true), 5);
  assertMatchesTflm(resize(Builtin.RESIZE_BILINEAR, [1, 5, 6, 2], [8, 15], false, false), 6);
  assertMatchesTflm(resize(Builtin.RESIZE_BILINEAR, [1, 9, 10, 3], [4, 7], false, true), 7);
  assertMatchesTflm(resize(Builtin.RESIZE_BILINEAR, [2, 4, 4, 2], [7, 3], true, false), 8);
});

test("RESIZE refusals", () => {
  assertRejects(resize(Builtin.RESIZE_BILINEAR, [1, 4, 4, 1], [8, 8], true, true), "BAD_MODEL", /^operator 0 \(RESIZE_BILINEAR\): align_corners and half_pixel_centers cannot both be set/);
  const dynamic = resize(Builtin.RESIZE_NEAREST_NEIGHBOR, [1, 4, 4, 1], [8, 8], false, false);
  dynamic.tensors[1] = { shape: [2], type: TensorType.INT32 };
  assertRejects(dynamic, "UNSUPPORTED_OP", /^operator 0 \(RESIZE_NEAREST_NEIGHBOR\): a non-constant size is not supported/);
  // Version 4 is int16.
  assertRejects(withVersion(resize(Builtin.RESIZE_BILINEAR, [1, 4, 4, 1], [8, 8], false, true), 4), "UNSUPPORTED_OP", /^operator 0 \(RESIZE_BILINEAR\): op version 4 is not supported/);
});

// --- L2_NORMALIZATION -----------------------------------------------------

test("L2_NORMALIZATION matches TFLM on a 4-D tensor with a non-zero zero point", { skip: !haveOracle }, () => {
  assertMatchesTflm(one(Builtin.L2_NORMALIZATION, 2, [q8([1, 3, 2, 9], 0.05, 7), q8([1, 3, 2, 9], 1 / 128, 0)], [0], table(scalar("i8", 0))), 9);
  // Long rows push the sum of squares past 2^29 (the shift loop of the inverse square root).
  assertMatchesTflm(one(Builtin.L2_NORMALIZATION, 2, [q8([2, 20000], 0.05, -128), q8([2, 20000], 1 / 128, 0)], [0], table(scalar("i8", 0))), 10);
});

test("L2_NORMALIZATION refusals", () => {
  assertRejects(one(Builtin.L2_NORMALIZATION, 2, [q8([1, 8], 0.05, 0), q8([1, 8], 1 / 128, 0)], [0], table(scalar("i8", 1))), "UNSUPPORTED_OP", /^operator 0 \(L2_NORMALIZATION\): a fused activation/);
  assertRejects(one(Builtin.L2_NORMALIZATION, 2, [q8([1, 2, 2, 2, 4], 0.05, 0), q8([1, 2, 2, 2, 4], 1 / 128, 0)], [0], table(scalar("i8", 0))), "UNSUPPORTED_OP", /^operator 0 \(L2_NORMALIZATION\): rank 5 is not supported/);
});

// --- Reductions -----------------------------------------------------------

function reduce(builtin: number, inShape: number[], axes: number[], keepDims: boolean, outQuant: [number, number]): ModelSpec {
  const rank = inShape.length;
  const resolved = axes.map((a) => (a < 0 ? a + rank : a));
  const outShape = keepDims ? inShape.map((d, i) => (resolved.includes(i) ? 1 : d)) : inShape.filter((_, i) => !resolved.includes(i));
  return one(builtin, 2, [q8(inShape, 0.04, -6), i32(axes), q8(outShape, outQuant[0], outQuant[1])], [0, 1], table(scalar("u8", keepDims ? 1 : 0)));
}

test("MEAN, SUM, REDUCE_MAX and REDUCE_MIN over other axes match TFLM", { skip: !haveOracle }, () => {
  assertMatchesTflm(reduce(Builtin.MEAN, [1, 4, 5, 6], [2], false, [0.03, 4]), 20);
  assertMatchesTflm(reduce(Builtin.MEAN, [2, 3, 4, 5], [1, 2], true, [0.02, -2]), 21); // batch 2: the general walk
  assertMatchesTflm(reduce(Builtin.MEAN, [3, 4, 5], [0, -1, 0], false, [0.05, 1]), 22); // duplicates, negative axis
  assertMatchesTflm(reduce(Builtin.MEAN, [2, 3, 4, 5, 2], [0, 2, 4], true, [0.01, 0]), 23);
  assertMatchesTflm(reduce(Builtin.SUM, [2, 3, 4, 5], [1, 3], true, [0.3, 7]), 24);
  assertMatchesTflm(reduce(Builtin.SUM, [4, 6], [0, 1], false, [0.002, 0]), 25); // saturates
  assertMatchesTflm(reduce(Builtin.REDUCE_MAX, [2, 3, 4, 5], [0, 2], false, [0.04, -6]), 26);
  assertMatchesTflm(reduce(Builtin.REDUCE_MIN, [3, 4, 5], [-1], true, [0.04, -6]), 27);
});

test("ARG_MAX and ARG_MIN match TFLM on every axis, ties included", { skip: !haveOracle }, () => {
  const arg = (builtin: number, shape: number[], axis: number, seed: number) => {
    const out = shape.filter((_, i) => i !== (axis < 0 ? axis + shape.length : axis));
    const options = table(scalar("i8", TensorType.INT32));
    assertMatchesTflm(one(builtin, 2, [q8(shape, 0.04, 0), i32([axis], [1]), { shape: out, type: TensorType.INT32 }], [0, 1], options), seed);
  };
  arg(Builtin.ARG_MAX, [2, 3, 4], 0, 30);
  arg(Builtin.ARG_MAX, [2, 3, 4], 1, 31);
  arg(Builtin.ARG_MIN, [2, 3, 4], -1, 32);
  arg(Builtin.ARG_MIN, [1, 40, 3], 1, 33); // 40 int8 values: ties are likely
});

test("reduction refusals", () => {
  assertRejects(reduce(Builtin.REDUCE_MAX, [1, 4, 4, 3], [3], true, [0.05, -6]), "UNSUPPORTED_TYPE", /^operator 0 \(REDUCE_MAX\): int8 REDUCE_MAX needs the output quantized as its input/);
  assertRejects(reduce(Builtin.REDUCE_MIN, [1, 4, 4, 3], [3], true, [0.04, 0]), "UNSUPPORTED_TYPE", /^operator 0 \(REDUCE_MIN\): int8 REDUCE_MIN needs the output quantized as its input/);
  assertRejects(reduce(Builtin.MEAN, [1, 4, 4, 3], [4], true, [0.04, 0]), "BAD_MODEL", /^operator 0 \(MEAN\): axis 4 is out of range for rank 4/);
  assertRejects(withVersion(reduce(Builtin.SUM, [1, 4, 4, 3], [1], true, [0.04, 0]), 3), "UNSUPPORTED_OP", /^operator 0 \(SUM\): op version 3 is not supported/);
  // Ten dimensions, every other one reduced: five kept walks, more than the kernel's four.
  const shape = [2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
  assertRejects(reduce(Builtin.SUM, shape, [1, 3, 5, 7, 9], false, [0.04, 0]), "UNSUPPORTED_OP", /^operator 0 \(SUM\): the kept dimensions do not fit/);
  // ARG_MAX: TFLM runs int32 indices only.
  assertRejects(one(Builtin.ARG_MAX, 2, [q8([1, 4, 3], 0.04, 0), i32([2], [1]), { shape: [1, 4], type: TensorType.INT64 }], [0, 1], table(scalar("i8", TensorType.INT64))),
    "UNSUPPORTED_TYPE", /^operator 0 \(ARG_MAX\): output tensor "t2" is INT64/);
  assertRejects(one(Builtin.ARG_MIN, 2, [q8([1, 4, 3], 0.04, 0), { shape: [1], type: TensorType.INT64, data: new Uint8Array(8) }, { shape: [1, 4], type: TensorType.INT32 }], [0, 1], table(scalar("i8", TensorType.INT32))),
    "UNSUPPORTED_TYPE", /^operator 0 \(ARG_MIN\): the axis must be int32/);
});

test("an int32 model output (ARG_MAX) comes back as its raw little-endian bytes", () => {
  const m = loadSync(model(one(Builtin.ARG_MAX, 2, [q8([1, 2, 5], 0.04, 0), i32([2], [1]), { shape: [1, 2], type: TensorType.INT32 }], [0, 1], table(scalar("i8", TensorType.INT32)))));
  assert.equal(m.outputBytes, 8);
  const y = m.invoke(Int8Array.from([1, 9, 3, 9, -4, 0, -1, -2, 5, 4]));
  assert.deepEqual(Array.from(new Int32Array(y.slice().buffer)), [1, 3]);
});

// --- Validation ----------------------------------------------------------

test("mutated graph words of these ops end in success or a coded error, never a trap", () => {
  const specs = [
    groupedConv({ inShape: [1, 5, 5, 4], outShape: [1, 3, 3, 6], k: [3, 3], fi: 2, stride: 2, dilation: 1, padding: 0, activation: 0, perChannel: true, bias: true, inZp: 2, seed: 41 }),
    transposeConv({ inShape: [1, 3, 4, 2], outShape: [1, 6, 8, 3], k: [3, 3], stride: [2, 2], padding: 0, activation: 0, perChannel: true, bias: true, seed: 40 }),
    resize(Builtin.RESIZE_BILINEAR, [1, 4, 5, 2], [7, 9], false, true),
    resize(Builtin.RESIZE_NEAREST_NEIGHBOR, [1, 4, 5, 2], [7, 9], true, false),
    one(Builtin.L2_NORMALIZATION, 2, [q8([2, 3, 8], 0.05, 7), q8([2, 3, 8], 1 / 128, 0)], [0], table(scalar("i8", 0))),
    reduce(Builtin.MEAN, [1, 4, 5, 6], [1, 2], true, [0.03, 4]),
    reduce(Builtin.SUM, [2, 3, 4, 5], [1, 3], false, [0.3, 7]),
    one(Builtin.ARG_MIN, 2, [q8([2, 3, 4], 0.04, 0), i32([1], [1]), { shape: [2, 4], type: TensorType.INT32 }], [0, 1], table(scalar("i8", TensorType.INT32))),
  ];
  const extremes = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 4096];
  const random = prng(64);
  const codes = new Map<string, number>();
  for (const spec of specs) {
    const base = convertTflite(model(spec)).wisp;
    const view = new DataView(base.buffer, base.byteOffset);
    const graphAt = view.getUint32(F.HEADER_BYTES + 8, true), graphEnd = graphAt + view.getUint32(F.HEADER_BYTES + 12, true);
    for (let i = 0; i < 150; i++) {
      const bytes = base.slice();
      const v = new DataView(bytes.buffer);
      // The op records are the last words of the graph section.
      const at = graphEnd - 4 * (1 + random(Math.min(80, (graphEnd - graphAt) >> 2)));
      v.setInt32(at, random(2) ? extremes[random(extremes.length)] : random(512) - 256, true);
      v.setUint32(12, crc32(bytes.subarray(F.HEADER_BYTES)), true);
      let outcome = "ok";
      try {
        const m = loadSync(bytes, { streamWeights: i % 3 === 0 });
        if (m.info.arenaBytes <= 1 << 20) m.invoke(new Int8Array(m.inputBytes));
      } catch (e) {
        if (!(e instanceof WispError)) throw new Error(`not a clean coded error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        outcome = e.code;
      }
      codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
    }
  }
  assert.ok((codes.get("ok") ?? 0) > 0 && (codes.get("BAD_WISP") ?? 0) > 0, JSON.stringify([...codes]));
});
