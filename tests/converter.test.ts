// The converter refuses what it cannot run exactly, with an error that names
// the op and its operator index. Each case patches one field of a real model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { FlatBuffer, Table } from "../host/convert/flatbuffer";
import { modelsDir, readModel, throwsCoded } from "./helpers";
import { findKernelZooDir } from "../host/node/models";

function zooModel(name: string): Uint8Array {
  return readModel(join(findKernelZooDir()!, name));
}

// Parsed handles into a copy of the model, to patch in place.
function open(bytes: Uint8Array) {
  const copy = bytes.slice();
  const fb = new FlatBuffer(copy);
  const model = fb.root();
  const graph = model.tables(2)[0];
  return { bytes: copy, view: fb.view, codes: model.tables(1), tensors: graph.tables(0), ops: graph.tables(3), graph };
}

function fieldAt(t: Table, id: number): number {
  const p = t.field(id);
  assert.ok(p > 0, `field ${id} is absent in this model`);
  return p;
}

function assertRejects(bytes: Uint8Array, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(bytes), code, pattern);
}

test("an unsupported op is named with its operator index", () => {
  const m = open(zooModel("conv1x1_s1_3to5"));
  m.view.setInt8(fieldAt(m.codes[0], 0), 15); // deprecated_builtin_code
  if (m.codes[0].field(3)) m.view.setInt32(m.codes[0].field(3), 15, true); // builtin_code: LSH_PROJECTION, which TFLM lacks too
  assertRejects(m.bytes, "UNSUPPORTED_OP", /^operator 0 \(LSH_PROJECTION\): this op is not supported/);
});

test("a newer op version is refused", () => {
  const m = open(zooModel("fc_64to1"));
  m.view.setInt32(fieldAt(m.codes[0], 2), 99, true);
  assertRejects(m.bytes, "UNSUPPORTED_OP", /^operator 0 \(FULLY_CONNECTED\): op version 99 is not supported/);
});

test("an int16 activation is refused", () => {
  const m = open(zooModel("conv3x3_s2_valid_odd"));
  const input = m.ops[0].i32s(1)[0];
  m.view.setUint8(fieldAt(m.tensors[input], 1), 7); // INT16
  assertRejects(m.bytes, "UNSUPPORTED_TYPE", /^operator 0 \(CONV_2D\): input tensor .* is INT16; Wisp runs int8/);
});

test("a dynamic dimension is refused, a dynamic batch is not", () => {
  const m = open(readModel(join(modelsDir(), "kws")));
  const input = m.graph.i32s(1)[0];
  const signature = m.tensors[input].vector(7, 4);
  assert.equal(m.view.getInt32(signature.start, true), -1, "kws marks its batch dynamic");
  assert.doesNotThrow(() => convertTflite(m.bytes));
  m.view.setInt32(signature.start + 4, -1, true); // height
  assertRejects(m.bytes, "DYNAMIC_SHAPE", /^operator 0 \(CONV_2D\): input tensor "input_1" has a dynamic shape/);
});

test("an asymmetric filter is refused", () => {
  const m = open(zooModel("conv1x1_s1_3to5"));
  const filter = m.ops[0].i32s(1)[1];
  const q = m.tensors[filter].table(4)!;
  const zp = q.vector(3, 8);
  assert.ok(zp.length > 0);
  m.view.setBigInt64(zp.start, 3n, true);
  assertRejects(m.bytes, "UNSUPPORTED_TYPE", /^operator 0 \(CONV_2D\): filter .* non-zero zero point/);
});

test("an unknown padding mode, a zero stride and an unsupported activation are refused", () => {
  const valid = open(zooModel("conv3x3_s2_valid_odd"));
  valid.view.setInt8(fieldAt(valid.ops[0].table(4)!, 0), 7);
  assertRejects(valid.bytes, "UNSUPPORTED_OP", /^operator 0 \(CONV_2D\): padding mode 7 is not supported/);

  const stride = open(zooModel("conv3x3_s2_valid_odd"));
  stride.view.setInt32(fieldAt(stride.ops[0].table(4)!, 1), 0, true);
  assertRejects(stride.bytes, "BAD_MODEL", /^operator 0 \(CONV_2D\): width stride 0/);

  const act = open(zooModel("conv5x5_s1_valid_relu"));
  act.view.setInt8(fieldAt(act.ops[0].table(4)!, 3), 4); // TANH
  assertRejects(act.bytes, "UNSUPPORTED_OP", /^operator 0 \(CONV_2D\): fused activation 4 is not supported/);
});

test("an output shape the op cannot produce is refused", () => {
  const m = open(zooModel("conv3x3_s2_valid_odd"));
  const output = m.ops[0].i32s(2)[0];
  const shape = m.tensors[output].vector(0, 4);
  m.view.setInt32(shape.start + 4, m.view.getInt32(shape.start + 4, true) + 1, true);
  assertRejects(m.bytes, "BAD_MODEL", /^operator 0 \(CONV_2D\): output height is \d+, but the op computes \d+/);
});

test("a float32 model input without a QUANTIZE edge is refused", () => {
  const m = open(zooModel("fc_64to1"));
  const input = m.graph.i32s(1)[0];
  m.view.setUint8(fieldAt(m.tensors[input], 1), 0); // FLOAT32
  assertRejects(m.bytes, "UNSUPPORTED_TYPE", /^operator 0 \(FULLY_CONNECTED\): computes in float32: tensor .* is float32 \(int8 weights with float32 activations.*representative_dataset/);
});

test("a broken flatbuffer is BAD_TFLITE", () => {
  const kws = readModel(join(modelsDir(), "kws"));
  assertRejects(kws.subarray(0, 3000), "BAD_TFLITE", /runs past the end of the file/);
  const wrongId = kws.slice();
  wrongId.set([0x58, 0x58, 0x58, 0x58], 4);
  assertRejects(wrongId, "BAD_TFLITE", /not a \.tflite model/);
});

test("an operator that points at a missing tensor is BAD_TFLITE", () => {
  const m = open(zooModel("fc_64to1"));
  m.view.setInt32(m.ops[0].vector(1, 4).start, 999, true);
  assertRejects(m.bytes, "BAD_TFLITE", /operator 0 refers to tensor 999/);
});
