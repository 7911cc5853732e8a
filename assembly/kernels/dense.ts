// FULLY_CONNECTED, int8, and every 1x1 stride-1 convolution (the converter
// lowers those here: each pixel is a row). Weights are [outC][depth]; per-tensor
// models repeat the same multiplier in every channel record. Like TFLM, each
// output is bias + sum(weight * (input - inZp)), requantized. Rows go two at a
// time and channels four at a time, so every load serves several products.
// Only `channels` output channels from firstChannel are computed (filter and
// records start at firstChannel's; the rest of the output is left alone), so
// streamed weights can arrive a block at a time.
import { channelFilter, channelRecord } from "../weights";
import { storeChannel, storeFourChannels } from "./output";
import { byte0, byte1, byte2, byte3 } from "./bytes";
import { dotFourChannels, dotRowEight, prepareChannels } from "./simd";
import { convDirect, directBytes, directFilterBytes } from "./matmul";
import { HOST_DOT, hostDotS8, hostKernels } from "./host";
import { dotPackedPairFour, dotPixelPairFour, INTERPRETER, packRowPair, PAIR_BUFFER_TAPS, PAIR_TAPS } from "./lanes";

// What the SIMD build's dense path needs of matmul.ts's region (noted at
// load) and keeps per op (prepared.ts).
export function simdDenseBytes(rows: i32, depth: i32, outC: i32): i64 {
  return rows >= 4 ? directBytes(1, 1, depth, outC, rows, 1) : 0;
}

export function simdDenseFilterBytes(rows: i32, depth: i32, outC: i32): i64 {
  return rows >= 4 ? directFilterBytes(1, 1, depth, outC, rows, 1) : 0;
}

export function denseS8(
  input: usize, output: usize, rows: i32, depth: i32, outC: i32,
  inZp: i32, outZp: i32, actMin: i32, actMax: i32, weights: usize, records: usize,
  firstChannel: i32, channels: i32,
): void {
  // The host kernel does every row in one call (kernels/host.ts).
  if (hostKernels & HOST_DOT) {
    hostDotS8(output + <usize>firstChannel, outC, rows, input, depth, 1, 0, depth, weights, depth, 0, channels, records, inZp, outZp, actMin, actMax);
    return;
  }
  if (ASC_FEATURE_SIMD) {
    // Four rows or more: as a 1x1 conv over rows x 1 pixels (matmul.ts).
    if (rows >= 4 && convDirect(input, output, rows, 1, depth, rows, 1, outC, 1, 1, 1, 1, 1, 1, 0, 0, inZp, outZp, actMin, actMax, weights, records, firstChannel, channels)) return;
    prepareChannels(records, channels);
  }
  let r = 0;
  while (r < rows) {
    const pair = r + 1 < rows && (!INTERPRETER || depth <= PAIR_TAPS);
    const x = input + <usize>(r * depth);
    const y = x + <usize>depth;
    const out = output + <usize>(r * outC + firstChannel);
    const packed = INTERPRETER && pair && depth <= PAIR_BUFFER_TAPS;
    if (packed) packRowPair(x, depth, inZp);
    let oc = 0;
    if (ASC_FEATURE_SIMD && !pair) {
      for (; oc + 8 <= channels; oc += 8) dotRowEight(x, channelFilter(weights, oc, depth), depth, inZp, out, oc, records, outZp, actMin, actMax);
    }
    for (; oc + 4 <= channels; oc += 4) {
      const w0 = channelFilter(weights, oc, depth);
      if (ASC_FEATURE_SIMD) {
        dotFourChannels(x, <usize>depth, pair, w0, <usize>depth, 1, 0, 0, 1, depth, 0, 0, inZp, out, oc, outC, records, outZp, actMin, actMax);
        continue;
      }
      if (packed) {
        dotPackedPairFour(depth, w0, out, oc, outC, records, outZp, actMin, actMax);
        continue;
      }
      if (INTERPRETER && pair) {
        dotPixelPairFour(x, <usize>depth, w0, <usize>depth, 1, 0, 0, 1, depth, 0, 0, inZp, out, oc, outC, records, outZp, actMin, actMax);
        continue;
      }
      const w1 = w0 + <usize>depth;
      const w2 = w1 + <usize>depth;
      const w3 = w2 + <usize>depth;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      if (!INTERPRETER && pair) { // (the interpreter build took pairs above)
        let i = 0;
        for (; i + 4 <= depth; i += 4) {
          const xs = load<i32>(x + <usize>i), ys = load<i32>(y + <usize>i);
          const u0 = byte0(xs) - inZp, u1 = byte1(xs) - inZp, u2 = byte2(xs) - inZp, u3 = byte3(xs) - inZp;
          const v0 = byte0(ys) - inZp, v1 = byte1(ys) - inZp, v2 = byte2(ys) - inZp, v3 = byte3(ys) - inZp;
          let f = load<i32>(w0 + <usize>i);
          a0 += u0 * byte0(f) + u1 * byte1(f) + u2 * byte2(f) + u3 * byte3(f);
          b0 += v0 * byte0(f) + v1 * byte1(f) + v2 * byte2(f) + v3 * byte3(f);
          f = load<i32>(w1 + <usize>i);
          a1 += u0 * byte0(f) + u1 * byte1(f) + u2 * byte2(f) + u3 * byte3(f);
          b1 += v0 * byte0(f) + v1 * byte1(f) + v2 * byte2(f) + v3 * byte3(f);
          f = load<i32>(w2 + <usize>i);
          a2 += u0 * byte0(f) + u1 * byte1(f) + u2 * byte2(f) + u3 * byte3(f);
          b2 += v0 * byte0(f) + v1 * byte1(f) + v2 * byte2(f) + v3 * byte3(f);
          f = load<i32>(w3 + <usize>i);
          a3 += u0 * byte0(f) + u1 * byte1(f) + u2 * byte2(f) + u3 * byte3(f);
          b3 += v0 * byte0(f) + v1 * byte1(f) + v2 * byte2(f) + v3 * byte3(f);
        }
        for (; i < depth; i++) {
          const u = <i32>load<i8>(x + <usize>i) - inZp;
          const v = <i32>load<i8>(y + <usize>i) - inZp;
          const f0 = <i32>load<i8>(w0 + <usize>i), f1 = <i32>load<i8>(w1 + <usize>i);
          const f2 = <i32>load<i8>(w2 + <usize>i), f3 = <i32>load<i8>(w3 + <usize>i);
          a0 += u * f0; a1 += u * f1; a2 += u * f2; a3 += u * f3;
          b0 += v * f0; b1 += v * f1; b2 += v * f2; b3 += v * f3;
        }
      } else {
        // A single row (a dense layer, or one new row when streaming): with
        // no second row to share the weight loads, read four bytes per load.
        let i = 0;
        for (; i + 4 <= depth; i += 4) {
          const xs = load<i32>(x + <usize>i);
          const u0 = byte0(xs) - inZp, u1 = byte1(xs) - inZp, u2 = byte2(xs) - inZp, u3 = byte3(xs) - inZp;
          const f0 = load<i32>(w0 + <usize>i), f1 = load<i32>(w1 + <usize>i);
          const f2 = load<i32>(w2 + <usize>i), f3 = load<i32>(w3 + <usize>i);
          a0 += u0 * byte0(f0) + u1 * byte1(f0) + u2 * byte2(f0) + u3 * byte3(f0);
          a1 += u0 * byte0(f1) + u1 * byte1(f1) + u2 * byte2(f1) + u3 * byte3(f1);
          a2 += u0 * byte0(f2) + u1 * byte1(f2) + u2 * byte2(f2) + u3 * byte3(f2);
          a3 += u0 * byte0(f3) + u1 * byte1(f3) + u2 * byte2(f3) + u3 * byte3(f3);
        }
        for (; i < depth; i++) {
          const u = <i32>load<i8>(x + <usize>i) - inZp;
          a0 += u * <i32>load<i8>(w0 + <usize>i);
          a1 += u * <i32>load<i8>(w1 + <usize>i);
          a2 += u * <i32>load<i8>(w2 + <usize>i);
          a3 += u * <i32>load<i8>(w3 + <usize>i);
        }
      }
      storeFourChannels(out, oc, a0, a1, a2, a3, records, outZp, actMin, actMax);
      if (!INTERPRETER && pair) storeFourChannels(out + <usize>outC, oc, b0, b1, b2, b3, records, outZp, actMin, actMax);
    }
    const count = pair ? 2 : 1;
    for (; oc < channels; oc++) {
      const w = channelFilter(weights, oc, depth);
      const record = channelRecord(records, oc);
      for (let k = 0; k < count; k++) {
        const row = x + <usize>(k * depth);
        let acc = 0;
        for (let i = 0; i < depth; i++) acc += (<i32>load<i8>(row + <usize>i) - inZp) * <i32>load<i8>(w + <usize>i);
        storeChannel(out + <usize>(k * outC + oc), acc, record, outZp, actMin, actMax);
      }
    }
    r += count;
  }
}

