// The LUT op (assembly/ops/lut.ts, host/convert/ops/lut.ts): int8 ABS,
// RSQRT and ELU and float islands (DEQUANTIZE, float32 elementwise ops,
// QUANTIZE) as 256-byte tables, byte-exact against TFLM's reference kernels
// on every input byte for variants the zoo2 models lack; refusals that mirror
// TFLM's (checked against TFLM itself when the oracle is present) and Wisp's
// own limits. The activations that became tables are in ops-activations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { haveOracle, runOracle, throwsCoded } from "./helpers";
import { buildTflite, ModelSpec, scalar, table, TensorSpec } from "./tflite-writer";
import { REGISTERED } from "../host/convert/ops";
import { crc32 } from "../host/crc32";
import * as F from "../assembly/format";

const f32 = Math.fround;
const needsOracle = haveOracle ? {} : { skip: "tflm-oracle is not present" };

const q = (type: number, scale: number, zeroPoint: number, shape = [1, 256]): TensorSpec => ({ shape, type, scale: [f32(scale)], zeroPoint: [zeroPoint] });
const int8 = (scale: number, zeroPoint: number, shape?: number[]) => q(TensorType.INT8, scale, zeroPoint, shape);
const int16 = (scale: number, shape?: number[]) => q(TensorType.INT16, scale, 0, shape);
const float = (shape = [1, 256]): TensorSpec => ({ shape, type: TensorType.FLOAT32 });

function unary(builtin: number, version: number, input: TensorSpec, output: TensorSpec): Uint8Array {
  return buildTflite({ tensors: [input, output], ops: [{ builtin, version, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] });
}

// DEQUANTIZE, the float ops one after another, QUANTIZE.
function island(input: TensorSpec, floatOps: number[], output: TensorSpec): Uint8Array {
  const n = floatOps.length;
  const spec: ModelSpec = {
    tensors: [input, ...floatOps.map(() => float(input.shape)), float(input.shape), output],
    ops: [
      { builtin: Builtin.DEQUANTIZE, version: 2, inputs: [0], outputs: [1] },
      ...floatOps.map((b, k) => ({ builtin: b, inputs: [1 + k], outputs: [2 + k] })),
      { builtin: Builtin.QUANTIZE, inputs: [1 + n], outputs: [2 + n] },
    ],
    inputs: [0],
    outputs: [2 + n],
  };
  return buildTflite(spec);
}

// Every input byte, in order (a uint8 input from 0, an int8 one from -128).
function everyByte(unsigned = false): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => (unsigned ? i : i ^ 0x80));
}

function assertMatchesTflm(model: Uint8Array, label: string, unsigned = false): void {
  const inputs = everyByte(unsigned);
  const expected = runOracle(model, inputs);
  assert.ok(expected, `${label}: TFLM refused the model`);
  const m = loadSync(model);
  const y = unsigned ? m.invoke(inputs) : m.invoke(new Int8Array(inputs.buffer));
  assert.deepEqual(Array.from(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)), Array.from(expected), label);
  // One LUT record: the table is all the module runs.
  assert.deepEqual(m.info.ops.map((o) => o.op).length, 1, `${label}: one record`);
}

test("ABS with and without rescaling matches TFLM on every input byte", needsOracle, () => {
  for (const [input, output] of [[[0.02, -3], [0.01, -128]], [[0.05, 100], [0.05, -20]], [[0.003, 0], [0.4, 7]], [[0.5, -128], [0.001, -128]]]) {
    assertMatchesTflm(unary(Builtin.ABS, 2, int8(input[0], input[1]), int8(output[0], output[1])), `ABS ${input} -> ${output}`);
  }
});

test("RSQRT at small to large scales matches TFLM on every input byte", needsOracle, () => {
  for (const [inScale, output] of [[0.0157, [0.0078, -128]], [0.001, [0.5, -128]], [1.5, [0.002, 10]], [0.1, [0.03, -100]]] as [number, number[]][]) {
    assertMatchesTflm(unary(Builtin.RSQRT, 2, int8(inScale, -128), int8(output[0], output[1])), `RSQRT ${inScale} -> ${output}`);
  }
});

test("int8 ELU (TFLM's float32 lookup table) matches TFLM on every input byte", needsOracle, () => {
  for (const [input, output] of [[[0.02, -1], [0.015, -67]], [[0.1, 50], [0.05, 0]], [[0.004, -128], [0.001, 127]]]) {
    assertMatchesTflm(unary(Builtin.ELU, 1, int8(input[0], input[1]), int8(output[0], output[1])), `ELU ${input} -> ${output}`);
  }
});

test("float islands of each float op, of several ops and from uint8 match TFLM on every input byte", needsOracle, () => {
  const ops = [Builtin.NEG, Builtin.ABS, Builtin.ELU, Builtin.SQUARE, Builtin.SQRT, Builtin.RSQRT, Builtin.RELU, Builtin.RELU6];
  for (const b of ops) {
    for (const [input, output] of [[[0.0235, -1], [0.0155, -67]], [[0.2, 30], [0.001, 5]]]) {
      assertMatchesTflm(island(int8(input[0], input[1]), [b], int8(output[0], output[1])), `DEQUANTIZE ${b} QUANTIZE ${input} -> ${output}`);
    }
  }
  assertMatchesTflm(island(int8(0.03, 4), [Builtin.NEG, Builtin.ELU, Builtin.SQUARE], int8(0.01, -128)), "NEG ELU SQUARE");
  assertMatchesTflm(island(int8(0.05, 0), [], int8(0.02, 9)), "DEQUANTIZE QUANTIZE");
  assertMatchesTflm(island(q(TensorType.UINT8, 0.01, 128), [Builtin.ELU], int8(0.01, 0)), "uint8 DEQUANTIZE ELU QUANTIZE", true);
});

test("a chain of LUT records runs in place: one buffer", () => {
  const m = loadSync(buildTflite({
    tensors: [int8(0.05, 0), int8(0.05, -128), float(), float(), int8(0.02, 0)],
    ops: [
      { builtin: Builtin.ABS, version: 2, inputs: [0], outputs: [1] },
      { builtin: Builtin.DEQUANTIZE, version: 2, inputs: [1], outputs: [2] },
      { builtin: Builtin.NEG, inputs: [2], outputs: [3] },
      { builtin: Builtin.QUANTIZE, inputs: [3], outputs: [4] },
    ],
    inputs: [0],
    outputs: [4],
  }));
  assert.equal(m.info.arenaBytes, 256);
  assert.deepEqual(m.info.ops.map((o) => o.op), ["ABS", "DEQUANTIZE_NEG_QUANTIZE"]);
  // |x| then -|x|: every output at or below the output zero point.
  assert.ok(Array.from(m.invoke(new Int8Array(everyByte()))).every((v) => v <= 0));
});

// Refusals TFLM makes too, each with its input bytes for the oracle.
const tflmRefusals: [string, () => Uint8Array, number, string, RegExp][] = [
  ["int8 NEG (TFLM's NEG runs float32 only)", () => unary(Builtin.NEG, 1, int8(0.02, 0), int8(0.02, 0)), 256, "UNSUPPORTED_TYPE", /^operator 0 \(NEG\): INT8 NEG is refused by TFLM too/],
  ["int16 RSQRT", () => unary(Builtin.RSQRT, 3, int16(0.001), int16(0.001)), 512, "UNSUPPORTED_TYPE", /^operator 0 \(RSQRT\): int16 RSQRT is refused by TFLM too/],
  ["int16 ELU", () => unary(Builtin.ELU, 1, int16(0.001), int16(0.001)), 512, "UNSUPPORTED_TYPE", /^operator 0 \(ELU\): int16 ELU is refused by TFLM too/],
  // TFLM accepts the model and fails the invoke on the inputs below the zero point.
  ["RSQRT whose input zero point admits negative inputs", () => unary(Builtin.RSQRT, 2, int8(0.01, -100), int8(0.01, -128)), 256, "UNSUPPORTED_TYPE", /^operator 0 \(RSQRT\): input zero point -100 admits inputs below it, on which TFLM fails the invoke/],
  ["a float island closed to uint8", () => island(int8(0.02, 0), [Builtin.NEG], q(TensorType.UINT8, 0.02, 128)), 256, "UNSUPPORTED_TYPE", /^operator 0 \(DEQUANTIZE\): the float island's QUANTIZE \(operator 2\) writes UINT8.*TFLM refuses float32 to uint8/],
];

for (const [name, build, inputBytes, code, pattern] of tflmRefusals) {
  test(`refused like TFLM: ${name}`, () => {
    const model = build();
    throwsCoded(() => convertTflite(model), code, pattern);
    if (haveOracle) assert.equal(runOracle(model, Uint8Array.from({ length: inputBytes }, (_, i) => i)), null, "TFLM accepted the model");
  });
}

test("Wisp's own limits: int16 ABS, float islands from int16, to int16, to a float output, or that branch", () => {
  throwsCoded(() => convertTflite(unary(Builtin.ABS, 3, int16(0.001), int16(0.002))), "UNSUPPORTED_TYPE", /^operator 0 \(ABS\): int16 ABS is not supported by Wisp/);
  throwsCoded(() => convertTflite(island(int16(0.001), [Builtin.NEG], int8(0.01, 0))), "UNSUPPORTED_TYPE", /^operator 0 \(DEQUANTIZE\): DEQUANTIZE from INT16: Wisp runs float islands only from int8 or uint8/);
  throwsCoded(() => convertTflite(island(int8(0.01, 0), [Builtin.NEG], int16(0.001))), "UNSUPPORTED_TYPE", /writes INT16; Wisp closes float islands to int8 only/);
  // DEQUANTIZE, NEG to a float32 model output: the host dequantizes only a last DEQUANTIZE.
  throwsCoded(() => convertTflite(buildTflite({
    tensors: [int8(0.01, 0), float(), float()],
    ops: [{ builtin: Builtin.DEQUANTIZE, version: 2, inputs: [0], outputs: [1] }, { builtin: Builtin.NEG, inputs: [1], outputs: [2] }],
    inputs: [0],
    outputs: [2],
  })), "UNSUPPORTED_OP", /^operator 0 \(DEQUANTIZE\): NEG output "t2" is a float32 model output: DEQUANTIZE is only supported as the last op/);
  // One float value read by two ops (a float MUL of x and -x).
  throwsCoded(() => convertTflite(buildTflite({
    tensors: [int8(0.01, 0), float(), float(), float(), int8(0.01, 0)],
    ops: [
      { builtin: Builtin.DEQUANTIZE, version: 2, inputs: [0], outputs: [1] },
      { builtin: Builtin.NEG, inputs: [1], outputs: [2] },
      { builtin: Builtin.MUL, inputs: [1, 2], outputs: [3] },
      { builtin: Builtin.QUANTIZE, inputs: [3], outputs: [4] },
    ],
    inputs: [0],
    outputs: [4],
  })), "UNSUPPORTED_OP", /^operator 0 \(DEQUANTIZE\): DEQUANTIZE output "t1" is read by 2 ops/);
  // A malformed graph whose float op writes the tensor it reads.
  throwsCoded(() => convertTflite(buildTflite({
    tensors: [int8(0.01, 0), float(), int8(0.01, 0)],
    ops: [{ builtin: Builtin.DEQUANTIZE, version: 2, inputs: [0], outputs: [1] }, { builtin: Builtin.NEG, inputs: [1], outputs: [1] }],
    inputs: [0],
    outputs: [2],
  })), "BAD_MODEL", /the float island from DEQUANTIZE runs in a cycle at operator 1/);
});

test("a LUT record without its 256-byte table, or with arguments, is refused at load", () => {
  const wisp = convertTflite(unary(Builtin.ABS, 2, int8(0.02, 0), int8(0.01, -128))).wisp;
  const x = new Int8Array(everyByte());
  const expected = loadSync(wisp).invoke(x);
  // The record: [opcode, words, T = 2, 2 x (offset, bytes), W = 1, (offset, bytes)].
  const record = new DataView(wisp.buffer, wisp.byteOffset).getUint32(F.HEADER_BYTES + 8, true) + 4 * F.GRAPH_HEADER_WORDS;
  const edit = (word: number, value: number) => {
    const out = wisp.slice();
    const v = new DataView(out.buffer);
    assert.equal(v.getInt32(record, true), REGISTERED.ABS.opcode);
    v.setInt32(record + 4 * word, value, true);
    v.setUint32(12, crc32(out.subarray(F.HEADER_BYTES)), true);
    return out;
  };
  assert.deepEqual(loadSync(edit(9, 256)).invoke(x), expected);
  throwsCoded(() => loadSync(edit(9, 128)), "BAD_WISP", /^op 0: LUT table or sizes invalid \(128\)/);
  // No block: the two block words become two arguments.
  throwsCoded(() => loadSync(edit(7, 0)), "BAD_WISP", /^op 0: LUT record invalid \(2\)/);
});

test("ops holding the same table, or reading the same constant tensor, share one block of the weights", () => {
  // Two RELU6 of one quantization: one table.
  const relu6 = loadSync(buildTflite({
    tensors: [int8(0.05, -20), int8(0.05, -20), int8(0.05, -20)],
    ops: [{ builtin: Builtin.RELU6, version: 2, inputs: [0], outputs: [1] }, { builtin: Builtin.RELU6, version: 2, inputs: [1], outputs: [2] }],
    inputs: [0],
    outputs: [2],
  }));
  assert.deepEqual(relu6.info.ops.map((o) => o.weightsBytes), [256, 0]);
  assert.equal(relu6.info.weightsBytes, 256);
  const x = new Int8Array(everyByte());
  const once = Array.from(x, (v) => Math.min(Math.max(v, -20), Math.min(127, -20 + Math.round(6 / f32(0.05)))));
  assert.deepEqual(Array.from(relu6.invoke(x)), once);
  // Two FULLY_CONNECTED reading one weights tensor (an unrolled recurrence does): the filter is stored once.
  const weights = { shape: [8, 8], type: TensorType.INT8, scale: [f32(0.01)], zeroPoint: [0], data: new Uint8Array(64).map((_, i) => (i * 29) % 256) };
  const dense = (from: number, to: number) => ({ builtin: Builtin.FULLY_CONNECTED, version: 1, inputs: [from, 1], outputs: [to], options: table(scalar("i8", 0)) });
  const fc = convertTflite(buildTflite({ tensors: [int8(0.05, 0, [1, 8]), weights, int8(0.05, 0, [1, 8]), int8(0.05, 0, [1, 8])], ops: [dense(0, 2), dense(2, 3)], inputs: [0], outputs: [3] }));
  assert.deepEqual(fc.info.ops.map((o) => o.weightsBytes), [64 + 8 * 12, 8 * 12]);
});
