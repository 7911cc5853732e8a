// Lowers RELU, RELU6, LEAKY_RELU and HARD_SWISH with the parameters TFLM's
// Prepare computes (activations_common.cc, leaky_relu_common.cc,
// hard_swish_common.cc), in the same float32 / double arithmetic. Their int8
// kernels depend only on the input byte, so the converter runs them here on
// all 256 inputs into a LUT record (host/convert/ops/lut.ts); int16
// LEAKY_RELU is an ACTIVATION record (assembly/ops/activation.ts).
// RELU_N1_TO_1 is refused: TFLM has no kernel for it.
import type { Lowering } from "../lower";
import { quantizeMultiplier, roundHalfAwayFromZero } from "../quantization";
import { multiplyByQuantizedMultiplier } from "../fixedpoint";
import { pushRecord } from "./record";
import { pushLut } from "./lut";
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

// --- TFLM's int16 fixed point of HardSwish (reference/hard_swish.h), values
// held in numbers and wrapped to int16 where C++ stores into an int16_t.
const wrap16 = (v: number) => (v << 16) >> 16;

// gemmlowp SaturatingRoundingDoublingHighMul for int16.
function roundingHighMul16(a: number, b: number): number {
  if (a === b && a === -32768) return 32767;
  const ab = a * b;
  return wrap16(Math.trunc((ab + (ab >= 0 ? 1 << 14 : 1 - (1 << 14))) / (1 << 15)));
}

// TFLM SaturatingDoublingHighMul: the same, truncating toward zero.
function highMul16(a: number, b: number): number {
  if (a === b && a === -32768) return 32767;
  return wrap16(Math.trunc((a * b) / (1 << 15)));
}

// TFLM SaturatingLeftShift for int16.
function saturatingLeftShift16(v: number, amount: number): number {
  return Math.min(32767, Math.max(-32768, v * 2 ** amount));
}

// gemmlowp RoundingDivideByPOT for int16: the mask is 2^e - 1 truncated to int16.
function roundingDivideByPOT16(x: number, exponent: number): number {
  const mask = exponent >= 16 ? -1 : wrap16((1 << exponent) - 1);
  const remainder = x & mask;
  const threshold = wrap16((mask >> 1) + (x < 0 ? 1 : 0));
  return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

function hardSwish(x: number, reluishMultiplier: number, reluishExponent: number, outputMultiplier: number, outputExponent: number): number {
  const hires = wrap16(x << 7);
  const preshiftOutput = roundingHighMul16(hires, outputMultiplier);
  let reluish = hires;
  if (reluishExponent > 0) reluish = saturatingLeftShift16(reluish, reluishExponent - 1);
  reluish = roundingHighMul16(reluish, reluishMultiplier);
  if (reluishExponent > 0) reluish = saturatingLeftShift16(reluish, 1);
  if (reluishExponent < 0) reluish = roundingDivideByPOT16(reluish, -reluishExponent);
  // [-1, 1] to [0, 1].
  reluish = wrap16((reluish + (1 << 15)) >> 1);
  return roundingDivideByPOT16(highMul16(reluish, preshiftOutput), -outputExponent);
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
  const inZp = inQ.zeroPoint, outZp = outQ.zeroPoint;
  switch (builtin) {
    case "RELU": {
      // CalculateReluOpData: input / output scale in float32; the range from
      // 0 (roundf(0 / scale) adds nothing) to the int8 maximum.
      const m = multiplier(l, f32(inQ.scale / outQ.scale), "input / output scale");
      return pushLut(l, input, output, (q) => Math.max(outZp, outZp + multiplyByQuantizedMultiplier(q - inZp, m.multiplier, m.shift)));
    }
    case "RELU6": {
      // Relu6Prepare: the input bytes are clamped to [zero, six] on the input
      // scale; TFLM ignores the output quantization.
      const q6 = roundHalfAwayFromZero(f32(6 / inQ.scale));
      if (!(q6 < 2 ** 31)) l.reject("UNSUPPORTED_TYPE", `input scale ${inQ.scale} is too small for RELU6`);
      const high = clamp8(q6 + inZp);
      return pushLut(l, input, output, (q) => Math.min(Math.max(q, inZp), high));
    }
    case "LEAKY_RELU": {
      // LeakyReluOptions: alpha 0. TFLM forms input * alpha / output in float32.
      const alpha = l.op.options ? l.op.options.f32(0) : 0;
      const a = multiplier(l, f32(f32(inQ.scale * f32(alpha)) / outQ.scale), "alpha multiplier");
      const id = multiplier(l, f32(inQ.scale / outQ.scale), "input / output scale");
      const magnitude = Math.abs(a.multiplier);
      if (magnitude >= 2 ** 31) l.reject("UNSUPPORTED_TYPE", `alpha multiplier ${alpha} cannot be represented`);
      if (wide) return pushRecord(l, opcode, { output, inputs: [input], args: [4, inZp, outZp, id.multiplier, id.shift, magnitude, a.shift, a.multiplier < 0 ? 1 : 0], overlap: [0] });
      // TFLM's QuantizeLeakyRelu: the identity multiplier above the zero point, alpha's below.
      return pushLut(l, input, output, (q) => {
        const x = q - inZp;
        if (x >= 0) return outZp + multiplyByQuantizedMultiplier(x, id.multiplier, id.shift);
        const scaled = multiplyByQuantizedMultiplier(x, magnitude, a.shift);
        return outZp + (a.multiplier < 0 ? -scaled : scaled);
      });
    }
    case "HARD_SWISH": {
      const hires = f32(f32(1 / 128) * inQ.scale);
      const out = quantizeMultiplier(f32(hires / outQ.scale));
      // HardSwishPrepare: TF_LITE_ENSURE(output_multiplier_exponent <= 0).
      if (out.shift > 0) l.reject("UNSUPPORTED_TYPE", `input scale / 128 over output scale is ${f32(hires / outQ.scale)}; TFLM needs it below 1`);
      const reluish = quantizeMultiplier(f32(hires / f32(3 / 32768)));
      if (reluish.shift > 31) l.reject("UNSUPPORTED_TYPE", `input scale ${inQ.scale} is too large`);
      const reluishMultiplier = int16Multiplier(reluish.multiplier), outputMultiplier = int16Multiplier(out.multiplier);
      // C++ adds the output zero point in int16_t arithmetic.
      return pushLut(l, input, output, (q) => wrap16(hardSwish(q - inZp, reluishMultiplier, reluish.shift, outputMultiplier, out.shift) + outZp));
    }
  }
  l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the activation op`);
}
