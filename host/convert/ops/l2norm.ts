// Lowers L2_NORMALIZATION (int8, rank <= 4, over the last axis) to an
// L2NORM record (assembly/ops/l2norm.ts). Like TFLM: a fused activation is
// refused, and the output is written in 1/128 units whatever its declared
// quantization (TFLite's converter gives it scale 1/128, zero point 0).
import type { Lowering } from "../lower";
import { pushRecord } from "./record";

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([1], 1);
  const input = l.activation(op.inputs[0], "input");
  const output = l.activation(op.outputs[0], "output");
  if (input.shape.length < 1 || input.shape.length > 4) l.reject("UNSUPPORTED_OP", `rank ${input.shape.length} is not supported (TFLM normalizes up to 4 dimensions)`);
  if (output.shape.length !== input.shape.length || output.shape.some((d, i) => d !== input.shape[i])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} differs from the input's`);
  // L2NormOptions: fused_activation_function 0.
  const activation = op.options ? op.options.i8(0) : 0;
  if (activation !== 0) l.reject("UNSUPPORTED_OP", "a fused activation on L2_NORMALIZATION is not supported (TFLM refuses it)");
  const depth = input.shape[input.shape.length - 1];
  pushRecord(l, opcode, { output, inputs: [input], args: [input.bytes / depth, depth, input.quant.zeroPoint], overlap: [0] });
}
