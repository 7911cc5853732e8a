// Lowers int8 LOG_SOFTMAX to a LOG_SOFTMAX record (assembly/ops/log_softmax.ts)
// with TFLM's Prepare arithmetic (log_softmax.cc, PreprocessLogSoftmaxScalingExp):
// beta 1, input differences in Q5.26, the reverse scaling divisor for the
// cut-off, diff min from CalculateInputRadius. TFLM requires the output
// quantized on 16/256 with zero point 127 and refuses anything else.
import type { Lowering } from "../lower";
import { quantizeMultiplier } from "../quantization";
import { pushRecord } from "./record";

const SCALED_DIFF_INTEGER_BITS = 5;

export function logSoftmaxParams(l: Lowering, inputScale: number) {
  const real = Math.min(inputScale * 2 ** (31 - SCALED_DIFF_INTEGER_BITS), 2 ** 31 - 1);
  // QuantizeMultiplierGreaterThanOne: TFLM aborts unless the multiplier exceeds 1.
  if (!(real > 1)) l.reject("UNSUPPORTED_TYPE", `input scale ${inputScale} is too small (TFLM needs scale * 2^26 above 1)`);
  const input = quantizeMultiplier(real);
  const reverse = quantizeMultiplier(2 ** (31 - input.shift) / input.multiplier);
  // QuantizeMultiplierSmallerThanOneExp checks the divisor is below 1.
  if (reverse.shift > 0) l.reject("UNSUPPORTED_TYPE", `input scale ${inputScale} gives a reverse scaling divisor of at least 1`);
  const radius = Math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1) * 2 ** (31 - SCALED_DIFF_INTEGER_BITS) / 2 ** input.shift);
  return { multiplier: input.multiplier, leftShift: input.shift, divisor: reverse.multiplier, divisorShift: reverse.shift, diffMin: -radius };
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin !== "LOG_SOFTMAX") l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the log_softmax op`);
  l.arity([1], 1);
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output");
  if (input.shape.length !== output.shape.length || input.shape.some((d, i) => d !== output.shape[i])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} differs from input ${JSON.stringify(input.shape)}`);
  if (input.shape.length < 1) l.reject("UNSUPPORTED_OP", "a scalar input is not supported");
  // TFLM compares the float32 scale with 16/256 exactly.
  if (output.quant.scale !== 16 / 256 || output.quant.zeroPoint !== 127) l.reject("UNSUPPORTED_TYPE", `int8 LOG_SOFTMAX needs output scale 16/256 and zero point 127 (TFLM refuses ${output.quant.scale}, ${output.quant.zeroPoint})`);
  const p = logSoftmaxParams(l, input.quant.scale);
  const depth = input.shape[input.shape.length - 1];
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [p.multiplier, p.leftShift, p.divisor, p.divisorShift, p.diffMin, depth],
    overlap: [0],
  });
}
