// Lowers QUANTIZE from int16 to int8, int16 or int32, and from int8 to int16,
// to records of assembly/ops/quantize16.ts (ACTIVATION's LEAKY_RELU kinds
// 4-7 with alpha = identity), and between int8 and uint8 to a LUT record
// (host/convert/ops/lut.ts): TFLM's Requantize with input scale / output
// scale in double (quantize_common.cc), any zero points (TFLM checks none).
// int8 to int8 stays with the built-in QUANTIZE.
import type { Lowering } from "../lower";
import { quantizeMultiplier } from "../quantization";
import { multiplyByQuantizedMultiplier } from "../fixedpoint";
import { pushLut } from "./lut";
import { TensorType, TENSOR_TYPE_NAMES } from "../tflite";
import { pushRecord } from "./record";

export function lower(l: Lowering, builtin: string, opcode: number): void {
  l.arity([1], 1);
  const input = l.activation(l.op.inputs[0], "input", [TensorType.INT8, TensorType.INT16, TensorType.UINT8]);
  // int32 only from int16 (TFLM's int8 -> int32 is not run here); uint8 only
  // with int8, both ways, as TFLM pairs them.
  const outputs: number[] = input.type === TensorType.INT16 ? [TensorType.INT8, TensorType.INT16, TensorType.INT32]
    : input.type === TensorType.UINT8 ? [TensorType.INT8] : [TensorType.INT16, TensorType.UINT8];
  const outType = l.tensor(l.op.outputs[0], "output").type;
  if (!outputs.includes(outType)) {
    const why = input.type === TensorType.UINT8 || outType === TensorType.UINT8 ? "TFLM pairs uint8 only with int8" : "not a pair TFLM runs";
    l.reject("UNSUPPORTED_TYPE", `QUANTIZE from ${TENSOR_TYPE_NAMES[input.type]} to ${TENSOR_TYPE_NAMES[outType]}: ${why}`);
  }
  const output = l.activation(l.op.outputs[0], "output", outputs);
  const inWide = input.type === TensorType.INT16 ? 1 : 0, outWide = output.type === TensorType.INT32 ? 2 : output.type === TensorType.INT16 ? 1 : 0;
  if (input.bytes >> inWide !== output.bytes >> outWide) l.reject("BAD_MODEL", "output size differs from input size");
  const { multiplier, shift } = quantizeMultiplier(input.quant.scale / output.quant.scale);
  if (shift > 30) l.reject("UNSUPPORTED_TYPE", `input scale / output scale ${input.quant.scale / output.quant.scale} is too large`);
  if (output.type === TensorType.UINT8 || input.type === TensorType.UINT8) {
    return pushLut(l, input, output, (q) => output.quant.zeroPoint + multiplyByQuantizedMultiplier(q - input.quant.zeroPoint, multiplier, shift));
  }
  const kind = outWide === 2 ? 7 : inWide ? (outWide ? 4 : 5) : 6;
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [kind, input.quant.zeroPoint, output.quant.zeroPoint, multiplier, shift, multiplier, shift, 0],
    // Element i is read before it is written, and no output element lies past its input's.
    overlap: [inWide >= outWide ? 0 : null],
  });
}
