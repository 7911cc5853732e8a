// The record every registered op (assembly/ops/registry.json) shares, after
// the op header [opcode, words]:
//   T, then T x (arena offset, bytes)      tensor 0 is the output, 1.. the inputs
//   W, then W x (weights offset, bytes)    constant blocks (4-aligned)
//   then the op's own arguments
// validateRecord checks the tensors and blocks once for every op, so an op's
// own validate() only checks its arguments against tensorBytes().
import * as F from "../format";
import { failAt } from "../errors";
import { inArena, inWeights, needWeightWindow, param, weightsPtr } from "../model";
import { blockPointer } from "../weights";

const MAX_TENSORS = 16;
const MAX_BLOCKS = 8;

@inline
export function tensorCount(op: usize): i32 {
  return param(op, 0);
}

@inline
export function tensorOffset(op: usize, k: i32): i32 {
  return param(op, 1 + 2 * k);
}

@inline
export function tensorBytes(op: usize, k: i32): i32 {
  return param(op, 2 + 2 * k);
}

// Address of tensor k in the arena.
@inline
export function tensorAt(arena: usize, op: usize, k: i32): usize {
  return arena + <usize>tensorOffset(op, k);
}

@inline
function blocksWord(op: usize): i32 {
  return 1 + 2 * tensorCount(op);
}

@inline
export function blockCount(op: usize): i32 {
  return param(op, blocksWord(op));
}

@inline
export function blockBytes(op: usize, k: i32): i32 {
  return param(op, blocksWord(op) + 2 + 2 * k);
}

@inline
function argsWord(op: usize): i32 {
  return blocksWord(op) + 1 + 2 * blockCount(op);
}

// The op's own argument k.
@inline
export function arg(op: usize, k: i32): i32 {
  return param(op, argsWord(op) + k);
}

// Address of argument k, for arguments read as arrays.
@inline
export function argAt(op: usize, k: i32): usize {
  return op + <usize>((F.OP_HEADER_WORDS + argsWord(op) + k) << 2);
}

// Where constant block k is readable: in the model (resident) or fetched
// into the weights window (streamed), every block of the op side by side.
export function blockAt(op: usize, k: i32): usize {
  let slot = 0;
  for (let j = 0; j < k; j++) slot += (blockBytes(op, j) + 15) & ~15;
  const base = blocksWord(op) + 1;
  return blockPointer(weightsPtr + <usize>param(op, base + 2 * k), blockBytes(op, k), slot);
}

// Checks the shared part of a record with `n` parameter words. Returns the
// op's own argument count (>= 0), or an error code negated. (No global for
// the count: every global the module adds moves wasm2c's hot fields further
// from short load offsets on small cores.)
export function validateRecord(index: i32, op: usize, n: i32): i32 {
  if (n < 2) return -failAt(F.ERR_BAD_OP, index, "op record too short", n);
  const t = tensorCount(op);
  if (t < 1 || t > MAX_TENSORS || n < 2 + 2 * t) return -failAt(F.ERR_BAD_OP, index, "bad tensor count", t);
  for (let k = 0; k < t; k++) {
    const bytes = tensorBytes(op, k);
    if (bytes < 1 || !inArena(tensorOffset(op, k), bytes)) return -failAt(F.ERR_BAD_OP, index, "tensor outside the arena", k);
  }
  const w = blockCount(op);
  if (w < 0 || w > MAX_BLOCKS || n < 2 + 2 * t + 2 * w) return -failAt(F.ERR_BAD_OP, index, "bad weights block count", w);
  let window: i64 = 0;
  for (let k = 0; k < w; k++) {
    const offset = param(op, blocksWord(op) + 1 + 2 * k), bytes = blockBytes(op, k);
    if ((offset & 3) != 0 || bytes < 1 || !inWeights(offset, bytes)) return -failAt(F.ERR_BAD_OP, index, "weights block outside the weights", k);
    window += (<i64>bytes + 15) & ~15;
  }
  if (window > 0) needWeightWindow(window);
  return n - argsWord(op);
}

// True when element `index` (of `elementBytes` each) lies inside tensor k.
export function elementInside(op: usize, k: i32, elementBytes: i32, index: i64): bool {
  return index >= 0 && index < <i64>(tensorBytes(op, k) / elementBytes);
}
