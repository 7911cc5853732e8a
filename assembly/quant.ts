// Fixed-point arithmetic shared by every kernel. It reproduces TFLM's
// double-rounding requantization (gemmlowp SaturatingRoundingDoublingHighMul,
// then RoundingDivideByPOT) bit for bit.

// (a * b * 2) >> 32 with round-to-nearest; saturates the one overflow case.
@inline
export function saturatingRoundingDoublingHighMul(a: i32, b: i32): i32 {
  if (a == b && a == i32.MIN_VALUE) return i32.MAX_VALUE;
  const product = <i64>a * <i64>b;
  const nudge: i64 = product >= 0 ? 1 << 30 : 1 - (1 << 30);
  // C++ integer division truncates toward zero, as i64.div_s does.
  return <i32>((product + nudge) / 0x80000000);
}

// Arithmetic right shift rounding to nearest, ties away from zero.
@inline
export function roundingDivideByPOT(x: i32, exponent: i32): i32 {
  const mask = (1 << exponent) - 1; // wraps to INT32_MAX for exponent 31, as intended
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// The same high multiply for a multiplier >= 0 (every requantization
// multiplier is): adding 2^30 and shifting right by 31 rounds exactly as the
// nudge-and-truncate above does for both signs, and the saturating case
// (both operands INT32_MIN) cannot occur.
@inline
export function highMulByMultiplier(a: i32, multiplier: i32): i32 {
  return <i32>((<i64>a * <i64>multiplier + (1 << 30)) >> 31);
}

// TFLM's MultiplyByQuantizedMultiplier: shift > 0 scales up first, shift < 0
// rounds down afterwards. The runtime rejects negative multipliers at load.
@inline
export function multiplyByQuantizedMultiplier(x: i32, multiplier: i32, shift: i32): i32 {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(highMulByMultiplier(x << leftShift, multiplier), rightShift);
}

// TFLM's MultiplyByQuantizedMultiplier for an int64 accumulator (the int16
// kernels' int64 sums): the multiplier rounded to 16 bits, one rounding shift.
@inline
export function multiplyByQuantizedMultiplier64(x: i64, multiplier: i32, shift: i32): i32 {
  const reduced: i64 = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const total = <i64>(15 - shift);
  return <i32>((x * reduced + (<i64>1 << (total - 1))) >> total);
}

// Requantize an int32 accumulator to int8 and apply the fused activation range.
@inline
export function requantize(acc: i32, multiplier: i32, shift: i32, outZp: i32, actMin: i32, actMax: i32): i32 {
  let v = multiplyByQuantizedMultiplier(acc, multiplier, shift) + outZp;
  if (v < actMin) v = actMin;
  if (v > actMax) v = actMax;
  return v;
}

// Rounding left shift that saturates, gemmlowp's SaturatingRoundingMultiplyByPOT
// for a positive exponent.
@inline
export function saturatingShiftLeft(x: i32, exponent: i32): i32 {
  const threshold = (1 << (31 - exponent)) - 1;
  if (x > threshold) return i32.MAX_VALUE;
  if (x < -threshold) return i32.MIN_VALUE;
  return x << exponent;
}
