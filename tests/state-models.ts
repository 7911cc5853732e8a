// Models for the state tests (tests/state.test.ts) and the record fuzzer
// (tests/fuzz-ops.test.ts), built with our own TFLite writer.
import { Builtin, TensorType } from "../host/convert/tflite";
import { int32Bytes, int8Bytes, scalar, string, table, TensorSpec } from "./tflite-writer";
import { prng } from "./helpers";

export const q = (shape: number[], scale: number, zeroPoint: number, type: number = TensorType.INT8): TensorSpec => ({ shape, type, scale: [scale], zeroPoint: [zeroPoint] });
const resource: TensorSpec = { shape: [], type: TensorType.RESOURCE };
const i32 = (values: number[]): TensorSpec => ({ shape: [values.length], type: TensorType.INT32, data: int32Bytes(values) });
const handle = (name: string, output: number) => ({ builtin: Builtin.VAR_HANDLE, inputs: [], outputs: [output], options: table(string(""), string(name)) });
const add = (a: number, b: number, out: number) => ({ builtin: Builtin.ADD, inputs: [a, b], outputs: [out], options: table(scalar("i8", 0)) });

// A streaming model with two variables: `buf`, a ring of the last 8 input
// values (READ, CONCATENATION with the new 4, STRIDED_SLICE of the newest 8,
// ASSIGN), and `acc`, which adds each new ring to itself. The output adds
// the accumulator to the ring as it was before this invoke, so the READ of
// `buf` must be a copy (it is read after `buf` is assigned), while the READ
// of `acc` may share the variable. The init graph starts both at values
// other than their zero point, so its running shows in every output.
export function statefulSpec(initBuf = [10, -20, 30, -40, 50, -60, 70, -80], initAcc = [5, 6, 7, 8, -9, -10, -11, -12]) {
  const x = q([1, 4], 0.02, -5);
  return {
    tensors: [
      x, resource, resource, q([1, 8], 0.02, -5), q([1, 12], 0.02, -5), i32([0, 4]), i32([1, 12]), i32([1, 1]),
      q([1, 8], 0.02, -5), q([1, 8], 0.08, 3), q([1, 8], 0.08, 3), q([1, 8], 0.1, 0),
    ],
    ops: [
      { builtin: Builtin.CALL_ONCE, inputs: [], outputs: [], options: table(scalar("i32", 1)) },
      handle("buf", 1),
      handle("acc", 2),
      { builtin: Builtin.READ_VARIABLE, inputs: [1], outputs: [3] },
      { builtin: Builtin.CONCATENATION, inputs: [3, 0], outputs: [4], options: table(scalar("i32", 1), scalar("i8", 0)) },
      { builtin: Builtin.STRIDED_SLICE, version: 2, inputs: [4, 5, 6, 7], outputs: [8], options: table(scalar("i32", 0), scalar("i32", 0), scalar("i32", 0), scalar("i32", 0), scalar("i32", 0)) },
      { builtin: Builtin.ASSIGN_VARIABLE, inputs: [1, 8], outputs: [] },
      { builtin: Builtin.READ_VARIABLE, inputs: [2], outputs: [9] },
      add(9, 8, 10),
      { builtin: Builtin.ASSIGN_VARIABLE, inputs: [2, 10], outputs: [] },
      add(10, 3, 11),
    ],
    inputs: [0],
    outputs: [11],
    graphs: [{
      tensors: [resource, resource, { ...q([1, 8], 0.02, -5), data: int8Bytes(initBuf) }, { ...q([1, 8], 0.08, 3), data: int8Bytes(initAcc) }],
      ops: [handle("buf", 0), handle("acc", 1), { builtin: Builtin.ASSIGN_VARIABLE, inputs: [0, 2], outputs: [] }, { builtin: Builtin.ASSIGN_VARIABLE, inputs: [1, 3], outputs: [] }],
      inputs: [],
      outputs: [],
    }],
  };
}

// uint8 at the edges: QUANTIZE uint8 -> int8 first, a FULLY_CONNECTED, and
// QUANTIZE int8 -> uint8 last (as OpenMV and older exports do); and uint8 in
// the middle (int8 -> uint8 -> int8).
export function uint8Spec() {
  const next = prng(3);
  const weights = Int8Array.from({ length: 6 * 16 }, () => next(255) - 127);
  const bias = Array.from({ length: 6 }, () => next(2001) - 1000);
  return {
    tensors: [
      q([1, 16], 0.0157, 128, TensorType.UINT8), q([1, 16], 0.0157, 0), { shape: [6, 16], type: TensorType.INT8, data: new Uint8Array(weights.buffer), scale: [0.004], zeroPoint: [0] },
      { shape: [6], type: TensorType.INT32, data: int32Bytes(bias), scale: [0.0157 * 0.004], zeroPoint: [0] }, q([1, 6], 0.05, -10),
      q([1, 6], 0.07, 140, TensorType.UINT8), q([1, 6], 0.03, 5), q([1, 6], 0.04, 100, TensorType.UINT8),
    ],
    ops: [
      { builtin: Builtin.QUANTIZE, inputs: [0], outputs: [1] },
      { builtin: Builtin.FULLY_CONNECTED, inputs: [1, 2, 3], outputs: [4], options: table(scalar("i8", 0)) },
      { builtin: Builtin.QUANTIZE, inputs: [4], outputs: [5] },
      { builtin: Builtin.QUANTIZE, inputs: [5], outputs: [6] },
      { builtin: Builtin.QUANTIZE, inputs: [6], outputs: [7] },
    ],
    inputs: [0],
    outputs: [7],
  };
}

