// DEPTHWISE_CONV_2D, int8, per-channel requantization. The converter stores
// the filter as [outC][kH*kW] so each output channel reads one short run.
// Output channel oc reads input channel oc / depthMultiplier. As in conv.ts,
// the bias already holds -inZp * sum(filter) and padded taps count as inZp.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";
import { channelFilter, channelRecord } from "../weights";

export function depthwiseS8(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize,
): void {
  assert(outC % inC == 0, "depthwise: outC must be a multiple of inC");
  const taps = kH * kW;
  const depthMultiplier = outC / inC;
  const rowBytes = inW * inC;
  const tapStepX = <usize>(dilW * inC);
  const tapStepY = <usize>(dilH * rowBytes);
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dilH < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dilW < inW;
      const origin = input + <usize>(iy0 * rowBytes + ix0 * inC);
      let oc = 0;
      for (let ic = 0; ic < inC; ic++) {
        for (let m = 0; m < depthMultiplier; m++, oc++) {
          const w = channelFilter(filter, oc, taps);
          const record = channelRecord(records, oc);
          let acc = load<i32>(record, CHANNEL_BIAS);
          if (inside) {
            let rowStart = origin + <usize>ic;
            let k: usize = 0;
            for (let ky = 0; ky < kH; ky++) {
              let p = rowStart;
              for (let kx = 0; kx < kW; kx++) {
                acc += <i32>load<i8>(p) * <i32>load<i8>(w + k);
                p += tapStepX;
                k++;
              }
              rowStart += tapStepY;
            }
          } else {
            let k: usize = 0;
            for (let ky = 0; ky < kH; ky++) {
              const iy = iy0 + ky * dilH;
              for (let kx = 0; kx < kW; kx++) {
                const ix = ix0 + kx * dilW;
                const x = iy >= 0 && iy < inH && ix >= 0 && ix < inW
                  ? <i32>load<i8>(input + <usize>((iy * inW + ix) * inC + ic))
                  : inZp;
                acc += x * <i32>load<i8>(w + k);
                k++;
              }
            }
          }
          store<i8>(out + <usize>oc, <i8>requantize(acc, load<i32>(record, CHANNEL_MULT), load<i32>(record, CHANNEL_SHIFT), outZp, actMin, actMax));
        }
      }
      out += <usize>outC;
    }
  }
}
