// SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), over the last
// dimension. Fixed-point exp and reciprocal follow gemmlowp exactly, as TFLM's
// reference kernel uses them: differences in Q5.26, exp in Q0.31, sums in Q12.19.
import {
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul as mul, saturatingShiftLeft,
} from "../quant";

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

// exp(x) for x in [-1/4, 0), x in Q0.31: Taylor series around -1/8.
function expOnIntervalNegativeQuarterTo0(a: i32): i32 {
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

// exp(a) for a <= 0 given in Q5.26; result in Q0.31.
export function expOnNegativeValues(a: i32): i32 {
  const fractionalBits = 31 - SCALED_DIFF_INTEGER_BITS;
  const oneQuarter = 1 << (fractionalBits - 2);
  const aModQuarterMinusQuarter = (a & (oneQuarter - 1)) - oneQuarter;
  let result = expOnIntervalNegativeQuarterTo0(saturatingShiftLeft(aModQuarterMinusQuarter, SCALED_DIFF_INTEGER_BITS));
  const remainder = aModQuarterMinusQuarter - a;
  // exp(-2^k) for k = -2 .. 4, applied for each set bit of the remainder.
  if (remainder & (1 << (fractionalBits - 2))) result = mul(result, 1672461947);
  if (remainder & (1 << (fractionalBits - 1))) result = mul(result, 1302514674);
  if (remainder & (1 << fractionalBits)) result = mul(result, 790015084);
  if (remainder & (1 << (fractionalBits + 1))) result = mul(result, 290630308);
  if (remainder & (1 << (fractionalBits + 2))) result = mul(result, 39332535);
  if (remainder & (1 << (fractionalBits + 3))) result = mul(result, 720401);
  if (remainder & (1 << (fractionalBits + 4))) result = mul(result, 242);
  return a == 0 ? i32.MAX_VALUE : result;
}

// 1 / (1 + a) for a in [0, 1) in Q0.31, by Newton-Raphson in Q2.29.
export function oneOverOnePlusX(a: i32): i32 {
  // Rounding half sum of a and 1.0 (i32.MAX_VALUE in Q0.31).
  const sum = <i64>a + <i64>i32.MAX_VALUE;
  const halfDenominator = <i32>((sum + (sum >= 0 ? 1 : -1)) / 2);
  const fortyEightOverSeventeen = 1515870810;
  const minusThirtyTwoOverSeventeen = -1010580540;
  const oneQ2 = 1 << 29;
  let x = fortyEightOverSeventeen + mul(halfDenominator, minusThirtyTwoOverSeventeen);
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = mul(halfDenominator, x);
    const oneMinus = oneQ2 - halfDenominatorTimesX;
    x = x + saturatingShiftLeft(mul(x, oneMinus), 2);
  }
  return saturatingShiftLeft(x, 1);
}

export function softmaxS8(
  input: usize, output: usize, rows: i32, depth: i32,
  inputMultiplier: i32, inputLeftShift: i32, diffMin: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const row = input + <usize>(r * depth);
    const outRow = output + <usize>(r * depth);
    let maxInRow = -128;
    for (let c = 0; c < depth; c++) maxInRow = max(maxInRow, <i32>load<i8>(row + <usize>c));

    let sumOfExps = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      if (diff >= diffMin) {
        const scaled = mul(diff << inputLeftShift, inputMultiplier);
        sumOfExps += roundingDivideByPOT(expOnNegativeValues(scaled), ACCUMULATION_INTEGER_BITS);
      }
    }

    // Reciprocal of the sum: normalise into [1, 2), then 1 / (1 + x).
    const headroomPlusOne = <i32>clz<u32>(<u32>sumOfExps);
    const bitsOverUnit = ACCUMULATION_INTEGER_BITS - headroomPlusOne;
    const shiftedSumMinusOne = <i32>((<u32>sumOfExps << headroomPlusOne) - (<u32>1 << 31));
    const shiftedScale = oneOverOnePlusX(shiftedSumMinusOne);
    const exponent = bitsOverUnit + 31 - 8;

    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      let value = -128;
      if (diff >= diffMin) {
        const scaled = mul(diff << inputLeftShift, inputMultiplier);
        const unsaturated = roundingDivideByPOT(mul(shiftedScale, expOnNegativeValues(scaled)), exponent);
        value = min(max(unsaturated - 128, -128), 127);
      }
      store<i8>(outRow + <usize>c, <i8>value);
    }
  }
}
