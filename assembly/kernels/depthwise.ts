// DEPTHWISE_CONV_2D, int8, per-channel requantization. The converter stores
// the filter as [outC][kH*kW] so each output channel reads one short run.
// Output channel oc reads input channel oc / depthMultiplier. Like TFLM, each
// output sums filter * (input - inZp) over the taps inside the input. Pixels
// whose windows are whole in x are computed in pairs, sharing weight loads.
// Only `channels` output channels from firstChannel are computed (filter and
// records start at firstChannel's; the rest of the output is left alone), so
// streamed weights can arrive a block at a time.
import { channelFilter, channelRecord } from "../weights";
import { storeChannel, storeFourChannels } from "./output";
import { endInside, firstInside } from "./window";
import { byte0, byte1, byte2, byte3 } from "./bytes";
import { depthwiseSixteensAt, prepareDepthwise } from "./simd";

export function depthwiseS8(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize,
  firstChannel: i32, channels: i32,
): void {
  assert(outC % inC == 0, "depthwise: outC must be a multiple of inC");
  const taps = kH * kW;
  const depthMultiplier = outC / inC;
  if (ASC_FEATURE_SIMD) prepareDepthwise(filter, records, taps, channels, depthMultiplier);
  const rowBytes = inW * inC;
  const tapStepX = <usize>(dilW * inC);
  const tapStepY = <usize>(dilH * rowBytes);
  const pairStep = <usize>(strideW * inC);
  let out = output + <usize>firstChannel;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const kyStart = firstInside(iy0, dilH);
    const kyEnd = endInside(iy0, dilH, inH, kH);
    let ox = 0;
    while (ox < outW) {
      const ix0 = ox * strideW - padLeft;
      const kxStart = firstInside(ix0, dilW);
      const kxEnd = endInside(ix0, dilW, inW, kW);
      const pair = kxStart == 0 && kxEnd == kW && ox + 1 < outW && ix0 + strideW + (kW - 1) * dilW < inW;
      const origin = input + <usize>((iy0 + kyStart * dilH) * rowBytes + (ix0 + kxStart * dilW) * inC);
      const wOrigin = <usize>(kyStart * kW + kxStart);
      let oc = 0;
      // The SIMD build does the first channels sixteen at a time.
      if (ASC_FEATURE_SIMD) oc = depthwiseSixteensAt(origin + <usize>firstChannel, pair, pairStep, tapStepX, tapStepY, kyStart, kyEnd, kxStart, kxEnd, kW, inZp, out, outC, outZp, actMin, actMax);
      // Depth multiplier 1: four neighbouring channels share each tap's loop.
      if (depthMultiplier == 1) {
        for (; oc + 4 <= channels; oc += 4) {
          const w0 = channelFilter(filter, oc, taps) + wOrigin;
          const w1 = w0 + <usize>taps;
          const w2 = w1 + <usize>taps;
          const w3 = w2 + <usize>taps;
          let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
          let rowStart = origin + <usize>(firstChannel + oc);
          let wRow: usize = 0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            let p = rowStart;
            let k = wRow;
            for (let kx = kxStart; kx < kxEnd; kx++) {
              const f0 = <i32>load<i8>(w0 + k), f1 = <i32>load<i8>(w1 + k);
              const f2 = <i32>load<i8>(w2 + k), f3 = <i32>load<i8>(w3 + k);
              // The four channels' inputs are neighbours: one word.
              const xs = load<i32>(p);
              a0 += (byte0(xs) - inZp) * f0;
              a1 += (byte1(xs) - inZp) * f1;
              a2 += (byte2(xs) - inZp) * f2;
              a3 += (byte3(xs) - inZp) * f3;
              if (pair) {
                const ys = load<i32>(p + pairStep);
                b0 += (byte0(ys) - inZp) * f0;
                b1 += (byte1(ys) - inZp) * f1;
                b2 += (byte2(ys) - inZp) * f2;
                b3 += (byte3(ys) - inZp) * f3;
              }
              p += tapStepX;
              k++;
            }
            rowStart += tapStepY;
            wRow += <usize>kW;
          }
          storeFourChannels(out, oc, a0, a1, a2, a3, records, outZp, actMin, actMax);
          if (pair) storeFourChannels(out + <usize>outC, oc, b0, b1, b2, b3, records, outZp, actMin, actMax);
        }
      }
      // Remaining channels, and every channel when the depth multiplier is > 1.
      for (; oc < channels; oc++) {
        const ic = (firstChannel + oc) / depthMultiplier;
        const w = channelFilter(filter, oc, taps) + wOrigin;
        let acc = 0, accNext = 0;
        let rowStart = origin + <usize>ic;
        let wRow: usize = 0;
        for (let ky = kyStart; ky < kyEnd; ky++) {
          let p = rowStart;
          let k = wRow;
          for (let kx = kxStart; kx < kxEnd; kx++) {
            const f = <i32>load<i8>(w + k);
            acc += (<i32>load<i8>(p) - inZp) * f;
            if (pair) accNext += (<i32>load<i8>(p + pairStep) - inZp) * f;
            p += tapStepX;
            k++;
          }
          rowStart += tapStepY;
          wRow += <usize>kW;
        }
        const record = channelRecord(records, oc);
        storeChannel(out + <usize>oc, acc, record, outZp, actMin, actMax);
        if (pair) storeChannel(out + <usize>(outC + oc), accNext, record, outZp, actMin, actMax);
      }
      const pixels = pair ? 2 : 1;
      ox += pixels;
      out += <usize>(pixels * outC);
    }
  }
}
