// LUT: an elementwise op on bytes whose output byte depends only on the
// input byte (int8 or uint8 in and out): block 0 holds the 256 outputs,
// indexed by the input byte read unsigned. The converter computes the table
// with TFLM's own arithmetic for the op (host/convert/ops/lut.ts), so one
// lookup stands for ABS, RSQRT, ELU, RELU, RELU6, LEAKY_RELU, HARD_SWISH,
// LOGISTIC, TANH, QUANTIZE between int8 and uint8, and the float islands
// (DEQUANTIZE, float ops, QUANTIZE). Element i is read before it is written,
// so it may run in place. No arguments.
import * as F from "../format";
import { failAt } from "../errors";
import { blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != 0 || tensorCount(op) != 2 || blockCount(op) != 1) return failAt(F.ERR_BAD_OP, index, "LUT record invalid", n);
  if (blockBytes(op, 0) != 256 || tensorBytes(op, 0) != tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "LUT table or sizes invalid", blockBytes(op, 0));
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const table = blockAt(op, 0), output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1);
  const count = <usize>tensorBytes(op, 0);
  for (let i: usize = 0; i < count; i++) store<u8>(output + i, load<u8>(table + <usize>load<u8>(input + i)));
}
