// SIGMOID: int8 LOGISTIC and TANH as TFLM's reference kernels compute them
// (reference/integer_ops/logistic.h, tanh.h): the input, less its zero point,
// saturates outside +-radius; inside it is rescaled to Q4.27 with a multiplier
// and left shift fixed at conversion (Prepare), then gemmlowp's fixed-point
// logistic / tanh give a Q0.31 result that is rounded down to int8.
// LOGISTIC writes the result on scale 1/256, zero point -128; TANH on scale
// 1/128, zero point 0 (TFLM assumes these output quantizations).
// Arguments: kind (0 LOGISTIC, 1 TANH), input zero point, radius,
// multiplier, left shift.
// Kinds 2 (LOGISTIC) and 3 (TANH) are TFLM's int16 kernels: the input
// times the multiplier, rounded right by the shift, indexes block 0, a
// 256-entry uint16 sigmoid table, with linear interpolation (zero point and
// radius unused).
import { expOnNegative, oneOverOnePlusX, reciprocalOfOnePlus } from "../fixedpoint";
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier, roundingDivideByPOT, saturatingShiftLeft } from "../quant";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

const LOGISTIC = 0;
const TANH = 1;
const ARGS = 5;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || tensorCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "SIGMOID has the wrong argument or tensor count", n);
  const kind = arg(op, 0), zeroPoint = arg(op, 1), radius = arg(op, 2), multiplier = arg(op, 3), leftShift = arg(op, 4);
  if ((kind & ~3) != 0 || (kind >= 2) != (blockCount(op) == 1 && blockBytes(op, 0) >= 512)) return failAt(F.ERR_BAD_OP, index, "SIGMOID kind invalid", kind);
  if (tensorBytes(op, 0) != tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "SIGMOID output and input sizes differ", tensorBytes(op, 0));
  if (zeroPoint < -128 || zeroPoint > 127) return failAt(F.ERR_BAD_OP, index, "SIGMOID zero point out of range", zeroPoint);
  if (radius < 0) return failAt(F.ERR_BAD_OP, index, "SIGMOID radius negative", radius);
  if (multiplier < 0) return failAt(F.ERR_BAD_OP, index, "SIGMOID multiplier negative", multiplier);
  if (leftShift < 0 || leftShift > 31) return failAt(F.ERR_BAD_OP, index, "SIGMOID shift out of range", leftShift);
  return F.ERR_NONE;
}

// gemmlowp logistic for a in Q4.27; result in Q0.31.
function logistic(a: i32): i32 {
  if (a == 0) return 1 << 30;
  const positive = a > 0;
  const resultIfPositive = oneOverOnePlusX(expOnNegative(positive ? -a : a, 4));
  return positive ? resultIfPositive : i32.MAX_VALUE - resultIfPositive;
}

// gemmlowp tanh for a in Q4.27; result in Q0.31. The exponent of -2|a| is
// taken by reading the same raw value as Q5.26.
function tanh(a: i32): i32 {
  if (a == 0) return 0;
  const negative = a < 0;
  // (1 - e) / (1 + e) = 2 / (1 + e) - 1, in Q2.29 rescaled to Q0.31.
  const t = saturatingShiftLeft(reciprocalOfOnePlus(expOnNegative(negative ? a : -a, 5)) - (1 << 29), 2);
  return negative ? -t : t;
}

// TFLM's int16 LOGISTIC / TANH of one value: v times the multiplier, rounded
// right by the shift, indexes `table` (the 256-entry uint16 sigmoid table)
// with linear interpolation. Also the LSTM's gate functions (lstm.ts).
export function sigmoidOrTanh16(v: i32, multiplier: i32, leftShift: i32, tanh: bool, table: usize): i32 {
  const round = leftShift > 0 ? 1 << (leftShift - 1) : 0;
  const x = (v * multiplier + round) >> leftShift;
  const a = x < 0 ? -x : x, bits = tanh ? 8 : 9, uh = <u32>a >> bits;
  let r: i32;
  if (uh >= 255) r = tanh ? 0xffff << 8 : 0x7fff << 10;
  else {
    const ua = <i32>load<u16>(table + (<usize>uh << 1)), ub = <i32>load<u16>(table + (<usize>uh << 1), 2);
    r = (ua << bits) + (a & ((1 << bits) - 1)) * (ub - ua);
  }
  if (tanh) return (x >= 0 ? r - (1 << 23) + (1 << 7) : (1 << 23) + (1 << 7) - 1 - r) >> 8;
  return <i32>(<u32>(x >= 0 ? r + (1 << 9) : (1 << 25) - r + (1 << 9) - 1) >> 10);
}

export function run(op: usize, arena: usize): void {
  const kind = arg(op, 0), zeroPoint = arg(op, 1), radius = arg(op, 2), multiplier = arg(op, 3), leftShift = arg(op, 4);
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const count = tensorBytes(op, 0);
  if (kind >= 2) {
    const table = blockAt(op, 0), tanh = kind == 3;
    for (let i = 0; i < count >> 1; i++) store<i16>(output + (<usize>i << 1), <i16>sigmoidOrTanh16(<i32>load<i16>(input + (<usize>i << 1)), multiplier, leftShift, tanh, table));
    return;
  }
  for (let i = 0; i < count; i++) {
    const x = <i32>load<i8>(input + <usize>i) - zeroPoint;
    let value: i32;
    if (x <= -radius) value = -128;
    else if (x >= radius) value = 127;
    else {
      const q4 = multiplyByQuantizedMultiplier(x, multiplier, leftShift);
      if (kind == LOGISTIC) value = roundingDivideByPOT(logistic(q4), 23) - 128;
      else value = roundingDivideByPOT(tanh(q4), 24);
      value = min(max(value, -128), 127);
    }
    store<i8>(output + <usize>i, <i8>value);
  }
}
