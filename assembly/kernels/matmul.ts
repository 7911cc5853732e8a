// The SIMD build's int16 matrix products for CONV_2D: the inputs (less their
// zero point) and the filters widened to int16, then, for each of a few
// `positions`, M = U V over the depth, four rows (pixels or tiles) by eight
// channels at a time with i32x4.dot_i16x8_s over depth pairs. Direct
// convolutions (one position: U is the im2col of the windows) and
// winograd.ts (16 positions) share it. int16 products summed into int32 lanes
// wrap alike in any order, so every sum equals the scalar kernel's.
// The region it works in is sized at load for the model's largest conv or
// dense layer and placed by prepared.ts.
import { channelGroup, lowBytes, MAX_VECTOR_CHANNELS, prepareChannels, requantizeFour } from "./simd";
import { filtersAt, filtersReady, markFilters } from "./prepared";

// A chunk of whole output rows is gathered at a time, about this many bytes of
// inputs and sums (always at least one row).
const CHUNK_TARGET_BYTES = 48 * 1024;
// The most a model may reserve for it.
const MAX_REGION_BYTES: i64 = 8 * 1024 * 1024;

@lazy let region: usize = 0;
@lazy let regionBytes: i64 = 0;
@lazy let neededBytes: i64 = 0;

export function resetConvRegion(): void {
  neededBytes = 0;
}

// Loading notes each op's need (prepared.ts), so the region fits the largest.
export function noteConvRegion(bytes: i64): void {
  neededBytes = max(neededBytes, bytes);
}

// Places the region at `end` (16-aligned); returns the new end.
export function reserveConvRegion(end: usize): usize {
  region = (end + 15) & ~15;
  regionBytes = neededBytes;
  return region + <usize>neededBytes;
}

// How many of `rows` rows of `rowItems` items (pixels or tiles) a chunk takes:
// at least four items' worth (the product goes four items at a time), in
// fours where rows are single items (dense layers).
export function chunkRows(rows: i32, rowItems: i32, positions: i32, depth: i32, channels: i32): i32 {
  const rowBytes = <i64>positions * rowItems * (depth * 2 + channels * 4);
  const least = min(rows, (4 + rowItems - 1) / rowItems);
  let n = <i32>max<i64>(<i64>least, min<i64>(<i64>rows, <i64>CHUNK_TARGET_BYTES / rowBytes));
  if (rowItems == 1 && n > 4) n &= ~3;
  return n;
}

@inline export function roundUp4(n: i32): i32 {
  return (n + 3) & ~3;
}

// Bytes a call needs: V, then U and M for a chunk of `items` items, then extra.
export function regionFor(positions: i32, depth: i32, channels: i32, items: i32, extra: i32): i64 {
  if ((depth & 7) != 0 || (channels & 3) != 0 || channels > MAX_VECTOR_CHANNELS) return 0;
  const bytes = <i64>positions * depth * channels * 2 + <i64>positions * roundUp4(items) * (depth * 2 + channels * 4) + extra;
  return bytes > MAX_REGION_BYTES ? 0 : bytes;
}

// Whether the region holds `bytes` (noted at load; false sends the caller to
// its other path).
export function regionHolds(bytes: i64): bool {
  return bytes != 0 && bytes <= regionBytes;
}

export function regionStart(): usize {
  return region;
}

// For each position: M = U V over `depth` (a multiple of 8), `items` rows
// (a multiple of 4) by `channels` (a multiple of 4). U: position, item, depth,
// int16. V: position, then pairs of channel groups (four channels each), per
// depth pair both groups' [c0d0 c0d1 c1d0 c1d1 c2d0 c2d1 c3d0 c3d1] (an odd
// last group alone): a dot with a splat depth pair of U gives a group's four
// sums (vAt). M: position, item, channel, int32.
export function multiply(u: usize, v: usize, m: usize, positions: i32, items: i32, depth: i32, channels: i32): void {
  const pairs = depth >> 1;
  const groups = channels >> 2;
  const uItem = <usize>(depth * 2), mItem = <usize>(channels * 4);
  const zero = i32x4.splat(0);
  for (let pos = 0; pos < positions; pos++) {
    const uPos = u + <usize>pos * <usize>items * uItem;
    const vPos = v + <usize>pos * <usize>(channels * depth * 2);
    const mPos = m + <usize>pos * <usize>items * mItem;
    for (let t = 0; t < items; t += 4) {
      const u0 = uPos + <usize>t * uItem, u1 = u0 + uItem, u2 = u1 + uItem, u3 = u2 + uItem;
      const m0 = mPos + <usize>t * mItem, m1 = m0 + mItem, m2 = m1 + mItem, m3 = m2 + mItem;
      let g = 0;
      for (; g + 2 <= groups; g += 2) {
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        let w = vAt(vPos, g, groups, pairs, 0);
        for (let k: usize = 0; k < uItem; k += 4) {
          const f = v128.load(w), h = v128.load(w, 16);
          let x = v128.load32_splat(u0 + k);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, f)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(x, h));
          x = v128.load32_splat(u1 + k);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, f)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(x, h));
          x = v128.load32_splat(u2 + k);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, f)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(x, h));
          x = v128.load32_splat(u3 + k);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, f)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(x, h));
          w += 32;
        }
        const at = <usize>(g * 16);
        v128.store(m0 + at, a0); v128.store(m0 + at, b0, 16);
        v128.store(m1 + at, a1); v128.store(m1 + at, b1, 16);
        v128.store(m2 + at, a2); v128.store(m2 + at, b2, 16);
        v128.store(m3 + at, a3); v128.store(m3 + at, b3, 16);
      }
      if (g < groups) {
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        let w = vAt(vPos, g, groups, pairs, 0);
        for (let k = 0; k < pairs; k++) {
          const f = v128.load(w);
          const k4 = <usize>(k * 4);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load32_splat(u0 + k4), f));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load32_splat(u1 + k4), f));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load32_splat(u2 + k4), f));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load32_splat(u3 + k4), f));
          w += 16;
        }
        const at = <usize>(g * 16);
        v128.store(m0 + at, a0); v128.store(m1 + at, a1); v128.store(m2 + at, a2); v128.store(m3 + at, a3);
      }
    }
  }
}

// Where V holds channel group g's vector for depth pair `pair` (at one
// position); vPairStep: how far apart its consecutive pairs lie.
@inline export function vAt(v: usize, g: i32, groups: i32, pairs: i32, pair: i32): usize {
  return g < (groups & ~1)
    ? v + <usize>((g >> 1) * pairs * 32 + pair * 32 + (g & 1) * 16)
    : v + <usize>((g >> 1) * pairs * 32 + pair * 16);
}

@inline export function vPairStep(g: i32, groups: i32): usize {
  return g < (groups & ~1) ? 32 : 16;
}

// Four channels' vectors of four depth pairs each (int16 lanes, an int32
// lane per pair) transposed into V at `to`: per pair, the four channels.
@inline export function storeGroupPairs(to: usize, step: usize, a: v128, b: v128, c: v128, d: v128): void {
  const ab0 = i32x4.shuffle(a, b, 0, 4, 1, 5), ab1 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const cd0 = i32x4.shuffle(c, d, 0, 4, 1, 5), cd1 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(to, i64x2.shuffle(ab0, cd0, 0, 2));
  v128.store(to + step, i64x2.shuffle(ab0, cd0, 1, 3));
  v128.store(to + 2 * step, i64x2.shuffle(ab1, cd1, 0, 2));
  v128.store(to + 3 * step, i64x2.shuffle(ab1, cd1, 1, 3));
}

// Requantizes the sums of four channels and stores their bytes at `at`.
@inline export function storeRequantized(at: usize, sums: v128, group: usize, outZp: v128, lo: v128, hi: v128): void {
  v128.store32_lane(at, lowBytes(requantizeFour(sums, group, outZp, lo, hi)), 0);
}

// CONV_2D directly: each chunk of output rows' windows laid out as rows of U
// (im2col: the filter's order, ky, kx, input channel; taps outside the input
// 0), the filters as V, then M = U V requantized. Any stride and dilation.
@inline function depthOf(kH: i32, kW: i32, inC: i32): i32 {
  return (kH * kW * inC + 7) & ~7;
}

// Region bytes for a direct conv, 0 when it does not go this way.
export function directBytes(kH: i32, kW: i32, inC: i32, channels: i32, outH: i32, outW: i32): i64 {
  const depth = depthOf(kH, kW, inC);
  return regionFor(1, depth, channels, chunkRows(outH, outW, 1, depth, channels) * outW, 0);
}

// Bytes of a direct conv's V (kept per op by prepared.ts), 0 when it does not
// go this way.
export function directFilterBytes(kH: i32, kW: i32, inC: i32, channels: i32, outH: i32, outW: i32): i64 {
  return directBytes(kH, kW, inC, channels, outH, outW) == 0 ? 0 : <i64>depthOf(kH, kW, inC) * channels * 2;
}

// The filters ([channel][tap][input channel] int8) as V for one position,
// zero past `taps` up to `depth`.
function packFilters(filter: usize, taps: i32, depth: i32, channels: i32, v: usize): void {
  const pairs = depth >> 1, groups = channels >> 2;
  for (let g = 0; g < groups; g++) {
    const f0 = filter + <usize>(g * 4 * taps), f1 = f0 + <usize>taps, f2 = f1 + <usize>taps, f3 = f2 + <usize>taps;
    const step = vPairStep(g, groups);
    let k = 0;
    for (; k + 8 <= taps; k += 8) {
      storeGroupPairs(vAt(v, g, groups, pairs, k >> 1), step, v128.load8x8_s(f0 + <usize>k), v128.load8x8_s(f1 + <usize>k), v128.load8x8_s(f2 + <usize>k), v128.load8x8_s(f3 + <usize>k));
    }
    for (; k < depth; k++) {
      const at = vAt(v, g, groups, pairs, k >> 1) + <usize>((k & 1) * 2);
      const inside = k < taps;
      store<i16>(at, inside ? <i16>load<i8>(f0 + <usize>k) : 0);
      store<i16>(at, inside ? <i16>load<i8>(f1 + <usize>k) : 0, 4);
      store<i16>(at, inside ? <i16>load<i8>(f2 + <usize>k) : 0, 8);
      store<i16>(at, inside ? <i16>load<i8>(f3 + <usize>k) : 0, 12);
    }
  }
}

// n int8 at `from`, less zp, as int16 at `to`.
@inline function widenRun(to: usize, from: usize, n: i32, zp: i32): void {
  const vzp = i16x8.splat(<i16>zp);
  let i = 0;
  for (; i + 8 <= n; i += 8) v128.store(to + <usize>(i * 2), i16x8.sub(v128.load8x8_s(from + <usize>i), vzp));
  for (; i < n; i++) store<i16>(to + <usize>(i * 2), <i16>(<i32>load<i8>(from + <usize>i) - zp));
}

@inline function zeroRun(to: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) v128.store(to + <usize>(i * 2), i16x8.splat(0));
  for (; i < n; i++) store<i16>(to + <usize>(i * 2), 0);
}

export function convDirect(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize, firstChannel: i32, channels: i32,
): bool {
  if (!regionHolds(directBytes(kH, kW, inC, channels, outH, outW))) return false;
  prepareChannels(records, channels);
  const taps = kH * kW * inC, depth = depthOf(kH, kW, inC);
  const rowsPerChunk = chunkRows(outH, outW, 1, depth, channels);
  const items = roundUp4(rowsPerChunk * outW);
  const vBytes = <usize>(depth * channels * 2);
  const u = regionStart() + vBytes;
  const m = u + <usize>(items * depth * 2);
  const v = filtersAt(<i64>vBytes, regionStart());
  if (!filtersReady(v, filter)) {
    packFilters(filter, taps, depth, channels, v);
    markFilters(v, filter);
  }
  const vOutZp = i32x4.splat(outZp), lo = i32x4.splat(actMin), hi = i32x4.splat(actMax);
  const rowBytes = inW * inC;
  for (let oy0 = 0; oy0 < outH; oy0 += rowsPerChunk) {
    const rows = min(rowsPerChunk, outH - oy0);
    // im2col of the chunk's windows.
    let to = u;
    for (let oy = oy0; oy < oy0 + rows; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
        let k = to;
        for (let ky = 0; ky < kH; ky++) {
          const iy = iy0 + ky * dilH;
          if (iy < 0 || iy >= inH) {
            zeroRun(k, kW * inC);
          } else if (dilW == 1 && ix0 >= 0 && ix0 + kW <= inW) {
            widenRun(k, input + <usize>(iy * rowBytes + ix0 * inC), kW * inC, inZp);
          } else {
            for (let kx = 0; kx < kW; kx++) {
              const ix = ix0 + kx * dilW;
              if (ix < 0 || ix >= inW) zeroRun(k + <usize>(kx * inC * 2), inC);
              else widenRun(k + <usize>(kx * inC * 2), input + <usize>(iy * rowBytes + ix * inC), inC, inZp);
            }
          }
          k += <usize>(kW * inC * 2);
        }
        zeroRun(k, depth - taps);
        to += <usize>(depth * 2);
      }
    }
    const count = rows * outW;
    multiply(u, v, m, 1, roundUp4(count), depth, channels);
    const out = output + <usize>(oy0 * outW * outC + firstChannel);
    for (let n = 0; n < count; n++) {
      const sums = m + <usize>(n * channels * 4);
      const at = out + <usize>(n * outC);
      for (let g = 0; g < channels; g += 4) storeRequantized(at + <usize>g, v128.load(sums + <usize>(g * 4)), channelGroup(g), vOutZp, lo, hi);
    }
  }
  return true;
}
