// The BINARY op (ADD, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE):
// broadcast variants the zoo lacks checked byte for byte against TFLM's
// reference kernels (the tflm-oracle binary, when present), fused activations,
// and the variants the converter refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync, LoadOptions } from "../host/node/api";
import { hostKernelCalls } from "../host/node/host-kernels";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { buildTflite, int32Bytes, int8Bytes, scalar, table, ModelSpec, TensorSpec } from "./tflite-writer";
import { prng, haveOracle, runOracle, throwsCoded } from "./helpers";

const VECTORS = 16;

interface Q {
  scale: number;
  zeroPoint: number;
}

const VERSION: Record<number, number> = {
  [Builtin.ADD]: 2, [Builtin.SUB]: 2, [Builtin.MUL]: 2, [Builtin.MAXIMUM]: 2, [Builtin.MINIMUM]: 2, [Builtin.SQUARED_DIFFERENCE]: 2,
};

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const q8 = (shape: number[], q: Q, data?: Uint8Array): TensorSpec => ({ shape, type: TensorType.INT8, scale: [q.scale], zeroPoint: [q.zeroPoint], data });
const i32 = (values: number[]): TensorSpec => ({ shape: [values.length], type: TensorType.INT32, data: int32Bytes(values) });

// ADD, SUB and MUL take fused_activation_function (field 0); the others no options.
function options(builtin: number, activation: number) {
  return builtin === Builtin.ADD || builtin === Builtin.SUB || builtin === Builtin.MUL ? table(scalar("i8", activation)) : undefined;
}

// One int8 model input, sliced in two and reshaped: two activations of any
// shapes and quantizations (or the same one twice when `same`), into the op.
function twoActivations(builtin: number, aShape: number[], bShape: number[], outShape: number[], qa: Q, qb: Q, qo: Q, activation = 0, same = false, version?: number): ModelSpec {
  const na = count(aShape), nb = same ? 0 : count(bShape);
  const tensors: TensorSpec[] = [
    q8([na + nb], qa), // 0 model input
    i32([0]), i32([na]), q8([na], qa), // 1, 2, 3: first slice
    i32([na]), i32([Math.max(nb, 1)]), q8([Math.max(nb, 1)], qb), // 4, 5, 6: second slice
    i32(aShape), q8(aShape, qa), // 7, 8
    i32(bShape), q8(bShape, qb), // 9, 10
    q8(outShape, qo), // 11
  ];
  const ops = [
    { builtin: Builtin.SLICE, version: 2, inputs: [0, 1, 2], outputs: [3] },
    ...(same ? [] : [{ builtin: Builtin.SLICE, version: 2, inputs: [0, 4, 5], outputs: [6] }]),
    { builtin: Builtin.RESHAPE, version: 1, inputs: [3, 7], outputs: [8] },
    ...(same ? [] : [{ builtin: Builtin.RESHAPE, version: 1, inputs: [6, 9], outputs: [10] }]),
    { builtin, version: version ?? VERSION[builtin], inputs: same ? [8, 8] : [8, 10], outputs: [11], options: options(builtin, activation) },
  ];
  return { tensors, ops, inputs: [0], outputs: [11] };
}

// An activation and a constant (first or second operand).
function withConstant(builtin: number, xShape: number[], cShape: number[], outShape: number[], qx: Q, qc: Q, qo: Q, constantFirst: boolean, seed: number): ModelSpec {
  const r = prng(seed);
  const c = int8Bytes(Array.from({ length: count(cShape) }, () => r(256) - 128));
  const tensors = [q8(xShape, qx), q8(cShape, qc, c), q8(outShape, qo)];
  return { tensors, ops: [{ builtin, version: VERSION[builtin], inputs: constantFirst ? [1, 0] : [0, 1], outputs: [2], options: options(builtin, 0) }], inputs: [0], outputs: [2] };
}

function randomInputs(bytes: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(bytes * VECTORS);
  for (let i = 0; i < b.length; i++) b[i] = r(256);
  // Extremes in the first vectors: all -128, all 127.
  b.fill(0x80, 0, bytes);
  b.fill(0x7f, bytes, 2 * bytes);
  return b;
}

// Runs the model on TFLM's reference kernels; null without the oracle.
function oracle(model: Uint8Array, inputs: Buffer): Buffer | null {
  if (!haveOracle) return null;
  const out = runOracle(model, inputs);
  assert.ok(out, "tflm-oracle refused the model");
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function wisp(model: Uint8Array, inputs: Buffer, load: LoadOptions = {}): Buffer {
  const m = loadSync(model, load);
  const ib = m.inputBytes;
  const parts: Buffer[] = [];
  for (let k = 0; k < inputs.length / ib; k++) {
    const y = m.invoke(new Int8Array(inputs.buffer, inputs.byteOffset + k * ib, ib));
    parts.push(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  }
  return Buffer.concat(parts);
}

function inputBytes(spec: ModelSpec): number {
  return count(spec.tensors[spec.inputs[0]].shape);
}

const available = haveOracle;
const skip = available ? false : "tflm-oracle is absent";

const QA: Q = { scale: 0.0173, zeroPoint: -7 };
const QB: Q = { scale: 0.0421, zeroPoint: 12 };
const QO: Q = { scale: 0.0517, zeroPoint: 3 };

const CASES: { name: string; spec: ModelSpec }[] = [
  { name: "ADD (1,3,4,1) + (1,1,1,5)", spec: twoActivations(Builtin.ADD, [1, 3, 4, 1], [1, 1, 1, 5], [1, 3, 4, 5], QA, QB, QO) },
  { name: "MUL (1,1,4,3) * (1,3,1,3)", spec: twoActivations(Builtin.MUL, [1, 1, 4, 3], [1, 3, 1, 3], [1, 3, 4, 3], QA, QB, { scale: 0.0061, zeroPoint: -20 }) },
  { name: "SUB rank 2 (4,1) - (1,6)", spec: twoActivations(Builtin.SUB, [4, 1], [1, 6], [4, 6], QA, QB, QO) },
  { name: "SUB ranks 3 and 1 (2,3,4) - (4)", spec: twoActivations(Builtin.SUB, [2, 3, 4], [4], [2, 3, 4], QB, QA, { scale: 0.0337, zeroPoint: -1 }) },
  { name: "SQUARED_DIFFERENCE rank 3 (2,3,4) vs (2,1,4)", spec: twoActivations(Builtin.SQUARED_DIFFERENCE, [2, 3, 4], [2, 1, 4], [2, 3, 4], QA, QB, { scale: 0.0213, zeroPoint: -128 }) },
  { name: "SQUARED_DIFFERENCE same shape", spec: twoActivations(Builtin.SQUARED_DIFFERENCE, [1, 5, 7], [1, 5, 7], [1, 5, 7], QB, QA, { scale: 0.0934, zeroPoint: -100 }) },
  { name: "MAXIMUM rank 5, inputs quantized differently (raw compare)", spec: twoActivations(Builtin.MAXIMUM, [2, 1, 3, 1, 2], [1, 2, 1, 3, 1], [2, 2, 3, 3, 2], QA, QB, QO, 0, false, 3) },
  { name: "MINIMUM rank 6 (1,2,1,2,1,3) vs (2,1,2,1,3,1)", spec: twoActivations(Builtin.MINIMUM, [1, 2, 1, 2, 1, 3], [2, 1, 2, 1, 3, 1], [2, 2, 2, 2, 3, 3], QA, QA, QA, 0, false, 3) },
  { name: "MUL multiplier above 1 (version 3), (2,3) * (1)", spec: twoActivations(Builtin.MUL, [2, 3], [1], [2, 3], { scale: 0.5, zeroPoint: 1 }, { scale: 0.25, zeroPoint: -3 }, { scale: 0.1, zeroPoint: 0 }, 0, false, 3) },
  { name: "ADD x + x (one tensor twice)", spec: twoActivations(Builtin.ADD, [1, 4, 4, 3], [1, 4, 4, 3], [1, 4, 4, 3], QA, QA, QO, 0, true) },
  { name: "MUL x * x (one tensor twice)", spec: twoActivations(Builtin.MUL, [3, 5], [3, 5], [3, 5], QB, QB, { scale: 0.0297, zeroPoint: -90 }, 0, true) },
  { name: "SUB same shape, rank 5", spec: twoActivations(Builtin.SUB, [1, 2, 3, 2, 4], [1, 2, 3, 2, 4], [1, 2, 3, 2, 4], QA, QB, QO) },
  { name: "SUB constant - x, (2,3,4) broadcast from (4)", spec: withConstant(Builtin.SUB, [2, 3, 4], [4], [2, 3, 4], QA, QB, QO, true, 5) },
  { name: "MUL x * constant (1,3,1,1)", spec: withConstant(Builtin.MUL, [1, 3, 4, 2], [1, 3, 1, 1], [1, 3, 4, 2], QA, { scale: 0.0041, zeroPoint: -128 }, QO, false, 6) },
  { name: "ADD x + constant, same shape", spec: withConstant(Builtin.ADD, [2, 9], [2, 9], [2, 9], QA, QB, QO, false, 7) },
];

// The tflite writer leaves builtin_options_type unset, so TFLM reads these
// models without their fused activation; the activation is a clamp after
// requantization, so Wisp's result must be TFLM's clamped to the range
// TFLM's CalculateActivationRangeQuantized gives.
const ACTIVATIONS: { name: string; code: number; range: (q: Q) => [number, number] }[] = [
  { name: "RELU", code: 1, range: (q) => [Math.max(-128, q.zeroPoint), 127] },
  { name: "RELU_N1_TO_1", code: 2, range: (q) => [Math.max(-128, q.zeroPoint + Math.round(-1 / q.scale)), Math.min(127, q.zeroPoint + Math.round(1 / q.scale))] },
  { name: "RELU6", code: 3, range: (q) => [Math.max(-128, q.zeroPoint), Math.min(127, q.zeroPoint + Math.round(6 / q.scale))] },
];

for (const builtin of [Builtin.ADD, Builtin.SUB, Builtin.MUL]) {
  for (const act of ACTIVATIONS) {
    test(`BINARY fused ${act.name} on ${Object.keys(Builtin).find((k) => (Builtin as Record<string, number>)[k] === builtin)}`, { skip }, () => {
      const qo: Q = { scale: builtin === Builtin.MUL ? 0.0093 : 0.0217, zeroPoint: -9 };
      const plain = twoActivations(builtin, [1, 2, 3, 4], [1, 1, 3, 1], [1, 2, 3, 4], QA, QB, qo);
      const fused = twoActivations(builtin, [1, 2, 3, 4], [1, 1, 3, 1], [1, 2, 3, 4], QA, QB, qo, act.code);
      const inputs = randomInputs(inputBytes(plain), 7 + act.code);
      const [lo, hi] = act.range(qo);
      const none = oracle(buildTflite(plain), inputs)!;
      const expected = Buffer.from(Int8Array.from(new Int8Array(none.buffer, none.byteOffset, none.length), (v) => Math.min(hi, Math.max(lo, v))).buffer);
      const got = wisp(buildTflite(fused), inputs);
      assert.ok(got.equals(expected), `${act.name}: differs from TFLM's clamped output`);
      assert.ok(!got.equals(wisp(buildTflite(plain), inputs)), `${act.name} changed nothing; the test would not notice it missing`);
    });
  }
}

// MUL(x, c) -> m, then ADD(m, x): both inputs die at the ADD, whose output
// may take the place of either (overlap 0), so the arena holds two tensors.
function residual(): ModelSpec {
  const shape = [1, 8, 8, 4];
  const c = int8Bytes([-100, -3, 50, 127]);
  return {
    tensors: [q8(shape, QA), q8([4], { scale: 0.0041, zeroPoint: -128 }, c), q8(shape, QB), q8(shape, QO)],
    ops: [
      { builtin: Builtin.MUL, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0)) },
      { builtin: Builtin.ADD, version: 2, inputs: [2, 0], outputs: [3], options: table(scalar("i8", 0)) },
    ],
    inputs: [0],
    outputs: [3],
  };
}

test("BINARY: a same-shape ADD runs in place of a dying input", () => {
  const { info } = convertTflite(buildTflite(residual()));
  assert.equal(info.arenaBytes, 2 * 256);
});

CASES.push({ name: "MUL then ADD in place (residual)", spec: residual() });

function assertRejects(spec: ModelSpec, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(buildTflite(spec)), code, pattern);
}

test("BINARY refusals", () => {
  // Shapes that do not broadcast (TFLM would read past an operand).
  assertRejects(twoActivations(Builtin.ADD, [2, 3], [3, 2], [2, 3], QA, QB, QO), "BAD_MODEL", /^operator \d+ \(ADD\): shapes \[2,3\] and \[3,2\] do not broadcast/);
  // An output shape other than the broadcast shape.
  assertRejects(twoActivations(Builtin.MUL, [1, 3], [4, 1], [4, 4], QA, QB, QO), "BAD_MODEL", /\(MUL\): shapes \[1,3\] and \[4,1\] do not broadcast to the output \[4,4\]/);
  assertRejects(twoActivations(Builtin.MAXIMUM, [1, 1], [1, 1], [2, 1], QA, QB, QO), "BAD_MODEL", /\(MAXIMUM\): .*do not broadcast/);
  // Rank 7: TFLM's RuntimeShape holds at most 6 dimensions.
  assertRejects(twoActivations(Builtin.SUB, [1, 1, 1, 1, 1, 2, 3], [3], [1, 1, 1, 1, 1, 2, 3], QA, QB, QO), "UNSUPPORTED_OP", /\(SUB\): tensors of rank 7 are not supported/);
  // int16 (ADD version 3) and other types: Wisp runs int8 only.
  const i16 = { shape: [1, 4], type: TensorType.INT16, scale: [0.001], zeroPoint: [0] };
  assertRejects({ tensors: [i16, { ...i16, data: new Uint8Array(8) }, i16], ops: [{ builtin: Builtin.ADD, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0)) }], inputs: [0], outputs: [2] },
    "UNSUPPORTED_TYPE", /\(ADD\): first input tensor "t0" is INT16/);
  assertRejects({ ...withConstant(Builtin.SUB, [1, 4], [4], [1, 4], QA, QB, QO, false, 1), ops: [{ builtin: Builtin.SUB, version: 5, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0)) }] },
    "UNSUPPORTED_OP", /\(SUB\): op version 5 is not supported/);
  assertRejects({ ...withConstant(Builtin.MUL, [1, 4], [4], [1, 4], QA, QB, QO, false, 1), ops: [{ builtin: Builtin.MUL, version: 4, inputs: [0, 1], outputs: [2], options: table(scalar("i8", 0)) }] },
    "UNSUPPORTED_OP", /\(MUL\): op version 4 is not supported/);
  // A fused activation TFLM's CalculateActivationRangeQuantized does not clamp for (TANH).
  assertRejects(twoActivations(Builtin.ADD, [2, 3], [3], [2, 3], QA, QB, QO, 4), "UNSUPPORTED_OP", /\(ADD\).*fused activation 4 is not supported/);
  // ADD/SUB output multiplier >= 1: TFLM's QuantizeMultiplierSmallerThanOneExp CHECK fails.
  assertRejects(twoActivations(Builtin.ADD, [2, 3], [3], [2, 3], QA, QB, { scale: 1e-8, zeroPoint: 0 }), "BAD_MODEL", /\(ADD\): output multiplier .* is not below 1/);
  assertRejects(twoActivations(Builtin.SUB, [2, 3], [3], [2, 3], QA, QB, { scale: 1e-8, zeroPoint: 0 }), "BAD_MODEL", /\(SUB\): output multiplier .* is not below 1/);
  // A constant operand must be int8.
  assertRejects({ ...withConstant(Builtin.MUL, [1, 4], [4], [1, 4], QA, QB, QO, false, 1), tensors: [q8([1, 4], QA), i32([1, 2, 3, 4]), q8([1, 4], QO)] },
    "UNSUPPORTED_TYPE", /\(MUL\): second input tensor "t1" is INT32, expected INT8/);
});

for (const [i, c] of CASES.entries()) {
  test(`BINARY matches TFLM: ${c.name}`, { skip }, () => {
    const model = buildTflite(c.spec);
    const inputs = randomInputs(inputBytes(c.spec), 100 + i);
    const expected = oracle(model, inputs)!;
    assert.equal(expected.length, VECTORS * count(c.spec.tensors[c.spec.outputs[0]].shape));
    assert.ok(wisp(model, inputs).equals(expected), `${c.name}: differs from TFLM`);
  });
}

// The same-shape ADD through the host kernels' wisp_add_s8 (docs/host-kernels.md):
// the JavaScript reference in Node and the native one under wasm3, byte for
// byte the pure path's, on random quantizations, fused ranges, x + x, a
// constant operand and the in-place residual.
test("BINARY: the same-shape ADD through wisp_add_s8 (JavaScript and, under wasm3, native) gives the pure path's bytes", () => {
  const r = prng(23);
  const q = (): Q => ({ scale: 0.002 + r(1000) / 4000, zeroPoint: r(256) - 128 });
  const specs = CASES.filter((c) => /^(ADD .*(same shape|twice)|MUL then ADD)/.test(c.name)).map((c) => c.spec);
  for (let i = 0; i < 12; i++) specs.push(twoActivations(Builtin.ADD, [1, 3, 5, 7], [1, 3, 5, 7], [1, 3, 5, 7], q(), q(), q(), [0, 1, 3][i % 3]));
  assert.equal(specs.length, 15);
  for (const [i, spec] of specs.entries()) {
    const model = buildTflite(spec), inputs = randomInputs(inputBytes(spec), 300 + i);
    const pure = wisp(model, inputs, { simd: false });
    const before = hostKernelCalls.add;
    assert.ok(wisp(model, inputs, { hostKernels: true, simd: false }).equals(pure), `case ${i}: JavaScript wisp_add_s8 differs`);
    assert.ok(hostKernelCalls.add > before, `case ${i}: wisp_add_s8 never ran`);
    if (findWasm3Dir()) assert.ok(wisp(model, inputs, { engine: "wasm3", hostKernels: true }).equals(pure), `case ${i}: native wisp_add_s8 under wasm3 differs`);
  }
  if (!findWasm3Dir()) console.log(`native wisp_add_s8 skipped: ${MISSING_WASM3_HINT}`);
});
