// TFLM's integer arithmetic on the host, for the ops whose int8 output
// depends only on the input byte: the converter evaluates them for all 256
// inputs into a table (host/convert/ops/lut.ts). The same gemmlowp and
// MultiplyByQuantizedMultiplier steps as assembly/quant.ts and
// assembly/fixedpoint.ts, on JS numbers holding int32 values: every sum
// wraps with `| 0` as C++'s int32 arithmetic does on the targets, and
// 64-bit products go through BigInt.

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

// gemmlowp SaturatingRoundingDoublingHighMul.
export function highMul(a: number, b: number): number {
  if (a === b && a === INT32_MIN) return INT32_MAX;
  const product = BigInt(a) * BigInt(b);
  const nudge = product >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // BigInt division truncates toward zero, as C++'s does.
  return Number((product + nudge) / (1n << 31n));
}

// gemmlowp RoundingDivideByPOT, exponent 0 to 31.
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = ((1 << exponent) - 1) | 0;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return ((x >> exponent) + (remainder > threshold ? 1 : 0)) | 0;
}

// gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent.
export function saturatingShiftLeft(x: number, exponent: number): number {
  const threshold = ((1 << (31 - exponent)) - 1) | 0;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x << exponent;
}

// TFLM's MultiplyByQuantizedMultiplier (double rounding).
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(highMul(Math.imul(x, 2 ** left | 0), multiplier), right);
}

// gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31).
function expOnQuarter(a: number): number {
  const expMinusOneEighth = 1895147668, oneThird = 715827883;
  const x = (a + (1 << 28)) | 0;
  const x2 = highMul(x, x), x3 = highMul(x2, x), x4 = highMul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const tail = roundingDivideByPOT((highMul((x4Over4 + x3) | 0, oneThird) + x2) | 0, 1);
  return (expMinusOneEighth + highMul(expMinusOneEighth, (x + tail) | 0)) | 0;
}

// gemmlowp exp_on_negative_values for a <= 0 with `integerBits` integer bits; Q0.31.
export function expOnNegative(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  const aModQuarterMinusQuarter = ((a & (oneQuarter - 1)) - oneQuarter) | 0;
  let result = expOnQuarter(saturatingShiftLeft(aModQuarterMinusQuarter, integerBits));
  const remainder = (aModQuarterMinusQuarter - a) | 0;
  const steps: [number, number][] = [[-2, 1672461947], [-1, 1302514674], [0, 790015084], [1, 290630308], [2, 39332535], [3, 720401], [4, 242]];
  for (const [k, factor] of steps) {
    if (k === 4 && integerBits <= 4) continue;
    if (remainder & (1 << (fractionalBits + k))) result = highMul(result, factor);
  }
  return a === 0 ? INT32_MAX : result;
}

// Newton-Raphson for 2 / (1 + a), a in [0, 1) in Q0.31; result in Q2.29.
export function reciprocalOfOnePlus(a: number): number {
  const sum = a + INT32_MAX; // exact in a double
  const halfDenominator = Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
  let x = (1515870810 + highMul(halfDenominator, -1010580540)) | 0;
  for (let i = 0; i < 3; i++) {
    const oneMinus = ((1 << 29) - highMul(halfDenominator, x)) | 0;
    x = (x + saturatingShiftLeft(highMul(x, oneMinus), 2)) | 0;
  }
  return x;
}

// gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in and out).
export function oneOverOnePlusX(a: number): number {
  return saturatingShiftLeft(reciprocalOfOnePlus(a), 1);
}

// TFLM's GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: the
// multiplier and the shift (a left shift when positive).
export function invSqrtMultiplier(input: number): { multiplier: number; shift: number } {
  if (input <= 1) return { multiplier: INT32_MAX, shift: 0 };
  let shift = 11;
  while (input >= 1 << 29) {
    input = Math.trunc(input / 4);
    shift++;
  }
  const pairs = ((Math.clz32(input) - 1) >>> 1) - 1;
  shift -= pairs;
  input <<= 2 * pairs;
  // Q3.28 Newton-Raphson, five steps from 1.
  const halfInput = roundingDivideByPOT(input >> 1, 1);
  const halfThree = (1 << 28) + (1 << 27);
  let x = 1 << 28;
  for (let i = 0; i < 5; i++) {
    const x3 = saturatingShiftLeft(highMul(highMul(x, x), x), 6);
    x = saturatingShiftLeft((highMul(halfThree, x) - highMul(halfInput, x3)) | 0, 3);
  }
  x = highMul(x, 1518500250); // times sqrt(2)/2
  if (shift < 0) {
    x <<= -shift;
    shift = 0;
  }
  return { multiplier: x, shift: -shift };
}

// A float32 value converted to int32 as x86-64 does (cvttss2si): in range
// it truncates, otherwise (NaN, infinities, |x| >= 2^31) it gives INT32_MIN.
// C++ leaves the out-of-range case undefined; TFLM's reference build on x86
// does this.
export function floatToInt32(f: number): number {
  return f > -2147483649 && f < 2147483648 ? Math.trunc(f) : INT32_MIN;
}
