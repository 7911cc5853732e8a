// Every kernel reaches an output channel's weights and its per-channel record
// through these two functions. Today the weights are resident in linear memory,
// so they are pointer arithmetic; a streaming host can replace them with a
// fetch into a small window without touching the kernels.
import { CHANNEL_RECORD_BYTES } from "./format";

@inline
export function channelFilter(filter: usize, channel: i32, bytesPerChannel: i32): usize {
  return filter + <usize>(channel * bytesPerChannel);
}

@inline
export function channelRecord(records: usize, channel: i32): usize {
  return records + <usize>(channel * CHANNEL_RECORD_BYTES);
}
