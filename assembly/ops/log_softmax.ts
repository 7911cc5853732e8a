// LOG_SOFTMAX, int8, over the last dimension, as TFLM's reference
// LogSoftmaxQuantized: input differences from the row maximum in Q5.26, exp
// summed in Q12.19, gemmlowp-style fixed-point log of the sum (TFLM's
// log_x_for_x_greater_than_or_equal_to_1), output on scale 16/256, zero
// point 127. The exp and reciprocal are assembly/fixedpoint.ts's.
// Arguments: input multiplier, input left shift, reverse scaling divisor,
// reverse scaling shift (<= 0), diff min (<= 0), depth.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier, roundingDivideByPOT, saturatingRoundingDoublingHighMul as mul, saturatingShiftLeft } from "../quant";
import { arg, tensorAt, tensorBytes, tensorCount } from "./record";
import { expOnNegative, oneOverOnePlusX } from "../fixedpoint";

const ARGS = 6;
const INPUT_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;
const OUTPUT_INTEGER_BITS = 4;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || tensorCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX has the wrong argument or tensor count", n);
  const multiplier = arg(op, 0), leftShift = arg(op, 1), divisor = arg(op, 2), divisorShift = arg(op, 3), diffMin = arg(op, 4), depth = arg(op, 5);
  const bytes = tensorBytes(op, 0);
  if (bytes != tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX output and input sizes differ", bytes);
  if (depth < 1 || bytes % depth != 0) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX depth does not divide its tensor", depth);
  if (multiplier < 0 || leftShift < 0 || leftShift > 31) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX input multiplier invalid", leftShift);
  if (divisor < 0 || divisorShift < -31 || divisorShift > 0) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX reverse scaling invalid", divisorShift);
  if (diffMin > 0) return failAt(F.ERR_BAD_OP, index, "LOG_SOFTMAX diff min positive", diffMin);
  return F.ERR_NONE;
}

// TFLM SaturatingRoundingMultiplyByPOTParam for exponent >= 0.
@inline
function shiftParam(x: i32, exponent: i32): i32 {
  return exponent == 0 ? x : saturatingShiftLeft(x, exponent);
}

@inline
function saturate(v: i64): i32 {
  return v > <i64>i32.MAX_VALUE ? i32.MAX_VALUE : v < <i64>i32.MIN_VALUE ? i32.MIN_VALUE : <i32>v;
}

// TFLM log_x_for_x_greater_than_or_equal_to_1<5>(x in Q12.19), in Q5.26:
// the power of two from the headroom (two ways, one premultiplied by
// sqrt(1/2)), then a rational approximation of the log of the mantissa.
// Accumulates in Q6.25.
function logOfSum(za: i32): i32 {
  const log2 = 1488522236, sqrtSqrtHalf = 1805811301, sqrtHalf = 1518500250;
  const alphaN = 117049297, alphaD = 127690142, alphaI = 1057819769, alphaF = 638450708;
  const accumIntegerBits = INPUT_INTEGER_BITS + 1;
  const shiftedQuarter = roundingDivideByPOT(536870912, accumIntegerBits);
  const aHeadroomPlusOne = <i32>clz<u32>(<u32>za);
  const raTmp = shiftParam(za, aHeadroomPlusOne - 1);
  const ra = shiftParam(mul(raTmp, sqrtHalf), 1);
  const aPow2Adj = saturate(<i64>shiftParam(ACCUMULATION_INTEGER_BITS - aHeadroomPlusOne, 31 - accumIntegerBits) + <i64>shiftedQuarter);
  const zb = mul(za, sqrtHalf);
  const bHeadroom = <i32>clz<u32>(<u32>zb) - 1;
  const rb = shiftParam(za, bHeadroom);
  const bPow2Adj = saturate(<i64>shiftParam(ACCUMULATION_INTEGER_BITS - bHeadroom, 31 - accumIntegerBits) - <i64>shiftedQuarter);
  const r = min(ra, rb);
  const pow2Adj = max(aPow2Adj, bPow2Adj);
  const sum = <i64>r + <i64>sqrtSqrtHalf;
  const p = <i32>((sum + (sum >= 0 ? 1 : -1)) / 2);
  let q = r - sqrtSqrtHalf;
  q = q + q;
  const commonSq = mul(q, q);
  const num = mul(q, r) + mul(mul(q, commonSq), alphaN);
  const denomMinusOne = mul(p, alphaI + q + mul(alphaD, commonSq)) + mul(alphaF, q);
  const recipDenom = oneOverOnePlusX(denomMinusOne);
  const numScaled = roundingDivideByPOT(num, accumIntegerBits);
  return saturatingShiftLeft(mul(pow2Adj, log2) + mul(numScaled, recipDenom), 1);
}

export function run(op: usize, arena: usize): void {
  const multiplier = arg(op, 0), leftShift = arg(op, 1), divisor = arg(op, 2), divisorShift = arg(op, 3), diffMin = arg(op, 4), depth = arg(op, 5);
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const rows = tensorBytes(op, 0) / depth;
  for (let r = 0; r < rows; r++) {
    const row = input + <usize>(r * depth), outRow = output + <usize>(r * depth);
    let maxInRow = -128;
    for (let c = 0; c < depth; c++) maxInRow = max(maxInRow, <i32>load<i8>(row + <usize>c));
    let sumOfExps = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      if (diff >= diffMin) sumOfExps += roundingDivideByPOT(expOnNegative(multiplyByQuantizedMultiplier(diff, multiplier, leftShift), INPUT_INTEGER_BITS), ACCUMULATION_INTEGER_BITS);
    }
    const logSum = logOfSum(sumOfExps);
    const adjustedDiffMin = max(diffMin - 1, multiplyByQuantizedMultiplier(logSum + i32.MIN_VALUE, divisor, divisorShift));
    // The output is written after the row is read: a row may be in place.
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      let value = -128;
      if (diff > adjustedDiffMin) {
        const q5 = multiplyByQuantizedMultiplier(diff, multiplier, leftShift);
        value = min(max(roundingDivideByPOT(q5 - logSum, 31 - INPUT_INTEGER_BITS - OUTPUT_INTEGER_BITS) + 127, -128), 127);
      }
      store<i8>(outRow + <usize>c, <i8>value);
    }
  }
}
