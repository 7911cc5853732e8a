// Where kernels find weights. Resident mode: the model is in linear memory,
// and an op's filter and channel records are pointers into it. Streamed mode:
// the model stays with the host (in flash on a device); the interpreter
// fetches a block of output channels at a time (their filters, then their
// records) through the host import env.wisp_read into one window in linear
// memory, and runs the kernel on that block. A window that holds the largest
// op whole gives one block per op; a small one (a 16 KiB board) gives many.
import { CHANNEL_RECORD_BYTES } from "./format";

// Host ABI: copy `bytes` bytes at `offset` of the .wisp file to `dst`.
@external("env", "wisp_read")
export declare function hostRead(dst: usize, offset: u32, bytes: u32): void;

// Room the block layout may lose to aligning the records after the filters.
export const WINDOW_SLACK: i32 = 16;

let streamed = false;
let window: usize = 0;
let windowBytes: i32 = 0;
// One output row of the largest op that overlaps its input (streamed only).
export let rowBuffer: usize = 0;

export function useResidentWeights(): void {
  streamed = false;
}

export function useStreamedWeights(at: usize, bytes: i32, row: usize): void {
  streamed = true;
  window = at;
  windowBytes = bytes;
  rowBuffer = row;
}

// Output channels per block for an op with `outC` channels of
// `bytesPerChannel` filter bytes: all of them when resident; when streamed,
// as many as the window holds, in fours where possible so the kernels keep
// their four-channel loops. wisp_load_streamed checks that one fits.
export function channelsPerBlock(bytesPerChannel: i32, outC: i32): i32 {
  if (!streamed) return outC;
  const n = (windowBytes - WINDOW_SLACK) / (bytesPerChannel + CHANNEL_RECORD_BYTES);
  if (n >= outC) return outC;
  return n >= 4 ? n & ~3 : n;
}

// Where the current block's filter and records start (channel `first`'s).
export let blockFilter: usize = 0;
export let blockRecords: usize = 0;

// Makes channels [first, first + count) of an op readable by the kernels.
export function fetchChannels(filter: usize, records: usize, first: i32, count: i32, bytesPerChannel: i32): void {
  const filterAt = filter + <usize>(first * bytesPerChannel);
  const recordsAt = records + <usize>(first * CHANNEL_RECORD_BYTES);
  if (!streamed) {
    blockFilter = filterAt;
    blockRecords = recordsAt;
    return;
  }
  const filterBytes = count * bytesPerChannel;
  blockFilter = window;
  blockRecords = window + ((<usize>filterBytes + 15) & ~15);
  hostRead(blockFilter, <u32>filterAt, <u32>filterBytes);
  hostRead(blockRecords, <u32>recordsAt, <u32>(count * CHANNEL_RECORD_BYTES));
}

// A registered op's constant block of `bytes` at `address` (an address when
// resident, a file offset when streamed): readable where it is, or fetched
// to `slot` bytes into the window.
export function blockPointer(address: usize, bytes: i32, slot: i32): usize {
  if (!streamed) return address;
  const at = window + <usize>slot;
  hostRead(at, <u32>address, <u32>bytes);
  return at;
}

@inline
export function channelFilter(filter: usize, channel: i32, bytesPerChannel: i32): usize {
  return filter + <usize>(channel * bytesPerChannel);
}

@inline
export function channelRecord(records: usize, channel: i32): usize {
  return records + <usize>(channel * CHANNEL_RECORD_BYTES);
}
