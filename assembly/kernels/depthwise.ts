// DEPTHWISE_CONV_2D, int8, per-channel requantization. The converter stores
// the filter as [outC][kH*kW] so each output channel reads one short run.
// Output channel oc reads input channel oc / depthMultiplier. Like TFLM, each
// output sums filter * (input - inZp) over the taps inside the input. Pixels
// whose windows are whole in x are computed in pairs, sharing weight loads.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";
import { channelFilter, channelRecord } from "../weights";

@inline
function storeChannel(out: usize, acc: i32, record: usize, outZp: i32, actMin: i32, actMax: i32): void {
  store<i8>(out, <i8>requantize(acc + load<i32>(record, CHANNEL_BIAS), load<i32>(record, CHANNEL_MULT), load<i32>(record, CHANNEL_SHIFT), outZp, actMin, actMax));
}

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
  const pairStep = <usize>(strideW * inC);
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const kyStart = iy0 >= 0 ? 0 : (-iy0 + dilH - 1) / dilH;
    const kyEnd = min(kH, iy0 >= inH ? 0 : (inH - iy0 + dilH - 1) / dilH);
    let ox = 0;
    while (ox < outW) {
      const ix0 = ox * strideW - padLeft;
      const kxStart = ix0 >= 0 ? 0 : (-ix0 + dilW - 1) / dilW;
      const kxEnd = min(kW, ix0 >= inW ? 0 : (inW - ix0 + dilW - 1) / dilW);
      const pair = kxStart == 0 && kxEnd == kW && ox + 1 < outW && ix0 + strideW + (kW - 1) * dilW < inW;
      const origin = input + <usize>((iy0 + kyStart * dilH) * rowBytes + (ix0 + kxStart * dilW) * inC);
      const wOrigin = <usize>(kyStart * kW + kxStart);
      let oc = 0;
      for (let ic = 0; ic < inC; ic++) {
        for (let m = 0; m < depthMultiplier; m++, oc++) {
          const w = channelFilter(filter, oc, taps) + wOrigin;
          let acc = 0, accNext = 0;
          let rowStart = origin + <usize>ic;
          let wRow: usize = 0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            let p = rowStart;
            let k = wRow;
            if (pair) {
              for (let kx = kxStart; kx < kxEnd; kx++) {
                const f = <i32>load<i8>(w + k);
                acc += (<i32>load<i8>(p) - inZp) * f;
                accNext += (<i32>load<i8>(p + pairStep) - inZp) * f;
                p += tapStepX;
                k++;
              }
            } else {
              for (let kx = kxStart; kx < kxEnd; kx++) {
                acc += (<i32>load<i8>(p) - inZp) * <i32>load<i8>(w + k);
                p += tapStepX;
                k++;
              }
            }
            rowStart += tapStepY;
            wRow += <usize>kW;
          }
          const record = channelRecord(records, oc);
          storeChannel(out + <usize>oc, acc, record, outZp, actMin, actMax);
          if (pair) storeChannel(out + <usize>(outC + oc), accNext, record, outZp, actMin, actMax);
        }
      }
      const pixels = pair ? 2 : 1;
      ox += pixels;
      out += <usize>(pixels * outC);
    }
  }
}
