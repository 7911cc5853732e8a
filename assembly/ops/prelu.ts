// PRELU, int8, as TFLM's reference BroadcastPrelu4DSlow: alpha (a constant
// int8 block) broadcast against the input; a non-negative input is rescaled
// by the identity multiplier, a negative one times (alpha - alpha zero point)
// by the alpha multiplier. The converter gives the output walk as a 6-D shape
// with the input's and alpha's strides (0 along broadcast dimensions).
// Arguments: input zero point, alpha zero point, output zero point,
// multiplier 1, shift 1, multiplier 2, shift 2, shape[6], inStride[6],
// alphaStride[6] (elements).
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

const RANK = 6;
const ARGS = 7 + 3 * RANK;

@inline
function isInt8(v: i32): bool {
  return v >= -128 && v <= 127;
}

// Highest element a walk with these strides reaches (strides are >= 0).
function reach(op: usize, strideArg: i32): i64 {
  let last: i64 = 0;
  for (let d = 0; d < RANK; d++) last += <i64>(arg(op, 7 + d) - 1) * <i64>arg(op, strideArg + d);
  return last;
}

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || tensorCount(op) != 2 || blockCount(op) != 1) return failAt(F.ERR_BAD_OP, index, "PRELU has the wrong argument, tensor or block count", n);
  if (!isInt8(arg(op, 0)) || !isInt8(arg(op, 1)) || !isInt8(arg(op, 2))) return failAt(F.ERR_BAD_OP, index, "PRELU zero point out of range", arg(op, 0));
  for (let k = 3; k <= 5; k += 2) {
    if (arg(op, k) < 0 || arg(op, k + 1) < -31 || arg(op, k + 1) > 30) return failAt(F.ERR_BAD_OP, index, "PRELU multiplier invalid", arg(op, k));
  }
  let elements: i64 = 1;
  for (let d = 0; d < RANK; d++) {
    const size = arg(op, 7 + d), inStride = arg(op, 7 + RANK + d), alphaStride = arg(op, 7 + 2 * RANK + d);
    if (size < 1 || size > 0xffff || inStride < 0 || alphaStride < 0) return failAt(F.ERR_BAD_OP, index, "PRELU shape or stride invalid", d);
    elements *= size;
  }
  if (elements != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "PRELU shape does not match its output", tensorBytes(op, 0));
  if (reach(op, 7 + RANK) >= <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "PRELU reads outside its input", 0);
  if (reach(op, 7 + 2 * RANK) >= <i64>blockBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "PRELU reads outside its alpha", 0);
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const inZp = arg(op, 0), alphaZp = arg(op, 1), outZp = arg(op, 2);
  const m1 = arg(op, 3), s1 = arg(op, 4), m2 = arg(op, 5), s2 = arg(op, 6);
  let out = tensorAt(arena, op, 0);
  const input = tensorAt(arena, op, 1), alpha = blockAt(op, 0);
  const n0 = arg(op, 7), n1 = arg(op, 8), n2 = arg(op, 9), n3 = arg(op, 10), n4 = arg(op, 11), n5 = arg(op, 12);
  const i0 = <usize>arg(op, 13), i1 = <usize>arg(op, 14), i2 = <usize>arg(op, 15), i3 = <usize>arg(op, 16), i4 = <usize>arg(op, 17), i5 = <usize>arg(op, 18);
  const a0 = <usize>arg(op, 19), a1 = <usize>arg(op, 20), a2 = <usize>arg(op, 21), a3 = <usize>arg(op, 22), a4 = <usize>arg(op, 23), a5 = <usize>arg(op, 24);
  for (let d0 = 0; d0 < n0; d0++) for (let d1 = 0; d1 < n1; d1++) for (let d2 = 0; d2 < n2; d2++)
    for (let d3 = 0; d3 < n3; d3++) for (let d4 = 0; d4 < n4; d4++) {
      const x0 = input + <usize>d0 * i0 + <usize>d1 * i1 + <usize>d2 * i2 + <usize>d3 * i3 + <usize>d4 * i4;
      const y0 = alpha + <usize>d0 * a0 + <usize>d1 * a1 + <usize>d2 * a2 + <usize>d3 * a3 + <usize>d4 * a4;
      for (let d5 = 0; d5 < n5; d5++) {
        const x = <i32>load<i8>(x0 + <usize>d5 * i5) - inZp;
        let v: i32;
        if (x >= 0) v = multiplyByQuantizedMultiplier(x, m1, s1);
        else v = multiplyByQuantizedMultiplier(x * (<i32>load<i8>(y0 + <usize>d5 * a5) - alphaZp), m2, s2);
        store<i8>(out, <i8>min(max(v + outZp, -128), 127));
        out++;
      }
    }
}
