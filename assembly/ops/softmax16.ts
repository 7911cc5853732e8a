// SOFTMAX with int16 input and output, as TFLM's reference_ops::SoftmaxInt16:
// per row, exp(x - max) from a 513-entry interpolated table (block 0, words
// 0..512; the input difference rescaled so that [-65535, 0] spans [-10, 0]),
// the sum's reciprocal from a second table (words 513..1025) on the sum
// normalised by its leading zeros, then each exp times the reciprocal.
// Arguments: rows, depth, input multiplier, input shift.
// With int8 input (no block, a fifth argument diffMin): TFLM's int8 softmax
// with an int16 output (kernels/softmax.ts, scale 1/65536, zero point -32768).
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { softmaxS8 } from "../kernels/softmax";
import { argAt, blockAt, blockBytes, blockCount, tensorAt, tensorBytes } from "./record";

export function validate(index: i32, op: usize, n: i32): i32 {
  const a = argAt(op, 0);
  if (n == 5 && blockCount(op) == 0) {
    const rows = <i64>load<i32>(a), depth = <i64>load<i32>(a, 4), shift = load<i32>(a, 12);
    if (rows < 1 || depth < 1 || rows * depth * 2 != <i64>tensorBytes(op, 0) || rows * depth != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "SOFTMAX16 size", 0);
    if (load<i32>(a, 8) < 0 || shift < 0 || shift > 31 || load<i32>(a, 16) > 0) return failAt(F.ERR_BAD_OP, index, "SOFTMAX16 multiplier", shift);
    return F.ERR_NONE;
  }
  if (n != 4 || blockCount(op) != 1 || blockBytes(op, 0) != 2052) return failAt(F.ERR_BAD_OP, index, "SOFTMAX16 args", n);
  const rows = <i64>load<i32>(a), depth = <i64>load<i32>(a, 4), shift = load<i32>(a, 12);
  if (rows < 1 || depth < 1 || rows * depth * 2 != <i64>tensorBytes(op, 0) || tensorBytes(op, 1) != tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "SOFTMAX16 size", 0);
  if (load<i32>(a, 8) < 0 || shift < -31 || shift > 30) return failAt(F.ERR_BAD_OP, index, "SOFTMAX16 multiplier", shift);
  return F.ERR_NONE;
}

// TFLM's LUTLookup for int16: 512 segments, linear interpolation on the low 7 bits.
function lookup(lut: usize, v: i32): i32 {
  const at = lut + (<usize>(256 + (v >> 7)) << 1);
  const base = <i32>load<i16>(at);
  const slope = <i32><i16>(<i32>load<i16>(at, 2) - base);
  return <i32><i16>(base + ((slope * (v & 0x7f) + 64) >> 7));
}

// The table entry for v saturated to int16.
function lookup16(lut: usize, v: i32): i32 {
  return lookup(lut, v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

export function run(op: usize, arena: usize): void {
  const a = argAt(op, 0);
  const rows = load<i32>(a), depth = load<i32>(a, 4), multiplier = load<i32>(a, 8), shift = load<i32>(a, 12);
  if (blockCount(op) == 0) {
    softmaxS8(tensorAt(arena, op, 1), tensorAt(arena, op, 0), rows, depth, multiplier, shift, load<i32>(a, 16), 16);
    return;
  }
  const exp = blockAt(op, 0), reciprocal = exp + 1026;
  let input = tensorAt(arena, op, 1), output = tensorAt(arena, op, 0);
  for (let r = 0; r < rows; r++) {
    let top: i32 = -32768;
    for (let c = 0; c < depth; c++) top = max(top, <i32>load<i16>(input + (<usize>c << 1)));
    let sum: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i16>(input + (<usize>c << 1)) - top;
      const e = lookup16(exp, (multiplyByQuantizedMultiplier(diff, multiplier, shift) + 32767));
      store<i16>(output + (<usize>c << 1), <i16>e);
      sum += e;
    }
    const headroom = <i32>clz(<u32>sum);
    const shifted = <i32>(((<i64>sum << (headroom - 1)) + (1 << 13)) >> 14);
    const scale = <i64>lookup16(reciprocal, (shifted - (1 << 15) - (1 << 16)));
    const right = <i64>(31 - headroom);
    for (let c = 0; c < depth; c++) {
      const at = output + (<usize>c << 1);
      const v = <i32>((<i64>load<i16>(at) * scale + (<i64>1 << (right - 1))) >> right);
      store<i16>(at, <i16>(v < 0 ? 0 : v > 32767 ? 32767 : v));
    }
    input += <usize>depth << 1;
    output += <usize>depth << 1;
  }
}
