// gemmlowp's fixed-point exp and reciprocal, as TFLM's reference kernels use
// them (SOFTMAX, LOG_SOFTMAX, LOGISTIC, TANH): one copy for all of them.
import { roundingDivideByPOT, saturatingRoundingDoublingHighMul as mul, saturatingShiftLeft } from "./quant";

// gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl: exp(a)
// for a in [-1/4, 0) in Q0.31, a Taylor series around -1/8.
function expOnQuarter(a: i32): i32 {
  const expMinusOneEighth = 1895147668;
  const oneThird = 715827883;
  const x = a + (1 << 28);
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  const x4 = mul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const tail = roundingDivideByPOT(mul(x4Over4 + x3, oneThird) + x2, 1);
  return expMinusOneEighth + mul(expMinusOneEighth, x + tail);
}

// gemmlowp exp_on_negative_values: exp(a) for a <= 0 with `integerBits`
// integer bits (4 for LOGISTIC, 5 for TANH), result in Q0.31. The barrel
// shifter applies exp(-2^k) for each set bit k of the remainder, for
// k < integerBits.
export function expOnNegative(a: i32, integerBits: i32): i32 {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  const aModQuarterMinusQuarter = (a & (oneQuarter - 1)) - oneQuarter;
  let result = expOnQuarter(saturatingShiftLeft(aModQuarterMinusQuarter, integerBits));
  const remainder = aModQuarterMinusQuarter - a;
  if (remainder & (1 << (fractionalBits - 2))) result = mul(result, 1672461947); // exp(-1/4)
  if (remainder & (1 << (fractionalBits - 1))) result = mul(result, 1302514674); // exp(-1/2)
  if (remainder & (1 << fractionalBits)) result = mul(result, 790015084); // exp(-1)
  if (remainder & (1 << (fractionalBits + 1))) result = mul(result, 290630308); // exp(-2)
  if (remainder & (1 << (fractionalBits + 2))) result = mul(result, 39332535); // exp(-4)
  if (remainder & (1 << (fractionalBits + 3))) result = mul(result, 720401); // exp(-8)
  if (integerBits > 4 && (remainder & (1 << (fractionalBits + 4)))) result = mul(result, 242); // exp(-16)
  return a == 0 ? i32.MAX_VALUE : result;
}

// Newton-Raphson for 2 / (1 + a), a in [0, 1) in Q0.31; the result in Q2.29
// (gemmlowp's shared loop of one_over_one_plus_x and one_minus_x_over_one_plus_x).
export function reciprocalOfOnePlus(a: i32): i32 {
  // gemmlowp RoundingHalfSum(a, 1.0).
  const sum = <i64>a + <i64>i32.MAX_VALUE;
  const halfDenominator = <i32>((sum + (sum >= 0 ? 1 : -1)) / 2);
  let x = 1515870810 + mul(halfDenominator, -1010580540); // 48/17 - 32/17 * d
  for (let i = 0; i < 3; i++) {
    const oneMinus = (1 << 29) - mul(halfDenominator, x);
    x = x + saturatingShiftLeft(mul(x, oneMinus), 2);
  }
  return x;
}

// gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a), Q0.31 in and out;
// the Q2.29 value read as Q1.30 (halved), rescaled to Q0.31.
export function oneOverOnePlusX(a: i32): i32 {
  return saturatingShiftLeft(reciprocalOfOnePlus(a), 1);
}

