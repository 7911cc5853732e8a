// CONV_2D, int8, per-channel requantization, NHWC input, OHWI filter.
// Like TFLM, each output sums filter * (input - inZp) over the taps that fall
// inside the input, then adds the bias and requantizes. Interior pixels are
// computed two at a time and channels four at a time, so every weight load
// serves two pixels and every input load serves four channels.
// Only `channels` output channels from firstChannel are computed (filter and
// records start at firstChannel's; the rest of the output is left alone), so
// streamed weights can arrive a block at a time.
import { channelFilter, channelRecord } from "../weights";
import { storeChannel, storeFourChannels } from "./output";
import { endInside, firstInside } from "./window";
import { byte0, byte1, byte2, byte3 } from "./bytes";
import { dotFourChannels, prepareChannels } from "./simd";
import { dotPixelPairFour, INTERPRETER, PAIR_TAPS } from "./lanes";
import { convWinograd, winogradBytes } from "./winograd";
import { convDirect, directBytes } from "./matmul";

// Bytes the SIMD build's conv paths need of the region matmul.ts reserves
// (noted at load for each conv).
export function simdConvBytes(inC: i32, outH: i32, outW: i32, outC: i32, kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32): i64 {
  const winograd = winogradBytes(kH, kW, strideH, strideW, dilH, dilW, inC, outC, outH, outW);
  return winograd != 0 ? winograd : directBytes(kH, kW, inC, outC, outH, outW);
}

export function convS8(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize,
  firstChannel: i32, channels: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    if (convWinograd(input, output, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, records, firstChannel, channels)) return;
    if (convDirect(input, output, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, records, firstChannel, channels)) return;
    prepareChannels(records, channels);
  }
  const filterSize = kH * kW * inC;
  const rowBytes = inW * inC;
  const pairStep = <usize>(strideW * inC); // input distance between neighbouring output pixels
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
      // With no horizontal dilation the valid taps of a kernel row are one
      // contiguous run; otherwise each tap is a run of inC bytes.
      const runLen = dilW == 1 ? (kxEnd - kxStart) * inC : inC;
      const runs = dilW == 1 ? (kxEnd > kxStart ? 1 : 0) : kxEnd - kxStart;
      const runStep = <usize>(dilW * inC);
      const origin = input + <usize>((iy0 + kyStart * dilH) * rowBytes + (ix0 + kxStart * dilW) * inC);
      const wOrigin = (kyStart * kW + kxStart) * inC;
      const rowStep = <usize>(dilH * rowBytes);
      // Two pixels at once when both windows are whole in x (rows are shared).
      const pair = kxStart == 0 && kxEnd == kW && ox + 1 < outW && ix0 + strideW + (kW - 1) * dilW < inW && (!INTERPRETER || filterSize <= PAIR_TAPS);
      let oc = 0;
      for (; oc + 4 <= channels; oc += 4) {
        const w0 = channelFilter(filter, oc, filterSize) + <usize>wOrigin;
        if (ASC_FEATURE_SIMD) {
          dotFourChannels(origin, pairStep, pair, w0, <usize>filterSize, kyEnd - kyStart, rowStep, <usize>(kW * inC), runs, runLen, runStep, <usize>inC,
            inZp, out, oc, outC, records, outZp, actMin, actMax);
          continue;
        }
        if (INTERPRETER && pair) {
          dotPixelPairFour(origin, pairStep, w0, <usize>filterSize, kyEnd - kyStart, rowStep, <usize>(kW * inC), runs, runLen, runStep, <usize>inC,
            inZp, out, oc, outC, records, outZp, actMin, actMax);
          continue;
        }
        const w1 = w0 + <usize>filterSize;
        const w2 = w1 + <usize>filterSize;
        const w3 = w2 + <usize>filterSize;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        let rowStart = origin;
        let wRow: usize = 0;
        for (let ky = kyStart; ky < kyEnd; ky++) {
          let p = rowStart;
          let wi = wRow;
          for (let r = 0; r < runs; r++) {
            if (!INTERPRETER && pair) { // (the interpreter build took pairs above)
              const q = p + pairStep;
              let i = 0;
              for (; i + 4 <= runLen; i += 4) {
                const k = wi + <usize>i;
                const xs = load<i32>(p + <usize>i), ys = load<i32>(q + <usize>i);
                const x0 = byte0(xs) - inZp, x1 = byte1(xs) - inZp, x2 = byte2(xs) - inZp, x3 = byte3(xs) - inZp;
                const y0 = byte0(ys) - inZp, y1 = byte1(ys) - inZp, y2 = byte2(ys) - inZp, y3 = byte3(ys) - inZp;
                let f = load<i32>(w0 + k);
                a0 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                b0 += y0 * byte0(f) + y1 * byte1(f) + y2 * byte2(f) + y3 * byte3(f);
                f = load<i32>(w1 + k);
                a1 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                b1 += y0 * byte0(f) + y1 * byte1(f) + y2 * byte2(f) + y3 * byte3(f);
                f = load<i32>(w2 + k);
                a2 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                b2 += y0 * byte0(f) + y1 * byte1(f) + y2 * byte2(f) + y3 * byte3(f);
                f = load<i32>(w3 + k);
                a3 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                b3 += y0 * byte0(f) + y1 * byte1(f) + y2 * byte2(f) + y3 * byte3(f);
              }
              for (; i < runLen; i++) {
                const k = wi + <usize>i;
                const x = <i32>load<i8>(p + <usize>i) - inZp;
                const y = <i32>load<i8>(q + <usize>i) - inZp;
                const f0 = <i32>load<i8>(w0 + k), f1 = <i32>load<i8>(w1 + k);
                const f2 = <i32>load<i8>(w2 + k), f3 = <i32>load<i8>(w3 + k);
                a0 += x * f0; a1 += x * f1; a2 += x * f2; a3 += x * f3;
                b0 += y * f0; b1 += y * f1; b2 += y * f2; b3 += y * f3;
              }
            } else {
              let i = 0;
              for (; i + 4 <= runLen; i += 4) {
                const k = wi + <usize>i;
                const xs = load<i32>(p + <usize>i);
                const x0 = byte0(xs) - inZp, x1 = byte1(xs) - inZp, x2 = byte2(xs) - inZp, x3 = byte3(xs) - inZp;
                let f = load<i32>(w0 + k);
                a0 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                f = load<i32>(w1 + k);
                a1 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                f = load<i32>(w2 + k);
                a2 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
                f = load<i32>(w3 + k);
                a3 += x0 * byte0(f) + x1 * byte1(f) + x2 * byte2(f) + x3 * byte3(f);
              }
              for (; i < runLen; i++) {
                const k = wi + <usize>i;
                const x = <i32>load<i8>(p + <usize>i) - inZp;
                a0 += x * <i32>load<i8>(w0 + k);
                a1 += x * <i32>load<i8>(w1 + k);
                a2 += x * <i32>load<i8>(w2 + k);
                a3 += x * <i32>load<i8>(w3 + k);
              }
            }
            p += runStep;
            wi += <usize>inC;
          }
          rowStart += rowStep;
          wRow += <usize>(kW * inC);
        }
        storeFourChannels(out, oc, a0, a1, a2, a3, records, outZp, actMin, actMax);
        if (!INTERPRETER && pair) storeFourChannels(out + <usize>outC, oc, b0, b1, b2, b3, records, outZp, actMin, actMax);
      }
      // Remaining channels one at a time, for each pixel of the pair.
      const pixels = pair ? 2 : 1;
      for (; oc < channels; oc++) {
        const w = channelFilter(filter, oc, filterSize) + <usize>wOrigin;
        const record = channelRecord(records, oc);
        for (let px = 0; px < pixels; px++) {
          let acc = 0;
          let rowStart = origin + <usize>px * pairStep;
          let wRow: usize = 0;
          for (let ky = kyStart; ky < kyEnd; ky++) {
            let p = rowStart;
            let wi = wRow;
            for (let r = 0; r < runs; r++) {
              for (let i = 0; i < runLen; i++) acc += (<i32>load<i8>(p + <usize>i) - inZp) * <i32>load<i8>(w + wi + <usize>i);
              p += runStep;
              wi += <usize>inC;
            }
            rowStart += rowStep;
            wRow += <usize>(kW * inC);
          }
          storeChannel(out + <usize>(px * outC + oc), acc, record, outZp, actMin, actMax);
        }
      }
      ox += pixels;
      out += <usize>(pixels * outC);
    }
  }
}
