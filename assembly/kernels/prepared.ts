// The SIMD build's per-op cache of what its kernels derive from an op's
// constants: the channels' requantization vectors and the filters laid out
// again (Winograd's transformed filters, the int16 filters of the im2col
// products and of depthwise). TFLM computes such things once in Prepare; here
// the first invoke fills each op's entry and later ones reuse it, so an
// invoke no longer redoes them. Entries are keyed by the records or filter
// they came from, so a call with other ones (never in a loaded model) is
// recomputed rather than misread. Weights never change after a load, and an
// op whose weights arrive in several blocks (streamed) is never cached.
import * as F from "../format";
import { firstOp, nextOp, opCount, param } from "../model";
import { channelVectorBytes, depthwiseWeightCount } from "./simd";
import { directFilterBytes, noteConvRegion, reserveConvRegion, resetConvRegion } from "./matmul";
import { winogradFilterBytes } from "./winograd";
import { simdConvBytes } from "./conv";
import { simdDenseBytes, simdDenseFilterBytes } from "./dense";

// Per entry: records key, channel count key, filter key, then the capacities
// of its two parts (channel vectors, filters).
const HEADER = 32;
const MAX_TOTAL: u64 = 64 * 1024 * 1024;

@lazy let table: usize = 0; // opCount pairs: op record, its entry (0: none)
@lazy let current: usize = 0; // the running op's entry

function filterBytesFor(op: usize, opcode: i32): i64 {
  if (opcode == F.OP_CONV) {
    const inC = param(op, F.CONV_IN_C), outH = param(op, F.CONV_OUT_H), outW = param(op, F.CONV_OUT_W), outC = param(op, F.CONV_OUT_C);
    const kH = param(op, F.CONV_K_H), kW = param(op, F.CONV_K_W), sH = param(op, F.CONV_STRIDE_H), sW = param(op, F.CONV_STRIDE_W);
    const dH = param(op, F.CONV_DIL_H), dW = param(op, F.CONV_DIL_W);
    const winograd = winogradFilterBytes(kH, kW, sH, sW, dH, dW, inC, outC, outH, outW);
    return winograd != 0 ? winograd : directFilterBytes(kH, kW, inC, outC, outH, outW);
  }
  if (opcode == F.OP_DEPTHWISE) {
    const inC = param(op, F.CONV_IN_C), outC = param(op, F.CONV_OUT_C);
    return <i64>depthwiseWeightCount(param(op, F.CONV_K_H) * param(op, F.CONV_K_W), outC, outC / inC) * 2;
  }
  if (opcode == F.OP_DENSE) return simdDenseFilterBytes(param(op, F.DENSE_ROWS), param(op, F.DENSE_DEPTH), param(op, F.DENSE_OUT_C));
  return 0;
}

// Bytes op needs of matmul.ts's region (shared by all ops, sized for the largest).
function regionBytesFor(op: usize, opcode: i32): i64 {
  if (opcode == F.OP_CONV) {
    return simdConvBytes(param(op, F.CONV_IN_C), param(op, F.CONV_OUT_H), param(op, F.CONV_OUT_W), param(op, F.CONV_OUT_C), param(op, F.CONV_K_H), param(op, F.CONV_K_W),
      param(op, F.CONV_STRIDE_H), param(op, F.CONV_STRIDE_W), param(op, F.CONV_DIL_H), param(op, F.CONV_DIL_W));
  }
  if (opcode == F.OP_DENSE) return simdDenseBytes(param(op, F.DENSE_ROWS), param(op, F.DENSE_DEPTH), param(op, F.DENSE_OUT_C));
  return 0;
}

function channelsFor(op: usize, opcode: i32): i32 {
  if (opcode == F.OP_CONV || opcode == F.OP_DEPTHWISE) return param(op, F.CONV_OUT_C);
  if (opcode == F.OP_DENSE) return param(op, F.DENSE_OUT_C);
  return 0;
}

// Places the table and the entries from `end` (after a load), then
// matmul.ts's region for the largest op; returns the new end. Writes nothing:
// fillPrepared does, once the memory is there.
export function placePrepared(end: usize): usize {
  table = (end + 15) & ~15;
  resetConvRegion();
  return reserveConvRegion(layOut(false));
}

export function fillPrepared(): void {
  layOut(true);
}

function layOut(write: bool): usize {
  let at = (table + <usize>(opCount * 8) + 15) & ~15;
  let total: u64 = 0;
  let op = firstOp;
  for (let i = 0; i < opCount; i++) {
    const opcode = load<i32>(op);
    if (!write) noteConvRegion(regionBytesFor(op, opcode));
    const channels = channelsFor(op, opcode);
    let entry: usize = 0;
    if (channels > 0) {
      const vectors = channelVectorBytes(channels);
      const filters = filterBytesFor(op, opcode);
      const bytes = <u64>HEADER + <u64>vectors + <u64>filters;
      if (total + bytes <= MAX_TOTAL) {
        entry = at;
        if (write) {
          memory.fill(entry, 0, HEADER);
          store<i32>(entry, vectors, 12);
          store<i32>(entry, <i32>filters, 16);
        }
        at = (at + <usize>bytes + 15) & ~15;
        total += bytes;
      }
    }
    if (write) {
      store<usize>(table + <usize>(i * 8), op);
      store<usize>(table + <usize>(i * 8), entry, 4);
    }
    op = nextOp(op);
  }
  return at;
}

// Makes `op`'s entry the one the kernels use (none when `use` is false).
export function usePrepared(op: usize, use: bool): void {
  current = 0;
  if (!use) return;
  let lo = 0, hi = opCount - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = load<usize>(table + <usize>(mid * 8));
    if (at == op) {
      current = load<usize>(table + <usize>(mid * 8), 4);
      return;
    }
    if (at < op) lo = mid + 1;
    else hi = mid - 1;
  }
}

export function stopPrepared(): void {
  current = 0;
}

// Where the running op's channel vectors for `channels` channels of
// `records` go (0: no room, compute them elsewhere), and whether they are
// already there.
export function preparedChannels(channels: i32): usize {
  return current != 0 && channelVectorBytes(channels) <= load<i32>(current, 12) ? current + HEADER : 0;
}

export function channelsReady(records: usize, channels: i32): bool {
  return load<usize>(current) == records && load<i32>(current, 4) == channels;
}

export function markChannels(records: usize, channels: i32): void {
  store<usize>(current, records);
  store<i32>(current, channels, 4);
}

// Where the running op's laid-out filters (`bytes` of them) go: its entry
// when it has room, else `fallback`. filtersReady: whether `at` already holds
// those of `filter` (only ever the entry, once markFilters noted them).
export function filtersAt(bytes: i64, fallback: usize): usize {
  return current != 0 && bytes <= <i64>load<i32>(current, 16) ? entryFilters() : fallback;
}

export function filtersReady(at: usize, filter: usize): bool {
  return current != 0 && at == entryFilters() && load<usize>(current, 8) == filter;
}

export function markFilters(at: usize, filter: usize): void {
  if (current != 0 && at == entryFilters()) store<usize>(current, filter, 8);
}

@inline function entryFilters(): usize {
  return current + HEADER + <usize>load<i32>(current, 12);
}
