// Host-side quantization arithmetic, computed exactly as TFLM computes it at
// Prepare time (double precision, float32 where TFLM uses float), so that the
// runtime's integer kernels reproduce TFLM's outputs bit for bit.
import { fail } from "../errors";

// std::round: halves go away from zero.
export function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

// std::frexp: x = mantissa * 2^exponent with |mantissa| in [0.5, 1).
function frexp(x: number): [number, number] {
  let exponent = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let mantissa = x * Math.pow(2, -exponent);
  // log2 can be off by one near powers of two; scaling by 2 is exact.
  while (Math.abs(mantissa) >= 1) { mantissa /= 2; exponent++; }
  while (Math.abs(mantissa) < 0.5) { mantissa *= 2; exponent--; }
  return [mantissa, exponent];
}

// TFLM QuantizeMultiplier: a Q0.31 multiplier and a power-of-two shift.
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (real === 0) return { multiplier: 0, shift: 0 };
  if (!Number.isFinite(real)) fail("BAD_MODEL", `quantization multiplier ${real} is not finite`);
  let [q, shift] = frexp(real);
  let fixed = roundHalfAwayFromZero(q * 2 ** 31);
  if (fixed === 2 ** 31) {
    fixed /= 2;
    shift++;
  }
  if (shift < -31) {
    shift = 0;
    fixed = 0;
  }
  return { multiplier: fixed, shift };
}

// TFLM CalculateActivationRangeQuantized for int8 outputs. `activation` is
// the TFLite ActivationFunctionType: 0 none, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6.
export function activationRange(activation: number, scale: number, zeroPoint: number, where: string): { min: number; max: number } {
  // Quantize() in float32: round(f / scale) + zero point.
  const quantize = (f: number) => zeroPoint + roundHalfAwayFromZero(Math.fround(f / scale));
  switch (activation) {
    case 0: return { min: -128, max: 127 };
    case 1: return { min: Math.max(-128, quantize(0)), max: 127 };
    case 2: return { min: Math.max(-128, quantize(-1)), max: Math.min(127, quantize(1)) };
    case 3: return { min: Math.max(-128, quantize(0)), max: Math.min(127, quantize(6)) };
  }
  return fail("UNSUPPORTED_OP", `${where}: fused activation ${activation} is not supported (only NONE, RELU, RELU_N1_TO_1, RELU6)`);
}

// Per-channel multipliers of CONV_2D, DEPTHWISE_CONV_2D and per-channel
// FULLY_CONNECTED: input * filter / output, in double.
export function perChannelMultipliers(inputScale: number, filterScales: number[], outputScale: number, channels: number) {
  return Array.from({ length: channels }, (_, c) => {
    const filterScale = filterScales.length > 1 ? filterScales[c] : filterScales[0];
    return quantizeMultiplier((inputScale * filterScale) / outputScale);
  });
}

// Per-tensor FULLY_CONNECTED: TFLM multiplies input and filter scales in
// float32 before widening to double.
export function perTensorDenseMultiplier(inputScale: number, filterScale: number, outputScale: number) {
  return quantizeMultiplier(Math.fround(inputScale * filterScale) / outputScale);
}

// TFLM's ADD rescaling: both inputs to twice the larger scale, 20 bits of headroom.
export function addParams(scale1: number, scale2: number, outputScale: number) {
  const leftShift = 20;
  const twiceMax = 2 * Math.max(scale1, scale2);
  return {
    leftShift,
    input1: quantizeMultiplier(scale1 / twiceMax),
    input2: quantizeMultiplier(scale2 / twiceMax),
    output: quantizeMultiplier(twiceMax / ((1 << leftShift) * outputScale)),
  };
}

// TFLM's int8 SOFTMAX scaling: input differences become Q5.26.
export function softmaxParams(beta: number, inputScale: number) {
  const scaledDiffIntegerBits = 5;
  const real = Math.min(beta * inputScale * (1 << (31 - scaledDiffIntegerBits)), 2 ** 31 - 1);
  if (!(real > 1)) fail("UNSUPPORTED_OP", `SOFTMAX: beta * input scale is too small (${real})`);
  const { multiplier, shift } = quantizeMultiplier(real);
  const radius = Math.floor((((1 << scaledDiffIntegerBits) - 1) * 2 ** (31 - scaledDiffIntegerBits)) / 2 ** shift);
  return { multiplier, leftShift: shift, diffMin: -radius };
}

// TFLM's MEAN: input/output scale, then 1/count folded in with an integer
// division, exactly as QuantizedMeanOrSum adapts it at run time.
export function meanParams(inputScale: number, outputScale: number, count: number) {
  const base = quantizeMultiplier(inputScale / outputScale);
  let shift = Math.floor(Math.log2(count));
  while (2 ** shift > count) shift--;
  while (2 ** (shift + 1) <= count) shift++;
  shift = Math.min(shift, 32, 31 + base.shift);
  const multiplier = Number((BigInt(base.multiplier) << BigInt(shift)) / BigInt(count));
  return { multiplier, shift: base.shift - shift };
}
