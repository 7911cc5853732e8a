// FULLY_CONNECTED, int8. Weights are [outC][depth]; per-tensor models repeat
// the same multiplier in every channel record. Like TFLM, each output is
// bias + sum(weight * (input - inZp)), requantized.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";
import { channelFilter, channelRecord } from "../weights";

@inline
function storeChannel(out: usize, acc: i32, record: usize, outZp: i32, actMin: i32, actMax: i32): void {
  store<i8>(out, <i8>requantize(acc + load<i32>(record, CHANNEL_BIAS), load<i32>(record, CHANNEL_MULT), load<i32>(record, CHANNEL_SHIFT), outZp, actMin, actMax));
}

export function denseS8(
  input: usize, output: usize, rows: i32, depth: i32, outC: i32,
  inZp: i32, outZp: i32, actMin: i32, actMax: i32, weights: usize, records: usize,
): void {
  for (let r = 0; r < rows; r++) {
    const x = input + <usize>(r * depth);
    const out = output + <usize>(r * outC);
    let oc = 0;
    // Four output channels share each input load.
    for (; oc + 4 <= outC; oc += 4) {
      const w0 = channelFilter(weights, oc, depth);
      const w1 = w0 + <usize>depth;
      const w2 = w1 + <usize>depth;
      const w3 = w2 + <usize>depth;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let i = 0; i < depth; i++) {
        const v = <i32>load<i8>(x + <usize>i) - inZp;
        a0 += v * <i32>load<i8>(w0 + <usize>i);
        a1 += v * <i32>load<i8>(w1 + <usize>i);
        a2 += v * <i32>load<i8>(w2 + <usize>i);
        a3 += v * <i32>load<i8>(w3 + <usize>i);
      }
      storeChannel(out + <usize>oc, a0, channelRecord(records, oc), outZp, actMin, actMax);
      storeChannel(out + <usize>(oc + 1), a1, channelRecord(records, oc + 1), outZp, actMin, actMax);
      storeChannel(out + <usize>(oc + 2), a2, channelRecord(records, oc + 2), outZp, actMin, actMax);
      storeChannel(out + <usize>(oc + 3), a3, channelRecord(records, oc + 3), outZp, actMin, actMax);
    }
    for (; oc < outC; oc++) {
      const w = channelFilter(weights, oc, depth);
      let acc = 0;
      for (let i = 0; i < depth; i++) acc += (<i32>load<i8>(x + <usize>i) - inZp) * <i32>load<i8>(w + <usize>i);
      storeChannel(out + <usize>oc, acc, channelRecord(records, oc), outZp, actMin, actMax);
    }
  }
}
