// ACTIVATION: int8 RELU, RELU6, LEAKY_RELU and HARD_SWISH, elementwise, as
// TFLM's reference kernels compute them (activations.h, leaky_relu.h,
// hard_swish.h). Each reads element i before writing it, so it may run in place.
// Arguments: kind, then per kind
//   RELU (0):       input zero point, output zero point, multiplier, shift, min, max
//   CLAMP (1):      low, high (RELU6: TFLM clamps the input bytes, no rescaling)
//   LEAKY_RELU (2): input zero point, output zero point, identity multiplier,
//                   identity shift, alpha multiplier (magnitude), alpha shift,
//                   alpha negative (0/1)
//   LEAKY_RELU16 (4): as LEAKY_RELU, int16 elements (TFLM's int16 path);
//                   5: int16 in, int8 out; 6: int8 in, int16 out; 7: int16
//                   in, int32 out (with the alpha multiplier the identity
//                   one: QUANTIZE, as TFLM's Requantize, for
//                   host/convert/ops/quantize16.ts; int16 zero points in
//                   the int16 range)
//   HARD_SWISH (3): input zero point, output zero point, reluish multiplier
//                   (int16), reluish exponent, output multiplier (int16),
//                   output exponent (<= 0)
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { arg, tensorAt, tensorBytes, tensorCount } from "./record";

const RELU = 0;
const CLAMP = 1;
const LEAKY_RELU = 2;
const HARD_SWISH = 3;
const LEAKY_RELU16 = 4;
const LAST_KIND = 7;

// log2 of the element bytes of the input and the output, by kind.
@inline
function inShift(kind: i32): i32 {
  return kind == 4 || kind == 5 || kind == 7 ? 1 : 0;
}

@inline
function outShift(kind: i32): i32 {
  return kind == 7 ? 2 : kind == 4 || kind == 6 ? 1 : 0;
}

@inline
function isInt8(v: i32): bool {
  return v >= -128 && v <= 127;
}

@inline
function isInt16(v: i32): bool {
  return v >= -32768 && v <= 32767;
}

@inline
function isMultiplier(m: i32, shift: i32): bool {
  return m >= 0 && shift >= -31 && shift <= 30;
}

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n < 1 || tensorCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "ACTIVATION has the wrong argument or tensor count", n);
  const k = arg(op, 0), inWide = inShift(k), outWide = outShift(k);
  if (tensorBytes(op, 0) << inWide != tensorBytes(op, 1) << outWide) return failAt(F.ERR_BAD_OP, index, "ACTIVATION output and input sizes differ", tensorBytes(op, 0));
  let kind = arg(op, 0);
  if (kind >= LEAKY_RELU16 && kind <= LAST_KIND) kind = LEAKY_RELU;
  const expected = kind == RELU ? 7 : kind == CLAMP ? 3 : kind == LEAKY_RELU ? 8 : kind == HARD_SWISH ? 7 : -1;
  if (expected < 0) return failAt(F.ERR_BAD_OP, index, "ACTIVATION kind invalid", kind);
  if (n != expected) return failAt(F.ERR_BAD_OP, index, "ACTIVATION has the wrong argument count", n);
  if (kind == CLAMP) {
    if (!isInt8(arg(op, 1)) || !isInt8(arg(op, 2)) || arg(op, 1) > arg(op, 2)) return failAt(F.ERR_BAD_OP, index, "ACTIVATION clamp range invalid", arg(op, 1));
    return F.ERR_NONE;
  }
  const inZpOk = inWide == 1 ? isInt16(arg(op, 1)) : isInt8(arg(op, 1)), outZpOk = outWide == 1 ? isInt16(arg(op, 2)) : outWide == 2 || isInt8(arg(op, 2));
  if (!inZpOk || !outZpOk) return failAt(F.ERR_BAD_OP, index, "ACTIVATION zero point out of range", arg(op, 1));
  if (kind == RELU) {
    if (!isMultiplier(arg(op, 3), arg(op, 4))) return failAt(F.ERR_BAD_OP, index, "ACTIVATION multiplier invalid", arg(op, 3));
    if (!isInt8(arg(op, 5)) || !isInt8(arg(op, 6)) || arg(op, 5) > arg(op, 6)) return failAt(F.ERR_BAD_OP, index, "ACTIVATION range invalid", arg(op, 5));
  } else if (kind == LEAKY_RELU) {
    if (!isMultiplier(arg(op, 3), arg(op, 4)) || !isMultiplier(arg(op, 5), arg(op, 6))) return failAt(F.ERR_BAD_OP, index, "ACTIVATION multiplier invalid", arg(op, 3));
    if (arg(op, 7) != 0 && arg(op, 7) != 1) return failAt(F.ERR_BAD_OP, index, "ACTIVATION alpha sign invalid", arg(op, 7));
  } else {
    if (!isInt16(arg(op, 3)) || arg(op, 4) < -31 || arg(op, 4) > 31) return failAt(F.ERR_BAD_OP, index, "ACTIVATION reluish multiplier invalid", arg(op, 4));
    if (!isInt16(arg(op, 5)) || arg(op, 6) < -31 || arg(op, 6) > 0) return failAt(F.ERR_BAD_OP, index, "ACTIVATION output multiplier invalid", arg(op, 6));
  }
  return F.ERR_NONE;
}

// --- int16 fixed point of TFLM's HardSwish (values held in i32, wrapped to
// int16 where C++ stores into an int16_t).

@inline
function wrap16(v: i32): i32 {
  return (v << 16) >> 16;
}

// gemmlowp SaturatingRoundingDoublingHighMul for int16.
@inline
function roundingHighMul16(a: i32, b: i32): i32 {
  if (a == b && a == -32768) return 32767;
  const ab = a * b;
  return wrap16((ab + (ab >= 0 ? 1 << 14 : 1 - (1 << 14))) / (1 << 15));
}

// TFLM SaturatingDoublingHighMul: the same, truncating toward zero.
@inline
function highMul16(a: i32, b: i32): i32 {
  if (a == b && a == -32768) return 32767;
  return wrap16((a * b) / (1 << 15));
}

// TFLM SaturatingLeftShift for int16 (amount <= 30).
@inline
function saturatingLeftShift16(v: i32, amount: i32): i32 {
  const r = <i64>v << amount;
  return r > 32767 ? 32767 : r < -32768 ? -32768 : <i32>r;
}

// gemmlowp RoundingDivideByPOT for int16, exponent 0..31: the mask is
// (2^e - 1) truncated to int16, as the C++ template computes it.
@inline
function roundingDivideByPOT16(x: i32, exponent: i32): i32 {
  const mask = wrap16(<i32>((<i64>1 << exponent) - 1));
  const remainder = x & mask;
  const threshold = wrap16((mask >> 1) + (x < 0 ? 1 : 0));
  return wrap16((x >> exponent) + (remainder > threshold ? 1 : 0));
}

function hardSwish(x: i32, reluishMultiplier: i32, reluishExponent: i32, outputMultiplier: i32, outputExponent: i32): i32 {
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

export function run(op: usize, arena: usize): void {
  const kind = arg(op, 0);
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const count = tensorBytes(op, 0);
  if (kind == CLAMP) {
    const low = arg(op, 1), high = arg(op, 2);
    for (let i = 0; i < count; i++) {
      const v = <i32>load<i8>(input + <usize>i);
      store<i8>(output + <usize>i, <i8>(v > high ? high : v < low ? low : v));
    }
    return;
  }
  const inZp = arg(op, 1), outZp = arg(op, 2);
  if (kind == RELU) {
    const multiplier = arg(op, 3), shift = arg(op, 4), low = arg(op, 5), high = arg(op, 6);
    for (let i = 0; i < count; i++) {
      const v = outZp + multiplyByQuantizedMultiplier(<i32>load<i8>(input + <usize>i) - inZp, multiplier, shift);
      store<i8>(output + <usize>i, <i8>min(max(v, low), high));
    }
  } else if (kind == LEAKY_RELU || kind >= LEAKY_RELU16) {
    const identity = arg(op, 3), identityShift = arg(op, 4), alpha = arg(op, 5), alphaShift = arg(op, 6), negative = arg(op, 7) != 0;
    const inWide = inShift(kind) == 1, out = outShift(kind), wide = out == 1, hi = out == 2 ? i32.MAX_VALUE : wide ? 32767 : 127, elements = count >> out;
    for (let i = 0; i < elements; i++) {
      const x = (inWide ? <i32>load<i16>(input + (<usize>i << 1)) : <i32>load<i8>(input + <usize>i)) - inZp;
      let v = outZp;
      if (x >= 0) v += multiplyByQuantizedMultiplier(x, identity, identityShift);
      else {
        const scaled = multiplyByQuantizedMultiplier(x, alpha, alphaShift);
        v += negative ? -scaled : scaled;
      }
      v = min(max(v, -1 - hi), hi);
      if (out == 2) store<i32>(output + (<usize>i << 2), v);
      else if (wide) store<i16>(output + (<usize>i << 1), <i16>v);
      else store<i8>(output + <usize>i, <i8>v);
    }
  } else {
    const reluishMultiplier = arg(op, 3), reluishExponent = arg(op, 4), outputMultiplier = arg(op, 5), outputExponent = arg(op, 6);
    for (let i = 0; i < count; i++) {
      const x = <i32>load<i8>(input + <usize>i) - inZp;
      // C++ adds the zero point in int16_t arithmetic.
      const v = wrap16(hardSwish(x, reluishMultiplier, reluishExponent, outputMultiplier, outputExponent) + outZp);
      store<i8>(output + <usize>i, <i8>min(max(v, -128), 127));
    }
  }
}
