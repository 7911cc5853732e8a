// MIRROR_PAD (host/convert/ops/copy.ts: COPY records whose segments read the
// input backwards for each pad): REFLECT and SYMMETRIC, on any dimension,
// int32 or int64 paddings, byte-exact against TFLM's reference kernel (the
// tflm-oracle binary, when present); and the variants refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { haveOracle, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int32Bytes, ModelSpec, scalar, table, TensorSpec } from "./tflite-writer";

const REFLECT = 0, SYMMETRIC = 1;

function mirrorPad(shape: number[], paddings: number[][], mode: number, o: { int64?: boolean; type?: number; outShape?: number[] } = {}): ModelSpec {
  const type = o.type ?? TensorType.INT8;
  const flat = paddings.flat();
  const data = o.int64 ? new Uint8Array(BigInt64Array.from(flat.map(BigInt)).buffer) : int32Bytes(flat);
  const outShape = o.outShape ?? shape.map((n, d) => n + paddings[d][0] + paddings[d][1]);
  const q = (s: number[]): TensorSpec => ({ shape: s, type, scale: [0.02], zeroPoint: [type === TensorType.INT8 ? -3 : 0] });
  return {
    tensors: [q(shape), { shape: [shape.length, 2], type: o.int64 ? TensorType.INT64 : TensorType.INT32, data }, q(outShape)],
    ops: [{ builtin: Builtin.MIRROR_PAD, version: 2, inputs: [0, 1], outputs: [2], options: table(scalar("i8", mode)) }],
    inputs: [0],
    outputs: [2],
  };
}

// Each input element distinct where it can be, so a misplaced byte shows.
function assertMatchesTflm(spec: ModelSpec, label: string): void {
  const model = buildTflite(spec, { optionsTypes: true });
  const m = loadSync(model);
  const inputs = new Int8Array(2 * m.inputBytes).map((_, i) => ((i * 37) % 256) - 128);
  const expected = runOracle(model, new Uint8Array(inputs.buffer));
  assert.ok(expected, `${label}: TFLM refused the model`);
  for (let r = 0; r < 2; r++) {
    const y = m.invoke(inputs.subarray(r * m.inputBytes, (r + 1) * m.inputBytes));
    assert.deepEqual(Array.from(new Uint8Array(y.buffer, y.byteOffset, y.length)), Array.from(expected.subarray(r * m.outputBytes, (r + 1) * m.outputBytes)), `${label}, row ${r}`);
  }
}

test("MIRROR_PAD REFLECT and SYMMETRIC on every kind of dimension match TFLM", { skip: haveOracle ? false : "tflm-oracle is not present" }, () => {
  assertMatchesTflm(mirrorPad([1, 6, 6, 3], [[0, 0], [2, 1], [0, 3], [0, 0]], SYMMETRIC), "SYMMETRIC, uneven height and width pads");
  assertMatchesTflm(mirrorPad([1, 6, 6, 3], [[0, 0], [1, 1], [1, 1], [0, 0]], REFLECT), "REFLECT by 1");
  assertMatchesTflm(mirrorPad([2, 5, 4], [[1, 0], [2, 2], [3, 1]], REFLECT), "REFLECT on batch, rows and the innermost dimension");
  assertMatchesTflm(mirrorPad([1, 3, 3, 2], [[0, 0], [3, 3], [1, 2], [2, 0]], SYMMETRIC), "SYMMETRIC pads as large as the dimension");
  assertMatchesTflm(mirrorPad([4, 5], [[3, 3], [4, 4]], REFLECT), "REFLECT pads of size - 1, rank 2");
  assertMatchesTflm(mirrorPad([3, 2, 2, 2], [[1, 1], [0, 1], [1, 0], [0, 0]], REFLECT, { int64: true }), "int64 paddings");
  assertMatchesTflm(mirrorPad([7], [[2, 5]], SYMMETRIC), "rank 1");
});

test("MIRROR_PAD needs no buffer of its own beyond input and output", () => {
  const m = loadSync(buildTflite(mirrorPad([1, 6, 6, 3], [[0, 0], [1, 1], [1, 1], [0, 0]], REFLECT), { optionsTypes: true }));
  assert.equal(m.info.arenaBytes, 6 * 6 * 3 + 8 * 8 * 3);
});

test("MIRROR_PAD refusals", () => {
  const rejects = (spec: ModelSpec, code: string, pattern: RegExp) => throwsCoded(() => convertTflite(buildTflite(spec, { optionsTypes: true })), code, pattern);
  // TF's MirrorPad allows at most size - 1 (REFLECT) or size (SYMMETRIC); TFLM does not check and reads outside the input.
  rejects(mirrorPad([1, 4, 4, 1], [[0, 0], [4, 0], [0, 0], [0, 0]], REFLECT), "BAD_MODEL", /^operator 0 \(MIRROR_PAD\): paddings 4, 0 of dimension 1 \(size 4\) exceed what REFLECT mode allows \(at most 3\)/);
  rejects(mirrorPad([1, 4, 4, 1], [[0, 0], [0, 0], [0, 5], [0, 0]], SYMMETRIC), "BAD_MODEL", /exceed what SYMMETRIC mode allows \(at most 4\)/);
  rejects(mirrorPad([1, 4, 4, 1], [[0, 0], [-1, 0], [0, 0], [0, 0]], REFLECT, { outShape: [1, 3, 4, 1] }), "BAD_MODEL", /paddings -1, 0 of dimension 1/);
  rejects(mirrorPad([1, 4, 4, 1], [[0, 0], [1, 1], [0, 0], [0, 0]], REFLECT, { outShape: [1, 6, 5, 1] }), "BAD_MODEL", /output shape \[1,6,5,1\] does not match the paddings/);
  rejects({ ...mirrorPad([1, 4, 4, 1], [[0, 0], [1, 1]], REFLECT, { outShape: [1, 6, 4, 1] }) }, "BAD_MODEL", /paddings hold 4 values for rank 4/);
  // int16: TFLM's kernel runs float32 and int8 only (its Eval fails).
  const int16 = mirrorPad([1, 4, 4, 1], [[0, 0], [1, 1], [1, 1], [0, 0]], REFLECT, { type: TensorType.INT16 });
  rejects(int16, "UNSUPPORTED_TYPE", /^operator 0 \(MIRROR_PAD\): int16 MIRROR_PAD is refused by TFLM too/);
  if (haveOracle) assert.equal(runOracle(buildTflite(int16, { optionsTypes: true }), new Uint8Array(32)), null, "TFLM ran int16 MIRROR_PAD");
});
