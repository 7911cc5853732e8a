// SIGMOID: TFLM's int16 LOGISTIC and TANH (reference/integer_ops/logistic.h,
// tanh.h; the int8 kernels are LUT records, assembly/ops/lut.ts): the input
// times the multiplier, rounded right by the shift, indexes block 0, a
// 256-entry uint16 sigmoid table, with linear interpolation.
// Arguments: kind (2 LOGISTIC, 3 TANH), two unused words (0), multiplier,
// shift. (Kinds 0 and 1, the int8 kernels of .wisp version 3, are LUT
// records since version 4.)
import * as F from "../format";
import { failAt } from "../errors";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

const ARGS = 5;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || tensorCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "SIGMOID has the wrong argument or tensor count", n);
  const kind = arg(op, 0), multiplier = arg(op, 3), shift = arg(op, 4);
  if ((kind != 2 && kind != 3) || blockCount(op) != 1 || blockBytes(op, 0) < 512) return failAt(F.ERR_BAD_OP, index, "SIGMOID kind invalid (kinds 0, 1 of .wisp 3: convert again)", kind);
  if (tensorBytes(op, 0) != tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "SIGMOID output and input sizes differ", tensorBytes(op, 0));
  if (multiplier < 0) return failAt(F.ERR_BAD_OP, index, "SIGMOID multiplier negative", multiplier);
  if (shift < 0 || shift > 31) return failAt(F.ERR_BAD_OP, index, "SIGMOID shift out of range", shift);
  return F.ERR_NONE;
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
  const multiplier = arg(op, 3), shift = arg(op, 4);
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const table = blockAt(op, 0), tanh = arg(op, 0) == 3;
  for (let i = 0; i < tensorBytes(op, 0) >> 1; i++) store<i16>(output + (<usize>i << 1), <i16>sigmoidOrTanh16(<i32>load<i16>(input + (<usize>i << 1)), multiplier, shift, tanh, table));
}
