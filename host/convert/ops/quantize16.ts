// Lowers QUANTIZE from int16 to int8 or int16, and from int8 to int16, to
// records of assembly/ops/quantize16.ts (ACTIVATION's LEAKY_RELU kinds 4-6
// with alpha = identity): TFLM's Requantize with input scale / output scale
// in double (quantize_common.cc). int8 to int8 stays with the built-in QUANTIZE.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import { quantizeMultiplier } from "../quantization";
import { TensorType } from "../tflite";
import { pushRecord } from "./record";
import { int16 } from "./conv16";

export function lower(l: Lowering, builtin: string, opcode: number): void {
  l.arity([1], 1);
  const side = (i: number, role: string): Value => l.tensor(i, role).type === TensorType.INT16 ? int16(l, i, role) : l.activation(i, role);
  const input = side(l.op.inputs[0], "input");
  const output = side(l.op.outputs[0], "output");
  const inWide = input.type === TensorType.INT16 ? 1 : 0, outWide = output.type === TensorType.INT16 ? 1 : 0;
  if (input.bytes >> inWide !== output.bytes >> outWide) l.reject("BAD_MODEL", "output size differs from input size");
  const { multiplier, shift } = quantizeMultiplier(input.quant.scale / output.quant.scale);
  if (shift > 30) l.reject("UNSUPPORTED_TYPE", `input scale / output scale ${input.quant.scale / output.quant.scale} is too large`);
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [inWide ? (outWide ? 4 : 5) : 6, input.quant.zeroPoint, output.quant.zeroPoint, multiplier, shift, multiplier, shift, 0],
    // Element i is read before it is written, and no output element lies past its input's.
    overlap: [inWide >= outWide ? 0 : null],
  });
}
