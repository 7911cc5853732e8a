// CONV_2D with a 3x3 filter, stride 1 and no dilation, in the SIMD build:
// Winograd's F(2x2, 3x3), which makes each 2x2 block of outputs from a 4x4
// block of inputs with 16 products per input channel where the direct sum
// takes 36. Every step is integer and exact:
//   U = Bt d B   (d = input - inZp over the 4x4 block, 0 outside the input)
//   V = G' g G't (G' = 2G: the filter transform without its halves)
//   4 * out = At (sum over input channels of U . V) A
// |U| <= 4 * 255 and |V| <= 9 * 128 fit int16, so the sums over input channels
// are i32x4.dot_i16x8_s over channel pairs. Int32 arithmetic wraps alike in
// any order, and 4 * out itself fits int32 (inC <= MAX_IN_CHANNELS), so the
// shift by 2 gives the direct sum exactly and every requantized output equals
// the scalar kernel's (kernels/conv.ts) bit for bit.
import { channelGroup, prepareChannels } from "./simd";
import { filtersAt, filtersReady, markFilters } from "./prepared";
import { chunkRows, multiply, regionFor, regionHolds, regionStart, roundUp4, storeGroupPairs, storeRequantized, vAt, vPairStep } from "./matmul";

// 9 taps * 255 * 128 * inC must stay below 2^29 (4 * out within int32).
const MAX_IN_CHANNELS = 1800;
const TEMP_BYTES = 4 * 16 * 16; // one group's transformed filters before the transpose

@inline function tilesIn(n: i32): i32 {
  return (n + 1) >> 1;
}

// Region bytes for a conv this way (matmul.ts), 0 when it does not go this way.
export function winogradBytes(kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, inC: i32, channels: i32, outH: i32, outW: i32): i64 {
  if (kH != 3 || kW != 3 || sH != 1 || sW != 1 || dH != 1 || dW != 1 || outW < 2) return 0;
  if ((inC & 7) != 0 || inC > MAX_IN_CHANNELS) return 0;
  const across = tilesIn(outW);
  return regionFor(16, inC, channels, chunkRows(tilesIn(outH), across, 16, inC, channels) * across, TEMP_BYTES);
}

// Bytes of its transformed filters (kept per op by prepared.ts), 0 when the
// conv does not go this way.
export function winogradFilterBytes(kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, inC: i32, channels: i32, outH: i32, outW: i32): i64 {
  return winogradBytes(kH, kW, sH, sW, dH, dW, inC, channels, outH, outW) == 0 ? 0 : <i64>16 * inC * channels * 2;
}

// Eight int8 at p, less the zero point, as int16 lanes.
@inline function eightLess(p: usize, zp: v128): v128 {
  return i16x8.sub(v128.load8x8_s(p), zp);
}

// Lays out V: for each of the 16 positions, channel group (4 channels) and
// input channel pair, one vector [c0k0 c0k1 c1k0 c1k1 c2k0 c2k1 c3k0 c3k1],
// so a dot with a splat input pair gives the group's four sums.
function transformFilters(filter: usize, inC: i32, channels: i32, v: usize, temp: usize): void {
  const filterSize = <usize>(9 * inC);
  const groups = channels >> 2;
  const pairs = inC >> 1;
  const posBytes = <usize>(channels * inC * 2);
  for (let g = 0; g < groups; g++) {
    for (let ic = 0; ic < inC; ic += 8) {
      for (let c = 0; c < 4; c++) {
        const f = filter + <usize>(g * 4 + c) * filterSize + <usize>ic;
        const t = temp + <usize>(c * 16 * 16);
        // G' g: four rows from the three filter rows, column by column.
        for (let kx = 0; kx < 3; kx++) {
          const g0 = v128.load8x8_s(f + <usize>(kx * inC));
          const g1 = v128.load8x8_s(f + <usize>((3 + kx) * inC));
          const g2 = v128.load8x8_s(f + <usize>((6 + kx) * inC));
          const outer = i16x8.add(g0, g2);
          v128.store(t + <usize>(kx * 16), i16x8.add(g0, g0));
          v128.store(t + <usize>((4 + kx) * 16), i16x8.add(outer, g1));
          v128.store(t + <usize>((8 + kx) * 16), i16x8.sub(outer, g1));
          v128.store(t + <usize>((12 + kx) * 16), i16x8.add(g2, g2));
        }
        // (G' g) G't: four columns from the three, row by row (in place:
        // column 3 is free, and columns 0-2 are read before they are written).
        for (let y = 0; y < 4; y++) {
          const row = t + <usize>(y * 64);
          const t0 = v128.load(row), t1 = v128.load(row, 16), t2 = v128.load(row, 32);
          const outer = i16x8.add(t0, t2);
          v128.store(row, i16x8.add(t0, t0));
          v128.store(row, i16x8.add(outer, t1), 16);
          v128.store(row, i16x8.sub(outer, t1), 32);
          v128.store(row, i16x8.add(t2, t2), 48);
        }
      }
      // Per position, the four channels' vectors hold four input channel
      // pairs each (as int32 lanes): transposed, each pair's four channels.
      for (let pos = 0; pos < 16; pos++) {
        const at = temp + <usize>(pos * 16);
        storeGroupPairs(vAt(v + <usize>pos * posBytes, g, groups, pairs, ic >> 1), vPairStep(g, groups), v128.load(at), v128.load(at, 256), v128.load(at, 512), v128.load(at, 768));
      }
    }
  }
}

// Bt d B for `count` tiles from tile `first` (row-major over tile rows of
// `across` tiles), into U: position-major, then tile, then input channel.
function transformInputs(
  input: usize, inH: i32, inW: i32, inC: i32, padTop: i32, padLeft: i32, inZp: i32,
  first: i32, count: i32, across: i32, u: usize, tiles: i32,
): void {
  const zp = i16x8.splat(<i16>inZp);
  const zero = i16x8.splat(0);
  const tileStride = <usize>(inC * 2);
  const posStride = tileStride * <usize>tiles;
  const rowBytes = inW * inC;
  for (let n = 0; n < count; n++) {
    const tile = first + n;
    const iy0 = (tile / across) * 2 - padTop, ix0 = (tile % across) * 2 - padLeft;
    const inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= inH && ix0 + 4 <= inW;
    const origin = input + <usize>(iy0 * rowBytes + ix0 * inC);
    // The rows and columns of the block inside the input (all of them for
    // most tiles; the others read zero, the input's zero point less itself).
    const y0 = iy0 >= 0 && iy0 < inH, y1 = iy0 + 1 >= 0 && iy0 + 1 < inH, y2 = iy0 + 2 >= 0 && iy0 + 2 < inH, y3 = iy0 + 3 >= 0 && iy0 + 3 < inH;
    const x0 = ix0 >= 0 && ix0 < inW, x1 = ix0 + 1 >= 0 && ix0 + 1 < inW, x2 = ix0 + 2 >= 0 && ix0 + 2 < inW, x3 = ix0 + 3 >= 0 && ix0 + 3 < inW;
    const r1 = <usize>rowBytes, r2 = <usize>(2 * rowBytes), r3 = <usize>(3 * rowBytes);
    const k1 = <usize>inC, k2 = <usize>(2 * inC), k3 = <usize>(3 * inC);
    for (let ic = 0; ic < inC; ic += 8) {
      const to = u + <usize>n * tileStride + <usize>(ic * 2);
      const p = origin + <usize>ic;
      if (inside) {
        transformBlock(to, posStride,
          eightLess(p, zp), eightLess(p + k1, zp), eightLess(p + k2, zp), eightLess(p + k3, zp),
          eightLess(p + r1, zp), eightLess(p + r1 + k1, zp), eightLess(p + r1 + k2, zp), eightLess(p + r1 + k3, zp),
          eightLess(p + r2, zp), eightLess(p + r2 + k1, zp), eightLess(p + r2 + k2, zp), eightLess(p + r2 + k3, zp),
          eightLess(p + r3, zp), eightLess(p + r3 + k1, zp), eightLess(p + r3 + k2, zp), eightLess(p + r3 + k3, zp));
      } else {
        transformBlock(to, posStride,
          eightIf(y0 && x0, p, zp), eightIf(y0 && x1, p + k1, zp), eightIf(y0 && x2, p + k2, zp), eightIf(y0 && x3, p + k3, zp),
          eightIf(y1 && x0, p + r1, zp), eightIf(y1 && x1, p + r1 + k1, zp), eightIf(y1 && x2, p + r1 + k2, zp), eightIf(y1 && x3, p + r1 + k3, zp),
          eightIf(y2 && x0, p + r2, zp), eightIf(y2 && x1, p + r2 + k1, zp), eightIf(y2 && x2, p + r2 + k2, zp), eightIf(y2 && x3, p + r2 + k3, zp),
          eightIf(y3 && x0, p + r3, zp), eightIf(y3 && x1, p + r3 + k1, zp), eightIf(y3 && x2, p + r3 + k2, zp), eightIf(y3 && x3, p + r3 + k3, zp));
      }
    }
  }
}

@inline function eightIf(inside: bool, p: usize, zp: v128): v128 {
  return inside ? eightLess(p, zp) : i16x8.splat(0);
}

// U = Bt d B of one 4x4 block d (row-major), stored a position apart.
// Bt d: per column, rows d0 - d2, d1 + d2, d2 - d1, d1 - d3; then (Bt d) B:
// per row, columns t0 - t2, t1 + t2, t2 - t1, t1 - t3.
@inline function transformBlock(
  to: usize, posStride: usize,
  d00: v128, d01: v128, d02: v128, d03: v128, d10: v128, d11: v128, d12: v128, d13: v128,
  d20: v128, d21: v128, d22: v128, d23: v128, d30: v128, d31: v128, d32: v128, d33: v128,
): void {
  storeRow(to, posStride, 0, i16x8.sub(d00, d20), i16x8.sub(d01, d21), i16x8.sub(d02, d22), i16x8.sub(d03, d23));
  storeRow(to, posStride, 4, i16x8.add(d10, d20), i16x8.add(d11, d21), i16x8.add(d12, d22), i16x8.add(d13, d23));
  storeRow(to, posStride, 8, i16x8.sub(d20, d10), i16x8.sub(d21, d11), i16x8.sub(d22, d12), i16x8.sub(d23, d13));
  storeRow(to, posStride, 12, i16x8.sub(d10, d30), i16x8.sub(d11, d31), i16x8.sub(d12, d32), i16x8.sub(d13, d33));
}

@inline function storeRow(to: usize, posStride: usize, pos: i32, t0: v128, t1: v128, t2: v128, t3: v128): void {
  v128.store(to + <usize>pos * posStride, i16x8.sub(t0, t2));
  v128.store(to + <usize>(pos + 1) * posStride, i16x8.add(t1, t2));
  v128.store(to + <usize>(pos + 2) * posStride, i16x8.sub(t2, t1));
  v128.store(to + <usize>(pos + 3) * posStride, i16x8.sub(t1, t3));
}

// At M A per tile and channel group, then the outputs requantized and stored
// (those inside the output).
function transformOutputs(
  m: usize, tiles: i32, first: i32, count: i32, across: i32, channels: i32,
  output: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
): void {
  const posStride = <usize>tiles * <usize>(channels * 4);
  const vOutZp = i32x4.splat(outZp), lo = i32x4.splat(actMin), hi = i32x4.splat(actMax);
  for (let n = 0; n < count; n++) {
    const tile = first + n;
    const oy = (tile / across) * 2, ox = (tile % across) * 2;
    const right = ox + 1 < outW, below = oy + 1 < outH;
    const out = output + <usize>((oy * outW + ox) * outC);
    for (let g = 0; g < channels; g += 4) {
      const from = m + <usize>n * <usize>(channels * 4) + <usize>(g * 4);
      // At M: rows m0 + m1 + m2 and m1 - m2 - m3, per column.
      const p1 = from + posStride, p2 = from + 2 * posStride, p3 = from + 3 * posStride;
      const m00 = v128.load(from), m01 = v128.load(p1), m02 = v128.load(p2), m03 = v128.load(p3);
      const m10 = v128.load(from + 4 * posStride), m11 = v128.load(p1 + 4 * posStride), m12 = v128.load(p2 + 4 * posStride), m13 = v128.load(p3 + 4 * posStride);
      const m20 = v128.load(from + 8 * posStride), m21 = v128.load(p1 + 8 * posStride), m22 = v128.load(p2 + 8 * posStride), m23 = v128.load(p3 + 8 * posStride);
      const m30 = v128.load(from + 12 * posStride), m31 = v128.load(p1 + 12 * posStride), m32 = v128.load(p2 + 12 * posStride), m33 = v128.load(p3 + 12 * posStride);
      const s00 = i32x4.add(i32x4.add(m00, m10), m20), s01 = i32x4.add(i32x4.add(m01, m11), m21);
      const s02 = i32x4.add(i32x4.add(m02, m12), m22), s03 = i32x4.add(i32x4.add(m03, m13), m23);
      const s10 = i32x4.sub(i32x4.sub(m10, m20), m30), s11 = i32x4.sub(i32x4.sub(m11, m21), m31);
      const s12 = i32x4.sub(i32x4.sub(m12, m22), m32), s13 = i32x4.sub(i32x4.sub(m13, m23), m33);
      const group = channelGroup(g);
      const at = out + <usize>g;
      storeRequantized(at, i32x4.shr_s(i32x4.add(i32x4.add(s00, s01), s02), 2), group, vOutZp, lo, hi); // the sums are 4x
      if (right) storeRequantized(at + <usize>outC, i32x4.shr_s(i32x4.sub(i32x4.sub(s01, s02), s03), 2), group, vOutZp, lo, hi);
      if (below) {
        const next = at + <usize>(outW * outC);
        storeRequantized(next, i32x4.shr_s(i32x4.add(i32x4.add(s10, s11), s12), 2), group, vOutZp, lo, hi);
        if (right) storeRequantized(next + <usize>outC, i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s12), s13), 2), group, vOutZp, lo, hi);
      }
    }
  }
}

// The conv this way where it applies (false otherwise: convS8 goes on).
// Chunks of whole tile rows are read before any of their outputs is written,
// which keeps within the in-place allowance (windowOverlap) of convS8's
// pixel-pair order.
export function convWinograd(
  input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize, firstChannel: i32, channels: i32,
): bool {
  if (!regionHolds(winogradBytes(kH, kW, strideH, strideW, dilH, dilW, inC, channels, outH, outW))) return false;
  prepareChannels(records, channels);
  const across = tilesIn(outW);
  const rowsPerChunk = chunkRows(tilesIn(outH), across, 16, inC, channels);
  const chunkTiles = roundUp4(rowsPerChunk * across);
  const vBytes = <usize>(16 * inC * channels * 2);
  const u = regionStart() + vBytes;
  const m = u + <usize>(16 * chunkTiles * inC * 2);
  const temp = m + <usize>(16 * chunkTiles * channels * 4);
  const v = filtersAt(<i64>vBytes, regionStart());
  if (!filtersReady(v, filter)) {
    transformFilters(filter, inC, channels, v, temp);
    markFilters(v, filter);
  }
  const allTiles = tilesIn(outH) * across;
  for (let first = 0; first < allTiles; first += rowsPerChunk * across) {
    const count = min(rowsPerChunk * across, allTiles - first);
    const tiles = roundUp4(count);
    transformInputs(input, inH, inW, inC, padTop, padLeft, inZp, first, count, across, u, tiles);
    multiply(u, v, m, 16, tiles, inC, channels);
    transformOutputs(m, tiles, first, count, across, channels, output + <usize>firstChannel, outH, outW, outC, outZp, actMin, actMax);
  }
  return true;
}
