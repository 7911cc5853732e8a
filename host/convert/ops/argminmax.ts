// Lowers ARG_MAX and ARG_MIN (int8 input, int32 output, one constant int32
// axis) to ARG_MIN_MAX records (assembly/ops/argminmax.ts). TFLM refuses an
// int64 output or axis; so does Wisp.
import type { Lowering } from "../lower";
import { TensorType } from "../tflite";
import { normalizeAxis, pushRecord } from "./record";

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([2], 1);
  const input = l.activation(op.inputs[0], "input");
  const axisTensor = l.tensor(op.inputs[1], "axis");
  if (axisTensor.type !== TensorType.INT32) l.reject("UNSUPPORTED_TYPE", "the axis must be int32 (TFLM refuses other types)");
  const axes = l.int32s(op.inputs[1], "axis");
  if (axes.length < 1) l.reject("BAD_MODEL", "the axis tensor is empty");
  const output = l.activation(op.outputs[0], "output", [TensorType.INT32]);
  const rank = input.shape.length;
  // TFLM reads the first value only.
  const axis = normalizeAxis(l, axes[0], rank);
  const outer = input.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = input.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const expected = input.shape.filter((_, d) => d !== axis);
  if (output.shape.length !== expected.length || output.shape.some((d, i) => d !== expected[i])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match ${JSON.stringify(expected)}`);
  pushRecord(l, opcode, { output, inputs: [input], args: [builtin === "ARG_MAX" ? 1 : 0, outer, input.shape[axis], inner] });
}
