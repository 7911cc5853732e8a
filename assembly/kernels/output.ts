// Writing per-channel results: add the channel's bias, requantize with its
// multiplier and shift, apply the fused activation range, store as int8.
// Shared by the conv, depthwise and dense kernels.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";
import { channelRecord } from "../weights";

@inline
export function storeChannel(out: usize, acc: i32, record: usize, outZp: i32, actMin: i32, actMax: i32): void {
  store<i8>(out, <i8>requantize(acc + load<i32>(record, CHANNEL_BIAS), load<i32>(record, CHANNEL_MULT), load<i32>(record, CHANNEL_SHIFT), outZp, actMin, actMax));
}

// Channels oc .. oc+3 of one pixel (or row).
@inline
export function storeFourChannels(out: usize, oc: i32, a0: i32, a1: i32, a2: i32, a3: i32, records: usize, outZp: i32, actMin: i32, actMax: i32): void {
  storeChannel(out + <usize>oc, a0, channelRecord(records, oc), outZp, actMin, actMax);
  storeChannel(out + <usize>(oc + 1), a1, channelRecord(records, oc + 1), outZp, actMin, actMax);
  storeChannel(out + <usize>(oc + 2), a2, channelRecord(records, oc + 2), outZp, actMin, actMax);
  storeChannel(out + <usize>(oc + 3), a3, channelRecord(records, oc + 3), outZp, actMin, actMax);
}
