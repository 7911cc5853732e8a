// Lowers int8 RELU, RELU6, LEAKY_RELU and HARD_SWISH to ACTIVATION records
// (assembly/ops/activation.ts) with the parameters TFLM's Prepare computes
// (activations_common.cc, leaky_relu_common.cc, hard_swish_common.cc), in
// the same float32 / double arithmetic. RELU_N1_TO_1 is refused: TFLM has no
// kernel for it.
import type { Lowering } from "../lower";
import { quantizeMultiplier, roundHalfAwayFromZero } from "../quantization";
import { pushRecord } from "./record";
import { int16 } from "./conv16";
import { TensorType } from "../tflite";

const f32 = Math.fround;
const clamp8 = (v: number) => Math.min(127, Math.max(-128, v));

// A QuantizeMultiplier result the runtime's MultiplyByQuantizedMultiplier
// takes: shifts above 30 would shift the int32 input out entirely (and are
// undefined in TFLM's C++).
function multiplier(l: Lowering, real: number, what: string) {
  const m = quantizeMultiplier(real);
  if (m.shift > 30) l.reject("UNSUPPORTED_TYPE", `${what} ${real} is too large`);
  return m;
}

// TFLM DownScaleInt32ToInt16Multiplier.
function int16Multiplier(m: number): number {
  if (m >= 2147483647 - (1 << 15)) return 32767;
  return (m + (1 << 15)) >> 16;
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin === "RELU_N1_TO_1") l.reject("UNSUPPORTED_OP", "TFLM has no RELU_N1_TO_1 kernel");
  l.arity([1], 1);
  // int16 LEAKY_RELU (version 2): the int8 arithmetic on int16 elements.
  const wide = builtin === "LEAKY_RELU" && l.tensor(l.op.inputs[0], "input").type === TensorType.INT16;
  const input = wide ? int16(l, l.op.inputs[0], "input") : l.activation(l.op.inputs[0], "input");
  const output = wide ? int16(l, l.op.outputs[0], "output") : l.activation(l.op.outputs[0], "output");
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match input ${JSON.stringify(input.shape)}`);
  const inQ = input.quant, outQ = output.quant;
  let args: number[];
  switch (builtin) {
    case "RELU": {
      // CalculateReluOpData: input / output scale in float32; the range from
      // 0 (roundf(0 / scale) adds nothing) to the int8 maximum.
      const m = multiplier(l, f32(inQ.scale / outQ.scale), "input / output scale");
      args = [0, inQ.zeroPoint, outQ.zeroPoint, m.multiplier, m.shift, Math.max(-128, outQ.zeroPoint), 127];
      break;
    }
    case "RELU6": {
      // Relu6Prepare: the input bytes are clamped to [zero, six] on the input
      // scale; TFLM ignores the output quantization.
      const q = roundHalfAwayFromZero(f32(6 / inQ.scale));
      if (!(q < 2 ** 31)) l.reject("UNSUPPORTED_TYPE", `input scale ${inQ.scale} is too small for RELU6`);
      args = [1, inQ.zeroPoint, clamp8(q + inQ.zeroPoint)];
      break;
    }
    case "LEAKY_RELU": {
      // LeakyReluOptions: alpha 0. TFLM forms input * alpha / output in float32.
      const alpha = l.op.options ? l.op.options.f32(0) : 0;
      const a = multiplier(l, f32(f32(inQ.scale * f32(alpha)) / outQ.scale), "alpha multiplier");
      const id = multiplier(l, f32(inQ.scale / outQ.scale), "input / output scale");
      const magnitude = Math.abs(a.multiplier);
      if (magnitude >= 2 ** 31) l.reject("UNSUPPORTED_TYPE", `alpha multiplier ${alpha} cannot be represented`);
      args = [wide ? 4 : 2, inQ.zeroPoint, outQ.zeroPoint, id.multiplier, id.shift, magnitude, a.shift, a.multiplier < 0 ? 1 : 0];
      break;
    }
    case "HARD_SWISH": {
      const hires = f32(f32(1 / 128) * inQ.scale);
      const out = quantizeMultiplier(f32(hires / outQ.scale));
      // HardSwishPrepare: TF_LITE_ENSURE(output_multiplier_exponent <= 0).
      if (out.shift > 0) l.reject("UNSUPPORTED_TYPE", `input scale / 128 over output scale is ${f32(hires / outQ.scale)}; TFLM needs it below 1`);
      const reluish = quantizeMultiplier(f32(hires / f32(3 / 32768)));
      if (reluish.shift > 31) l.reject("UNSUPPORTED_TYPE", `input scale ${inQ.scale} is too large`);
      args = [3, inQ.zeroPoint, outQ.zeroPoint, int16Multiplier(reluish.multiplier), reluish.shift, int16Multiplier(out.multiplier), out.shift];
      break;
    }
    default:
      return l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the activation op`);
  }
  pushRecord(l, opcode, { output, inputs: [input], args, overlap: [0] });
}
