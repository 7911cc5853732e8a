// ACTIVATION: TFLM's requantizing elementwise loop on int16 data (the int8
// activations are LUT records, assembly/ops/lut.ts): LEAKY_RELU on int16
// (leaky_relu.h, int16 path), and QUANTIZE's Requantize between int8, int16
// and int32 (host/convert/ops/quantize16.ts, with the alpha multiplier the
// identity one). Each reads element i before writing it, so it may run in
// place (a narrower output never starts past its input).
// Arguments: kind, input zero point, output zero point, identity multiplier,
// identity shift, alpha multiplier (magnitude), alpha shift, alpha negative
// (0/1). Kinds: 4 int16 in and out; 5 int16 in, int8 out; 6 int8 in, int16
// out; 7 int16 in, int32 out. (Kinds 0 to 3, 8 and 9, the int8 RELU, RELU6,
// LEAKY_RELU, HARD_SWISH and the uint8 QUANTIZE of .wisp version 3, are LUT
// records since version 4.)
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { arg, tensorAt, tensorBytes, tensorCount } from "./record";

const FIRST_KIND = 4;
const LAST_KIND = 7;
const ARGS = 8;

// log2 of the element bytes of the input and the output, by kind.
@inline
function inShift(kind: i32): i32 {
  return kind == 6 ? 0 : 1;
}

@inline
function outShift(kind: i32): i32 {
  return kind == 7 ? 2 : kind == 5 ? 0 : 1;
}

@inline
function isMultiplier(m: i32, shift: i32): bool {
  return m >= 0 && shift >= -31 && shift <= 30;
}

// A zero point of `shift` (log2 bytes) elements: int8, int16, or any int32.
@inline
function isZeroPoint(v: i32, shift: i32): bool {
  return shift == 2 || (shift == 1 ? v >= -32768 && v <= 32767 : v >= -128 && v <= 127);
}

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || tensorCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "ACTIVATION has the wrong argument or tensor count", n);
  const kind = arg(op, 0);
  if (kind < FIRST_KIND || kind > LAST_KIND) return failAt(F.ERR_BAD_OP, index, "ACTIVATION kind invalid (kinds 0-3, 8, 9 of .wisp 3: convert again)", kind);
  const inWide = inShift(kind), outWide = outShift(kind);
  if (tensorBytes(op, 0) << inWide != tensorBytes(op, 1) << outWide) return failAt(F.ERR_BAD_OP, index, "ACTIVATION output and input sizes differ", tensorBytes(op, 0));
  if (!isZeroPoint(arg(op, 1), inWide) || !isZeroPoint(arg(op, 2), outWide)) return failAt(F.ERR_BAD_OP, index, "ACTIVATION zero point out of range", arg(op, 1));
  if (!isMultiplier(arg(op, 3), arg(op, 4)) || !isMultiplier(arg(op, 5), arg(op, 6))) return failAt(F.ERR_BAD_OP, index, "ACTIVATION multiplier invalid", arg(op, 3));
  if (arg(op, 7) != 0 && arg(op, 7) != 1) return failAt(F.ERR_BAD_OP, index, "ACTIVATION alpha sign invalid", arg(op, 7));
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const kind = arg(op, 0);
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const inZp = arg(op, 1), outZp = arg(op, 2);
  const identity = arg(op, 3), identityShift = arg(op, 4), alpha = arg(op, 5), alphaShift = arg(op, 6), negative = arg(op, 7) != 0;
  const inWide = inShift(kind) == 1, out = outShift(kind), hi = out == 2 ? i32.MAX_VALUE : out == 1 ? 32767 : 127, elements = tensorBytes(op, 0) >> out;
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
    else if (out == 1) store<i16>(output + (<usize>i << 1), <i16>v);
    else store<i8>(output + <usize>i, <i8>v);
  }
}
