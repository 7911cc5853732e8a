// Incremental streaming inference for causal models. From one wakeword
// window to the next the model input shifts by one frame: one row along H.
// When the ops from the input on are convolutions, depthwise convolutions or
// dense layers that slide along H with stride 1 and no padding there, their
// outputs shift by one row too: every row but the last was computed for the
// previous window. Those ops keep their outputs in a cache of their own; each
// hop shifts every cached tensor up by one row and computes only its last
// row, with the same kernels over the same input rows, so the result is
// byte-identical to a full run. The ops after that chain (the softmax) run
// as usual, on a copy of the chain's output in the arena.
import * as F from "./format";
import { firstOp, inputBytes, inputOffset, nextOp, opCount, outputOffset, param } from "./model";
import { runConv, runDense, runOps } from "./interpreter";
import { tensorCount, tensorOffset } from "./ops/record";

const MAX_CACHED_OPS = 16; // sww caches 9; a longer chain caches its first 16 ops
// Per cached op: its record, its cache offset, its rows (steps along H) and
// the bytes of one row.
const ENTRY_BYTES = 16;
const table = memory.data(MAX_CACHED_OPS * ENTRY_BYTES);

let cachedOps = 0;
let cacheBytes = 0;
let cacheBase: usize = 0;
let primed = false;
let inputSteps = 0; // rows of the model input
let chainOutput = 0; // arena offset of the last cached op's output

@inline
function entry(k: i32): usize {
  return table + <usize>(k * ENTRY_BYTES);
}

// Input rows a conv or depthwise op's one output row reads.
@inline
function rowsRead(op: usize): i32 {
  return (param(op, F.CONV_K_H) - 1) * param(op, F.CONV_DIL_H) + 1;
}

// Finds the sliding chain of the loaded model. Returns the number of ops it
// caches (0: the model is not causal this way) and sets the cache's size.
export function planIncremental(): i32 {
  stopIncremental();
  // A model with ONCE records keeps state (resource variables) from one
  // invoke to the next: every hop must run it whole, once.
  let scan = firstOp;
  for (let i = 0; i < opCount; i++) {
    if (load<i32>(scan) == F.OP_ONCE) return 0;
    scan = nextOp(scan);
  }
  cacheBytes = 0;
  inputSteps = 0;
  let op = firstOp;
  let previous = inputOffset; // arena offset of the tensor the chain has reached
  let previousBytes = inputBytes;
  let steps = -1; // rows of that tensor along H (unknown for the model input until a conv says)
  let k = 0;
  for (; k < opCount && k < MAX_CACHED_OPS; k++) {
    const opcode = load<i32>(op);
    let outSteps = 0, rowBytes = 0;
    if (opcode == F.OP_CONV || opcode == F.OP_DEPTHWISE) {
      const inH = param(op, F.CONV_IN_H), outH = param(op, F.CONV_OUT_H);
      const reach = rowsRead(op);
      if (param(op, F.CONV_IN) != previous || inH * param(op, F.CONV_IN_W) * param(op, F.CONV_IN_C) != previousBytes) break;
      if ((steps >= 0 && inH != steps) || param(op, F.CONV_STRIDE_H) != 1 || param(op, F.CONV_PAD_TOP) != 0 || inH - reach + 1 != outH) break;
      if (k == 0) inputSteps = inH;
      outSteps = outH;
      rowBytes = param(op, F.CONV_OUT_W) * param(op, F.CONV_OUT_C);
    } else if (opcode == F.OP_DENSE) {
      const rows = param(op, F.DENSE_ROWS);
      if (param(op, F.DENSE_IN) != previous || steps <= 0 || rows % steps != 0) break;
      outSteps = steps;
      rowBytes = rows / steps * param(op, F.DENSE_OUT_C);
    } else {
      break;
    }
    store<u32>(entry(k), <u32>op);
    store<i32>(entry(k), cacheBytes, 4);
    store<i32>(entry(k), outSteps, 8);
    store<i32>(entry(k), rowBytes, 12);
    cacheBytes += (outSteps * rowBytes + 15) & ~15;
    previous = param(op, 1); // every op's output offset is its second parameter
    previousBytes = outSteps * rowBytes;
    steps = outSteps;
    op = nextOp(op);
  }
  if (k == 0) return 0;
  chainOutput = previous;
  // The rest must read only what the chain and its own ops produce: a chain
  // of single-input ops (input first, output second in each record).
  for (let i = k; i < opCount; i++) {
    const opcode = load<i32>(op);
    if (opcode >= F.FIRST_REGISTERED_OPCODE) {
      // A registered op's record lists its tensors: output first, then inputs.
      if (tensorCount(op) != 2 || tensorOffset(op, 1) != previous) return 0;
      previous = tensorOffset(op, 0);
    } else {
      if (param(op, 0) != previous) return 0; // every built-in op left has one input, first
      previous = param(op, 1);
    }
    op = nextOp(op);
  }
  if (previous != outputOffset) return 0;
  cachedOps = k;
  return k;
}

export function incrementalCacheBytes(): i32 {
  return cacheBytes;
}

export function incrementalOps(): i32 {
  return cachedOps;
}

export function incrementalInputSteps(): i32 {
  return inputSteps;
}

// Starts using the cache at `base`; the next window is computed in full.
export function useIncrementalCache(base: usize): void {
  cacheBase = base;
  primed = false;
}

// The first input row the next hop reads: all of them until the caches are
// primed, then only the rows the first op's newest output row needs.
export function incrementalFirstInputRow(): i32 {
  if (!primed || cachedOps == 0) return 0;
  const op = <usize>load<u32>(entry(0));
  return inputSteps - rowsRead(op);
}

export function incrementalActive(): bool {
  return cacheBase != 0;
}

export function stopIncremental(): void {
  cacheBase = 0;
  cachedOps = 0;
  primed = false;
}

// Runs the model on the window in the arena's input, which is the previous
// window shifted by one row (or the first window).
export function runIncremental(arena: usize): void {
  let input = arena + <usize>inputOffset;
  let inSteps = inputSteps;
  let inRowBytes = inputBytes / inputSteps;
  let output: usize = 0, outBytes = 0;
  for (let k = 0; k < cachedOps; k++) {
    const op = <usize>load<u32>(entry(k));
    output = cacheBase + <usize>load<i32>(entry(k), 4);
    const steps = load<i32>(entry(k), 8), rowBytes = load<i32>(entry(k), 12);
    const opcode = load<i32>(op);
    const last = output + <usize>((steps - 1) * rowBytes);
    if (primed) memory.copy(output, output + <usize>rowBytes, <usize>((steps - 1) * rowBytes));
    if (opcode == F.OP_DENSE) {
      const rowsPerStep = param(op, F.DENSE_ROWS) / steps;
      if (primed) runDense(op, input + <usize>((steps - 1) * inRowBytes), last, rowsPerStep);
      else runDense(op, input, output, param(op, F.DENSE_ROWS));
    } else {
      const reach = rowsRead(op);
      if (primed) runConv(op, opcode, input + <usize>((inSteps - reach) * inRowBytes), last, reach, 1, 0);
      else runConv(op, opcode, input, output, inSteps, steps, 0);
    }
    input = output;
    inSteps = steps;
    inRowBytes = rowBytes;
    outBytes = steps * rowBytes;
  }
  primed = true;
  memory.copy(arena + <usize>chainOutput, output, <usize>outBytes);
  runOps(arena, cachedOps, opCount);
}
