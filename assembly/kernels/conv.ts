// CONV_2D, int8, per-channel requantization, NHWC input, OHWI filter.
// The bias in each channel record already holds -inZp * sum(filter), so a
// window that lies inside the input needs only sum(filter * x); padded taps
// act as if they held the input zero point, which is what TFLM's skipping of
// them amounts to.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";
import { channelFilter, channelRecord } from "../weights";

@inline
function storeChannel(out: usize, acc: i32, record: usize, outZp: i32, actMin: i32, actMax: i32): void {
  store<i8>(out, <i8>requantize(acc, load<i32>(record, CHANNEL_MULT), load<i32>(record, CHANNEL_SHIFT), outZp, actMin, actMax));
}

export function convS8(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize,
): void {
  const filterSize = kH * kW * inC;
  const rowBytes = inW * inC;
  // With no horizontal dilation a kernel row is one contiguous run of bytes.
  const runLen = dilW == 1 ? kW * inC : inC;
  const runsPerRow = dilW == 1 ? 1 : kW;
  const runStep = <usize>(dilW * inC);
  const rowStep = <usize>(dilH * rowBytes);
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dilH < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      if (rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dilW < inW) {
        const origin = input + <usize>(iy0 * rowBytes + ix0 * inC);
        let oc = 0;
        // Four output channels share each input load.
        for (; oc + 4 <= outC; oc += 4) {
          const w0 = channelFilter(filter, oc, filterSize);
          const w1 = w0 + <usize>filterSize;
          const w2 = w1 + <usize>filterSize;
          const w3 = w2 + <usize>filterSize;
          const r0 = channelRecord(records, oc);
          let a0 = load<i32>(r0, CHANNEL_BIAS);
          let a1 = load<i32>(channelRecord(records, oc + 1), CHANNEL_BIAS);
          let a2 = load<i32>(channelRecord(records, oc + 2), CHANNEL_BIAS);
          let a3 = load<i32>(channelRecord(records, oc + 3), CHANNEL_BIAS);
          let wi: usize = 0;
          let rowStart = origin;
          for (let ky = 0; ky < kH; ky++) {
            let p = rowStart;
            for (let r = 0; r < runsPerRow; r++) {
              for (let i = 0; i < runLen; i++) {
                const x = <i32>load<i8>(p + <usize>i);
                const k = wi + <usize>i;
                a0 += x * <i32>load<i8>(w0 + k);
                a1 += x * <i32>load<i8>(w1 + k);
                a2 += x * <i32>load<i8>(w2 + k);
                a3 += x * <i32>load<i8>(w3 + k);
              }
              wi += <usize>runLen;
              p += runStep;
            }
            rowStart += rowStep;
          }
          storeChannel(out + <usize>oc, a0, r0, outZp, actMin, actMax);
          storeChannel(out + <usize>(oc + 1), a1, channelRecord(records, oc + 1), outZp, actMin, actMax);
          storeChannel(out + <usize>(oc + 2), a2, channelRecord(records, oc + 2), outZp, actMin, actMax);
          storeChannel(out + <usize>(oc + 3), a3, channelRecord(records, oc + 3), outZp, actMin, actMax);
        }
        for (; oc < outC; oc++) {
          const w = channelFilter(filter, oc, filterSize);
          const record = channelRecord(records, oc);
          let acc = load<i32>(record, CHANNEL_BIAS);
          let wi: usize = 0;
          let rowStart = origin;
          for (let ky = 0; ky < kH; ky++) {
            let p = rowStart;
            for (let r = 0; r < runsPerRow; r++) {
              for (let i = 0; i < runLen; i++) {
                acc += <i32>load<i8>(p + <usize>i) * <i32>load<i8>(w + wi + <usize>i);
              }
              wi += <usize>runLen;
              p += runStep;
            }
            rowStart += rowStep;
          }
          storeChannel(out + <usize>oc, acc, record, outZp, actMin, actMax);
        }
      } else {
        convEdgePixel(input, out, inH, inW, inC, outC, kH, kW, dilH, dilW, iy0, ix0, inZp, outZp, actMin, actMax, filter, records);
      }
      out += <usize>outC;
    }
  }
}

// A window that crosses the border: each tap is checked, padded taps count
// as the input zero point.
function convEdgePixel(
  input: usize, out: usize, inH: i32, inW: i32, inC: i32, outC: i32,
  kH: i32, kW: i32, dilH: i32, dilW: i32, iy0: i32, ix0: i32,
  inZp: i32, outZp: i32, actMin: i32, actMax: i32, filter: usize, records: usize,
): void {
  const filterSize = kH * kW * inC;
  for (let oc = 0; oc < outC; oc++) {
    const w = channelFilter(filter, oc, filterSize);
    const record = channelRecord(records, oc);
    let acc = load<i32>(record, CHANNEL_BIAS);
    let wi: usize = 0;
    for (let ky = 0; ky < kH; ky++) {
      const iy = iy0 + ky * dilH;
      for (let kx = 0; kx < kW; kx++) {
        const ix = ix0 + kx * dilW;
        if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
          const p = input + <usize>((iy * inW + ix) * inC);
          for (let i = 0; i < inC; i++) acc += <i32>load<i8>(p + <usize>i) * <i32>load<i8>(w + wi + <usize>i);
        } else {
          let sum = 0;
          for (let i = 0; i < inC; i++) sum += <i32>load<i8>(w + wi + <usize>i);
          acc += inZp * sum;
        }
        wi += <usize>inC;
      }
    }
    storeChannel(out + <usize>oc, acc, record, outZp, actMin, actMax);
  }
}
