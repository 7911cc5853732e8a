// The op loop: walks the validated op records and calls the kernels.
import * as F from "./format";
import { param, firstOp, nextOp, opCount, weightsPtr } from "./model";
import { blockFilter, blockRecords, channelsPerBlock, fetchChannels, rowBuffer } from "./weights";
import { convS8 } from "./kernels/conv";
import { stopPrepared, usePrepared } from "./kernels/prepared";
import { depthwiseS8 } from "./kernels/depthwise";
import { denseS8 } from "./kernels/dense";
import { averagePoolS8, maxPoolS8 } from "./kernels/pool";
import { softmaxS8 } from "./kernels/softmax";
import { requantizeS8 } from "./kernels/requantize";
import { builtinIncluded, runRegistered } from "./ops/dispatch";
import { HOST_DEPTHWISE, HOST_DOT, hostKernels, windowsByHost } from "./kernels/host";

export function runGraph(arena: usize): void {
  runOps(arena, 0, opCount);
}

// True from a load or a reset until an invoke has run the last op: the
// ONCE blocks (CALL_ONCE init graphs, variable fills) run only then.
let fresh = true;

export function restartState(): void {
  fresh = true;
}

// Runs ops [first, end). Hosts use single steps to read intermediate tensors.
export function runOps(arena: usize, first: i32, end: i32): void {
  let op = firstOp;
  let skip = 0; // records of a ONCE block still to pass over
  for (let i = 0; i < end; i++) {
    const opcode = load<i32>(op);
    if (skip > 0) skip--;
    else if (opcode == F.OP_ONCE) skip = fresh ? 0 : param(op, F.ONCE_COUNT);
    else if (i >= first) runOp(op, opcode, arena);
    op = nextOp(op);
  }
  if (end == opCount) fresh = false;
}

@inline
function at(arena: usize, op: usize, index: i32): usize {
  return arena + <usize>param(op, index);
}

@inline
function weightsAt(op: usize, index: i32): usize {
  return weightsPtr + <usize>param(op, index);
}

@inline
function overlapping(a: usize, aBytes: i32, b: usize, bBytes: i32): bool {
  return a < b + <usize>bBytes && b < a + <usize>aBytes;
}

// A conv or depthwise op over `inH` input rows at `input`, writing `outH`
// output rows at `output`: the whole tensors, or (incremental streaming) the
// last rows only, with `padTop` rows of padding above. Weights come a block
// of output channels at a time. When that takes several blocks and the
// output overlaps the input (the planner lets kernels write behind their
// reads), a later block would read what an earlier one wrote: then each
// output row is computed whole into the row buffer first.
export function runConv(op: usize, opcode: i32, input: usize, output: usize, inH: i32, outH: i32, padTop: i32): void {
  const inW = param(op, F.CONV_IN_W), inC = param(op, F.CONV_IN_C);
  const outW = param(op, F.CONV_OUT_W), outC = param(op, F.CONV_OUT_C);
  const kH = param(op, F.CONV_K_H), kW = param(op, F.CONV_K_W), sH = param(op, F.CONV_STRIDE_H), sW = param(op, F.CONV_STRIDE_W);
  const dH = param(op, F.CONV_DIL_H), dW = param(op, F.CONV_DIL_W), padLeft = param(op, F.CONV_PAD_LEFT);
  const inZp = param(op, F.CONV_IN_ZP), outZp = param(op, F.CONV_OUT_ZP), actMin = param(op, F.CONV_ACT_MIN), actMax = param(op, F.CONV_ACT_MAX);
  const bytesPerChannel = kH * kW * (opcode == F.OP_CONV ? inC : 1);
  const filter = weightsAt(op, F.CONV_WEIGHTS), records = weightsAt(op, F.CONV_CHANNELS);
  const block = channelsPerBlock(bytesPerChannel, outC);
  if (block < outC && overlapping(input, inH * inW * inC, output, outH * outW * outC)) {
    const inRow = inW * inC, outRow = outW * outC, reach = (kH - 1) * dH + 1;
    for (let oy = 0; oy < outH; oy++) {
      const top = oy * sH - padTop;
      const first = max(0, top);
      runConv(op, opcode, input + <usize>(first * inRow), rowBuffer, max(0, min(inH, top + reach) - first), 1, first - top);
      memory.copy(output + <usize>(oy * outRow), rowBuffer, <usize>outRow);
    }
    return;
  }
  if (ASC_FEATURE_SIMD) usePrepared(op, block == outC);
  for (let first = 0; first < outC; first += block) {
    const count = min(outC - first, block);
    fetchChannels(filter, records, first, count, bytesPerChannel);
    // The host kernels where the host has them (kernels/host.ts), called from
    // here rather than from the kernels so wasm3's deepest frame stays as small.
    if (opcode == F.OP_CONV ? (hostKernels & HOST_DOT) != 0 && dW == 1 : (hostKernels & HOST_DEPTHWISE) != 0 && outC == inC) {
      windowsByHost(opcode != F.OP_CONV, input, output, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, blockFilter, blockRecords, first, count);
      continue;
    }
    // builtinIncluded is a compile-time constant: a per-model module drops the kernels it lacks.
    if (opcode == F.OP_CONV) {
      if (builtinIncluded(F.OP_CONV)) convS8(input, output, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, blockFilter, blockRecords, first, count);
    } else if (builtinIncluded(F.OP_DEPTHWISE)) depthwiseS8(input, output, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, blockFilter, blockRecords, first, count);
  }
  if (ASC_FEATURE_SIMD) stopPrepared();
}

// A dense op over `rows` rows at `input`, writing them at `output`; row by
// row through the row buffer when blocks and an overlap call for it (above).
export function runDense(op: usize, input: usize, output: usize, rows: i32): void {
  const depth = param(op, F.DENSE_DEPTH), outC = param(op, F.DENSE_OUT_C);
  const inZp = param(op, F.DENSE_IN_ZP), outZp = param(op, F.DENSE_OUT_ZP), actMin = param(op, F.DENSE_ACT_MIN), actMax = param(op, F.DENSE_ACT_MAX);
  const filter = weightsAt(op, F.DENSE_WEIGHTS), records = weightsAt(op, F.DENSE_CHANNELS);
  const block = channelsPerBlock(depth, outC);
  if (block < outC && overlapping(input, rows * depth, output, rows * outC)) {
    for (let r = 0; r < rows; r++) {
      runDense(op, input + <usize>(r * depth), rowBuffer, 1);
      memory.copy(output + <usize>(r * outC), rowBuffer, <usize>outC);
    }
    return;
  }
  if (ASC_FEATURE_SIMD) usePrepared(op, block == outC);
  for (let first = 0; first < outC; first += block) {
    const count = min(outC - first, block);
    fetchChannels(filter, records, first, count, depth);
    if (builtinIncluded(F.OP_DENSE)) denseS8(input, output, rows, depth, outC, inZp, outZp, actMin, actMax, blockFilter, blockRecords, first, count);
  }
  if (ASC_FEATURE_SIMD) stopPrepared();
}

function runOp(op: usize, opcode: i32, arena: usize): void {
  switch (opcode) {
    // Direct calls on the opcode, not a function table: wasm2c and wasm3 then need no table.
    case F.OP_CONV:
    case F.OP_DEPTHWISE:
      runConv(op, opcode, at(arena, op, F.CONV_IN), at(arena, op, F.CONV_OUT), param(op, F.CONV_IN_H), param(op, F.CONV_OUT_H), param(op, F.CONV_PAD_TOP));
      break;
    case F.OP_DENSE:
      runDense(op, at(arena, op, F.DENSE_IN), at(arena, op, F.DENSE_OUT), param(op, F.DENSE_ROWS));
      break;
    case F.OP_AVG_POOL:
    case F.OP_MAX_POOL: {
      const input = at(arena, op, F.POOL_IN), output = at(arena, op, F.POOL_OUT);
      const inH = param(op, F.POOL_IN_H), inW = param(op, F.POOL_IN_W), c = param(op, F.POOL_C);
      const outH = param(op, F.POOL_OUT_H), outW = param(op, F.POOL_OUT_W), kH = param(op, F.POOL_K_H), kW = param(op, F.POOL_K_W);
      const sH = param(op, F.POOL_STRIDE_H), sW = param(op, F.POOL_STRIDE_W), padTop = param(op, F.POOL_PAD_TOP), padLeft = param(op, F.POOL_PAD_LEFT);
      const actMin = param(op, F.POOL_ACT_MIN), actMax = param(op, F.POOL_ACT_MAX);
      if (opcode == F.OP_AVG_POOL) {
        if (builtinIncluded(F.OP_AVG_POOL)) averagePoolS8(input, output, inH, inW, c, outH, outW, kH, kW, sH, sW, padTop, padLeft, actMin, actMax);
      } else if (builtinIncluded(F.OP_MAX_POOL)) maxPoolS8(input, output, inH, inW, c, outH, outW, kH, kW, sH, sW, padTop, padLeft, actMin, actMax);
      break;
    }
    case F.OP_SOFTMAX:
      if (builtinIncluded(F.OP_SOFTMAX)) softmaxS8(
        at(arena, op, F.SOFTMAX_IN), at(arena, op, F.SOFTMAX_OUT), param(op, F.SOFTMAX_ROWS), param(op, F.SOFTMAX_DEPTH),
        param(op, F.SOFTMAX_MULT), param(op, F.SOFTMAX_LEFT_SHIFT), param(op, F.SOFTMAX_DIFF_MIN),
      );
      break;
    case F.OP_REQUANTIZE:
      if (builtinIncluded(F.OP_REQUANTIZE)) requantizeS8(
        at(arena, op, F.REQUANT_IN), at(arena, op, F.REQUANT_OUT), param(op, F.REQUANT_COUNT),
        param(op, F.REQUANT_IN_ZP), param(op, F.REQUANT_OUT_ZP), param(op, F.REQUANT_MULT), param(op, F.REQUANT_SHIFT),
      );
      break;
    default:
      // The ops of assembly/ops/registry.json; wisp_load has rejected any other opcode.
      runRegistered(op, opcode, arena);
  }
}
