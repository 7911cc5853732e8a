// Lowers QUANTIZE from int16 to int8 or int16, and from int8 to int16, to
// records of assembly/ops/quantize16.ts (ACTIVATION's LEAKY_RELU kinds 4-6
// with alpha = identity): TFLM's Requantize with input scale / output scale
// in double (quantize_common.cc). Also int8 to uint8 and uint8 to int8 (kinds
// 7 and 8), the pairs with uint8 TFLM runs. int8 to int8 stays with the
// built-in QUANTIZE.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import { quantizeMultiplier } from "../quantization";
import { TensorType, TENSOR_TYPE_NAMES } from "../tflite";
import { pushRecord } from "./record";
import { int16 } from "./conv16";

export function lower(l: Lowering, builtin: string, opcode: number): void {
  l.arity([1], 1);
  const side = (i: number, role: string): Value => l.tensor(i, role).type === TensorType.INT16 ? int16(l, i, role) : l.activation(i, role, [TensorType.INT8, TensorType.UINT8]);
  const input = side(l.op.inputs[0], "input");
  const output = side(l.op.outputs[0], "output");
  const unsigned = [input, output].filter((v) => v.type === TensorType.UINT8).length;
  if (unsigned > 0) {
    // TFLM's QUANTIZE pairs uint8 only with int8: uint8 -> int8, int8 -> uint8.
    if (unsigned === 2 || input.type === TensorType.INT16 || output.type === TensorType.INT16) l.reject("UNSUPPORTED_TYPE", `QUANTIZE from ${TENSOR_TYPE_NAMES[input.type]} to ${TENSOR_TYPE_NAMES[output.type]}: TFLM pairs uint8 only with int8`);
    if (output.bytes !== input.bytes) l.reject("BAD_MODEL", "output size differs from input size");
    const { multiplier, shift } = quantizeMultiplier(input.quant.scale / output.quant.scale);
    if (shift > 30) l.reject("UNSUPPORTED_TYPE", `input scale / output scale ${input.quant.scale / output.quant.scale} is too large`);
    pushRecord(l, opcode, {
      output,
      inputs: [input],
      args: [output.type === TensorType.UINT8 ? 7 : 8, input.quant.zeroPoint, output.quant.zeroPoint, multiplier, shift, multiplier, shift, 0],
      overlap: [0],
    });
    return;
  }
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
