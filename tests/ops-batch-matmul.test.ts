// BATCH_MATMUL (a kind of assembly/ops/binary.ts; host/convert/ops/binary.ts):
// adj_x and adj_y read through strides, broadcast batch dimensions, ranks 2
// to 5, constant operands, byte-exact against TFLM's reference kernel (the
// tflm-oracle binary, when present); and the variants refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { haveOracle, prng, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int8Bytes, ModelSpec, scalar, table, TensorSpec } from "./tflite-writer";

const f32 = Math.fround;
const q8 = (shape: number[], scale: number, zeroPoint: number, data?: Uint8Array): TensorSpec => ({ shape, type: TensorType.INT8, scale: [f32(scale)], zeroPoint: [zeroPoint], data });
const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function constant(shape: number[], seed: number): TensorSpec {
  const next = prng(seed);
  return q8(shape, 0.03, 4, int8Bytes(Array.from({ length: elements(shape) }, () => next(256) - 128)));
}

interface Case {
  lhs: number[];
  rhs: number[] | "input"; // "input": the model input is both operands
  out: number[];
  adjX?: boolean;
  adjY?: boolean;
  constantLhs?: boolean; // the lhs a constant and the rhs the input
}

// The model input (tensor 0) is one operand, or both; the other a constant.
function batchMatmul(c: Case, type: number = TensorType.INT8): ModelSpec {
  const input: TensorSpec = { ...q8(c.constantLhs ? (c.rhs as number[]) : c.lhs, 0.02, -5), type };
  const other = c.constantLhs ? constant(c.lhs, 11) : c.rhs === "input" ? null : constant(c.rhs, 12);
  const tensors = [input, ...(other ? [other] : []), { ...q8(c.out, 0.05, 3), type }];
  const inputs = other ? (c.constantLhs ? [1, 0] : [0, 1]) : [0, 0];
  const out = tensors.length - 1;
  return {
    tensors,
    ops: [{ builtin: Builtin.BATCH_MATMUL, version: 2, inputs, outputs: [out], options: table(scalar("u8", c.adjX ? 1 : 0), scalar("u8", c.adjY ? 1 : 0), scalar("u8", 0)) }],
    inputs: [0],
    outputs: [out],
  };
}

function assertMatchesTflm(c: Case, label: string): void {
  const model = buildTflite(batchMatmul(c), { optionsTypes: true });
  const m = loadSync(model);
  const next = prng(99);
  const inputs = Int8Array.from({ length: 3 * m.inputBytes }, () => next(256) - 128);
  const expected = runOracle(model, new Uint8Array(inputs.buffer));
  assert.ok(expected, `${label}: TFLM refused the model`);
  for (let r = 0; r < 3; r++) {
    const y = m.invoke(inputs.subarray(r * m.inputBytes, (r + 1) * m.inputBytes));
    assert.deepEqual(Array.from(new Uint8Array(y.buffer, y.byteOffset, y.length)), Array.from(expected.subarray(r * m.outputBytes, (r + 1) * m.outputBytes)), `${label}, row ${r}`);
  }
}

test("BATCH_MATMUL with adj_x / adj_y, broadcast batches, ranks 2 to 5 and constant operands matches TFLM", { skip: haveOracle ? false : "tflm-oracle is not present" }, () => {
  assertMatchesTflm({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4] }, "x @ x");
  assertMatchesTflm({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4], adjX: true }, "x^T @ x");
  assertMatchesTflm({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4], adjY: true }, "x @ x^T");
  assertMatchesTflm({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4], adjX: true, adjY: true }, "x^T @ x^T");
  assertMatchesTflm({ lhs: [3, 5], rhs: [5, 7], out: [3, 7] }, "rank 2, constant rhs");
  assertMatchesTflm({ lhs: [2, 3, 4, 5], rhs: [1, 5, 6], out: [2, 3, 4, 6] }, "rank 4 lhs, rank 3 rhs broadcast over both batches");
  assertMatchesTflm({ lhs: [2, 1, 4, 5], rhs: [3, 6, 5], out: [2, 3, 4, 6], adjY: true }, "batches broadcast both ways, adj_y");
  assertMatchesTflm({ lhs: [2, 1, 2, 3, 4], rhs: [1, 2, 1, 4, 3], out: [2, 2, 2, 3, 3] }, "rank 5");
  assertMatchesTflm({ lhs: [4, 3], rhs: [2, 4, 5], out: [2, 3, 5], adjX: true, constantLhs: true }, "constant lhs, adj_x, broadcast");
});

test("BATCH_MATMUL reads transposed operands in place: no buffer beyond its tensors", () => {
  const m = loadSync(buildTflite(batchMatmul({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4], adjX: true, adjY: true }), { optionsTypes: true }));
  assert.equal(m.info.arenaBytes, 2 * 32);
});

test("BATCH_MATMUL refusals", () => {
  const rejects = (spec: ModelSpec, code: string, pattern: RegExp) => throwsCoded(() => convertTflite(buildTflite(spec, { optionsTypes: true })), code, pattern);
  rejects(batchMatmul({ lhs: [2, 3, 4], rhs: [3, 4, 5], out: [2, 3, 5] }), "BAD_MODEL", /^operator 0 \(BATCH_MATMUL\): batch dimensions of \[2,3,4\] and \[3,4,5\] do not broadcast/);
  rejects(batchMatmul({ lhs: [3, 4], rhs: [5, 6], out: [3, 6] }), "BAD_MODEL", /lhs depth 4 differs from rhs depth 5/);
  rejects(batchMatmul({ lhs: [3, 4], rhs: [4, 6], out: [3, 5] }), "BAD_MODEL", /output shape \[3,5\] is not \[3,6\]/);
  rejects(batchMatmul({ lhs: [4], rhs: [4, 6], out: [6] }), "UNSUPPORTED_OP", /lhs has rank 1; TFLM's BATCH_MATMUL takes ranks 2 to 5/);
  rejects(batchMatmul({ lhs: [1, 1, 1, 1, 2, 3], rhs: [3, 2], out: [1, 1, 1, 1, 2, 2] }), "UNSUPPORTED_OP", /lhs has rank 6/);
  // int16: TFLM runs it (zero points 0, int64 sums); Wisp runs int8 only.
  rejects(batchMatmul({ lhs: [2, 4, 4], rhs: "input", out: [2, 4, 4] }, TensorType.INT16), "UNSUPPORTED_TYPE", /^operator 0 \(BATCH_MATMUL\): int16 BATCH_MATMUL is not supported by Wisp/);
  // Mixed types: TFLM refuses them.
  const mixed = batchMatmul({ lhs: [3, 4], rhs: [4, 6], out: [3, 6] });
  mixed.tensors[2] = { ...mixed.tensors[2], type: TensorType.INT16, zeroPoint: [0] };
  rejects(mixed, "UNSUPPORTED_TYPE", /needs both inputs and the output of one type/);
  if (haveOracle) assert.equal(runOracle(buildTflite(mixed, { optionsTypes: true }), new Uint8Array(12)), null, "TFLM ran a mixed-type BATCH_MATMUL");
});
