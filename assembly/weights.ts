// Where kernels find weights. Resident mode: the model is in linear memory,
// and an op's filter and channel records are pointers into it. Streamed mode:
// the model stays with the host (in flash on a device); before each op runs,
// the interpreter fetches the op's filter and records through the host import
// env.wisp_read into a window in linear memory, so the kernels are the same
// in both modes and pay nothing for streaming.
import { CHANNEL_RECORD_BYTES } from "./format";

// Host ABI: copy `bytes` bytes at `offset` of the .wisp file to `dst`.
@external("env", "wisp_read")
export declare function hostRead(dst: usize, offset: u32, bytes: u32): void;

let streamed = false;
let filterWindow: usize = 0;
let recordWindow: usize = 0;

export function useResidentWeights(): void {
  streamed = false;
}

export function useStreamedWeights(filters: usize, records: usize): void {
  streamed = true;
  filterWindow = filters;
  recordWindow = records;
}

// An op's filter of `bytes` bytes at `filter` (an address, or a file offset
// when streamed), where the kernel can read it.
export function opFilter(filter: usize, bytes: i32): usize {
  if (!streamed) return filter;
  hostRead(filterWindow, <u32>filter, <u32>bytes);
  return filterWindow;
}

// An op's per-channel records, likewise.
export function opRecords(records: usize, channels: i32): usize {
  if (!streamed) return records;
  hostRead(recordWindow, <u32>records, <u32>(channels * CHANNEL_RECORD_BYTES));
  return recordWindow;
}

@inline
export function channelFilter(filter: usize, channel: i32, bytesPerChannel: i32): usize {
  return filter + <usize>(channel * bytesPerChannel);
}

@inline
export function channelRecord(records: usize, channel: i32): usize {
  return records + <usize>(channel * CHANNEL_RECORD_BYTES);
}
