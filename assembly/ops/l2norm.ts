// L2_NORMALIZATION over the last axis, int8, as TFLM's
// reference_integer_ops::L2Normalization: the sum of squares of
// (x - inZp), its inverse square root as a multiplier and shift
// (GetInvSqrtQuantizedMultiplierExp, gemmlowp fixed point with 5
// Newton-Raphson steps), output in 1/128 units.
// Arguments: outer, depth, inZp.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier, roundingDivideByPOT, saturatingRoundingDoublingHighMul, saturatingShiftLeft } from "../quant";
import { arg, tensorAt, tensorBytes } from "./record";

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != 3) return failAt(F.ERR_BAD_OP, index, "L2_NORMALIZATION has the wrong argument count", n);
  const outer = arg(op, 0), depth = arg(op, 1), inZp = arg(op, 2);
  if (outer < 1 || depth < 1) return failAt(F.ERR_BAD_OP, index, "L2_NORMALIZATION dimension out of range", 0);
  if (inZp < -128 || inZp > 127) return failAt(F.ERR_BAD_OP, index, "L2_NORMALIZATION zero point out of range", inZp);
  const bytes = <i64>outer * depth;
  if (bytes != <i64>tensorBytes(op, 0) || bytes != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "L2_NORMALIZATION size does not match", 0);
  return F.ERR_NONE;
}

// GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: the multiplier,
// and the left shift through `invSqrtShift`.
let invSqrtShift: i32 = 0;

function invSqrtMultiplier(input: i32): i32 {
  if (input <= 1) {
    invSqrtShift = 0;
    return i32.MAX_VALUE;
  }
  let shift = 11;
  while (input >= (1 << 29)) {
    input /= 4;
    shift++;
  }
  const pairs = ((clz<i32>(input) - 1) >>> 1) - 1;
  shift -= pairs;
  input <<= 2 * pairs;
  // Q3.28 fixed point (3 integer bits).
  const halfInput = roundingDivideByPOT(input >> 1, 1);
  const halfThree = (1 << 28) + (1 << 27);
  let x = 1 << 28;
  for (let i = 0; i < 5; i++) {
    // x * x * x is Q9; back to Q3 with a saturating shift by 6.
    const x3 = saturatingShiftLeft(saturatingRoundingDoublingHighMul(saturatingRoundingDoublingHighMul(x, x), x), 6);
    // Q6 difference, back to Q3 with a saturating shift by 3.
    x = saturatingShiftLeft(saturatingRoundingDoublingHighMul(halfThree, x) - saturatingRoundingDoublingHighMul(halfInput, x3), 3);
  }
  x = saturatingRoundingDoublingHighMul(x, 1518500250); // times sqrt(2)/2
  if (shift < 0) {
    x <<= -shift;
    shift = 0;
  }
  invSqrtShift = -shift;
  return x;
}

export function run(op: usize, arena: usize): void {
  const outer = arg(op, 0), depth = arg(op, 1), inZp = arg(op, 2);
  const input = tensorAt(arena, op, 1), output = tensorAt(arena, op, 0);
  for (let o = 0; o < outer; o++) {
    const row = input + <usize>(o * depth), out = output + <usize>(o * depth);
    let acc = 0;
    for (let i = 0; i < depth; i++) {
      const v = <i32>load<i8>(row + <usize>i) - inZp;
      acc += v * v;
    }
    const multiplier = invSqrtMultiplier(acc);
    const shift = invSqrtShift + 7;
    for (let i = 0; i < depth; i++) {
      let v = multiplyByQuantizedMultiplier(<i32>load<i8>(row + <usize>i) - inZp, multiplier, shift);
      if (v < -128) v = -128;
      if (v > 127) v = 127;
      store<i8>(out + <usize>i, <i8>v);
    }
  }
}
