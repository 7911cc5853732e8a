// VARIABLE: the moves of TFLM's resource variables (read_variable.cc,
// assign_variable.cc, and micro_resource_variable.cc's first fill). TFLM
// copies the bytes as they are, whatever the tensors' quantization; so does
// this op. One record form per move:
//   tensors [variable or output, source], no blocks, no arguments: copy the
//     source tensor (READ_VARIABLE, ASSIGN_VARIABLE of an activation)
//   tensors [variable], block 0, no arguments: copy the constant block
//     (ASSIGN_VARIABLE of a constant, as init graphs do)
//   tensors [variable], no blocks, argument fill: set every byte to fill
//     (the fill on a fresh start: TFLM's zero point)
import * as F from "../format";
import { failAt } from "../errors";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

export function validate(index: i32, op: usize, n: i32): i32 {
  const t = tensorCount(op), w = blockCount(op), bytes = tensorBytes(op, 0);
  if (n == 0 && t == 2 && w == 0) {
    if (tensorBytes(op, 1) != bytes) return failAt(F.ERR_BAD_OP, index, "VARIABLE source and destination sizes differ", tensorBytes(op, 1));
  } else if (n == 0 && t == 1 && w == 1) {
    if (blockBytes(op, 0) != bytes) return failAt(F.ERR_BAD_OP, index, "VARIABLE constant and destination sizes differ", blockBytes(op, 0));
  } else if (n == 1 && t == 1 && w == 0) {
    if (arg(op, 0) < -128 || arg(op, 0) > 255) return failAt(F.ERR_BAD_OP, index, "VARIABLE fill is not a byte", arg(op, 0));
  } else {
    return failAt(F.ERR_BAD_OP, index, "VARIABLE record has the wrong tensor, block or argument count", t);
  }
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const out = tensorAt(arena, op, 0), bytes = <usize>tensorBytes(op, 0);
  if (tensorCount(op) == 2) memory.copy(out, tensorAt(arena, op, 1), bytes);
  else if (blockCount(op) == 1) memory.copy(out, blockAt(op, 0), bytes);
  else memory.fill(out, <u8>arg(op, 0), bytes);
}
