// The SIMD inner loops of build/wisp-simd.wasm (compiled with --enable simd;
// the kernels call these only under `if (ASC_FEATURE_SIMD)`, so the scalar
// build/wisp.wasm never contains them). Same sums as the scalar loops: int8
// widened to int16 (input - inZp is -255..255, and a product of that with a
// weight fits int16 too), multiplied and summed into int32 lanes. Int32
// addition wraps alike in any order, so every accumulator, and so every
// requantized output, equals the scalar kernel's bit for bit.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_SHIFT } from "../format";
import { channelRecord } from "../weights";
import { storeFourChannels } from "./output";
import { channelsReady, filtersAt, filtersReady, markChannels, markFilters, preparedChannels } from "./prepared";

// The kernels' scratch: a region index.ts reserves past everything else the
// loaded model uses (so wisp_memory_used() counts it), set by reserveScratch.
@lazy let scratch: usize = 0;

// Requantization four channels at a time needs each channel's constants as
// vector lanes; prepareChannels lays them out once per kernel call, for up to
// MAX_VECTOR_CHANNELS channels (more: the outputs are requantized one by one).
export const MAX_VECTOR_CHANNELS = 1024;
// Per group of four channels, seven vectors: bias, 2^leftShift, multiplier,
// 2^(32 - rightShift) (0 when rightShift is 0), all-ones when rightShift is 0,
// the rounding mask 2^rightShift - 1, and half of it.
const GROUP_BYTES = 7 * 16;
const CHANNEL_VECTOR_BYTES = MAX_VECTOR_CHANNELS / 4 * GROUP_BYTES;
@lazy let channelVectors: usize = 0;

// The depthwise filter copy: up to MAX_DEPTHWISE_WEIGHTS int16 (taps * channels).
const MAX_DEPTHWISE_WEIGHTS = 8192;

export const SCRATCH_BYTES = CHANNEL_VECTOR_BYTES + MAX_DEPTHWISE_WEIGHTS * 2;

// Places the scratch at `end` (16-aligned); returns the new end.
export function reserveScratch(end: usize): usize {
  scratch = (end + 15) & ~15;
  return scratch + <usize>SCRATCH_BYTES;
}

// Bytes of the vectors for `channels` channels (0: more than they cover).
export function channelVectorBytes(channels: i32): i32 {
  return channels > MAX_VECTOR_CHANNELS ? 0 : ((channels + 3) >> 2) * GROUP_BYTES;
}

export function prepareChannels(records: usize, channels: i32): void {
  if (channels > MAX_VECTOR_CHANNELS) {
    channelVectors = 0;
    return;
  }
  // In the op's prepared entry (kernels/prepared.ts) when it has one.
  const cached = preparedChannels(channels);
  if (cached != 0 && channelsReady(records, channels)) {
    channelVectors = cached;
    return;
  }
  const base = cached != 0 ? cached : scratch;
  for (let c = 0; c < channels; c++) {
    const record = channelRecord(records, c);
    const shift = load<i32>(record, CHANNEL_SHIFT);
    const leftShift = shift > 0 ? shift : 0;
    const rightShift = shift > 0 ? 0 : -shift; // 0..31 (checked at load)
    const mask = (1 << rightShift) - 1;
    const at = base + <usize>((c >> 2) * GROUP_BYTES + (c & 3) * 4);
    store<i32>(at, load<i32>(record, CHANNEL_BIAS), 0);
    store<i32>(at, 1 << leftShift, 16);
    store<i32>(at, load<i32>(record, CHANNEL_MULT), 32);
    store<i32>(at, rightShift == 0 ? 0 : 1 << (32 - rightShift), 48);
    store<i32>(at, rightShift == 0 ? -1 : 0, 64);
    store<i32>(at, mask, 80);
    store<i32>(at, mask >> 1, 96);
  }
  channelVectors = base;
  if (cached != 0) markChannels(records, channels);
}

// Where prepareChannels put the constants of channels oc..oc+3 (oc a multiple
// of 4), for requantizeFour.
@inline export function channelGroup(oc: i32): usize {
  return channelVectors + <usize>((oc >> 2) * GROUP_BYTES);
}

// quant.ts's highMulByMultiplier on four lanes, through 64-bit products.
@inline function highMulFour(x: v128, m: v128): v128 {
  const half = i64x2.splat(1 << 30);
  return i32x4.shuffle(
    i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), half), 31),
    i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), half), 31), 0, 2, 4, 6);
}

// quant.ts's multiplyByQuantizedMultiplier on four lanes, one multiplier and
// shift for all.
@inline function multiplyFour(x: v128, m: v128, shift: i32): v128 {
  return roundingShiftFour(highMulFour(i32x4.shl(x, shift > 0 ? shift : 0), m), shift > 0 ? 0 : -shift);
}

// quant.ts's requantize() on four lanes, for the four channels of `group`
// (then + outZp, clamped to [lo, hi]). highMulByMultiplier via 64-bit lanes;
// roundingDivideByPOT's arithmetic shift by a per-lane amount (wasm shifts
// take one amount for all lanes) as the high word of h, read unsigned,
// times 2^(32 - rightShift), less 2^(32 - rightShift) where h < 0.
@inline export function requantizeFour(acc: v128, group: usize, outZp: v128, lo: v128, hi: v128): v128 {
  const h = highMulFour(i32x4.mul(i32x4.add(acc, v128.load(group, 0)), v128.load(group, 16)), v128.load(group, 32));
  const f = v128.load(group, 48);
  const negative = i32x4.shr_s(h, 31);
  const high = i32x4.shuffle(i64x2.extmul_low_i32x4_u(h, f), i64x2.extmul_high_i32x4_u(h, f), 1, 3, 5, 7);
  const shifted = i32x4.add(i32x4.sub(high, v128.and(f, negative)), v128.and(h, v128.load(group, 64)));
  const threshold = i32x4.sub(v128.load(group, 96), negative);
  const rounded = i32x4.sub(shifted, i32x4.gt_s(v128.and(h, v128.load(group, 80)), threshold));
  return i32x4.min_s(i32x4.max_s(i32x4.add(rounded, outZp), lo), hi);
}

// The low byte of each of four lanes (store<i8>'s truncation), in lanes 0-3.
@inline export function lowBytes(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12);
}

// Adds the 1-3 trailing products to four lane sums, requantizes and stores
// the four channels of one pixel.
@inline function storeFour(sums: v128, s0: i32, s1: i32, s2: i32, s3: i32, out: usize, oc: i32, records: usize, outZp: i32, actMin: i32, actMax: i32): void {
  if (channelVectors) {
    let tail = i32x4.replace_lane(i32x4.splat(s0), 1, s1);
    tail = i32x4.replace_lane(i32x4.replace_lane(tail, 2, s2), 3, s3);
    const q = requantizeFour(i32x4.add(sums, tail), channelVectors + <usize>((oc >> 2) * GROUP_BYTES), i32x4.splat(outZp), i32x4.splat(actMin), i32x4.splat(actMax));
    v128.store32_lane(out + <usize>oc, lowBytes(q), 0);
  } else {
    storeFourChannels(out, oc,
      i32x4.extract_lane(sums, 0) + s0, i32x4.extract_lane(sums, 1) + s1, i32x4.extract_lane(sums, 2) + s2, i32x4.extract_lane(sums, 3) + s3,
      records, outZp, actMin, actMax);
  }
}

// [sum(a), sum(b), sum(c), sum(d)]: the lanes of four accumulators added up.
@inline function laneSums(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

// Eight int8 at p as int16 lanes.
@inline function eight(p: usize): v128 {
  return v128.load8x8_s(p);
}

// Four int8 at p as the low int16 lanes, the high lanes zero.
@inline function four(p: usize): v128 {
  return i16x8.extend_low_i8x16_s(v128.load32_zero(p));
}

// Eight output channels of one dense row (filters `depth` apart from w0):
// the row's eight widened inputs serve eight filters.
export function dotRowEight(x: usize, w0: usize, depth: i32, inZp: i32, out: usize, oc: i32, records: usize, outZp: i32, actMin: i32, actMax: i32): void {
  const zp = i16x8.splat(<i16>inZp);
  const zero = i32x4.splat(0);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
  const d = <usize>depth;
  const w1 = w0 + d, w2 = w1 + d, w3 = w2 + d, w4 = w3 + d, w5 = w4 + d, w6 = w5 + d, w7 = w6 + d;
  let i = 0;
  for (; i + 8 <= depth; i += 8) {
    const k = <usize>i;
    const v = i16x8.sub(eight(x + k), zp);
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v, eight(w0 + k)));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v, eight(w1 + k)));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v, eight(w2 + k)));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v, eight(w3 + k)));
    a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v, eight(w4 + k)));
    a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v, eight(w5 + k)));
    a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v, eight(w6 + k)));
    a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v, eight(w7 + k)));
  }
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0; // the last 1-7 inputs
  for (; i < depth; i++) {
    const k = <usize>i;
    const v = <i32>load<i8>(x + k) - inZp;
    s0 += v * <i32>load<i8>(w0 + k); s1 += v * <i32>load<i8>(w1 + k);
    s2 += v * <i32>load<i8>(w2 + k); s3 += v * <i32>load<i8>(w3 + k);
    s4 += v * <i32>load<i8>(w4 + k); s5 += v * <i32>load<i8>(w5 + k);
    s6 += v * <i32>load<i8>(w6 + k); s7 += v * <i32>load<i8>(w7 + k);
  }
  storeFour(laneSums(a0, a1, a2, a3), s0, s1, s2, s3, out, oc, records, outZp, actMin, actMax);
  storeFour(laneSums(a4, a5, a6, a7), s4, s5, s6, s7, out, oc + 4, records, outZp, actMin, actMax);
}

// Four output channels of one pixel, or of two pixels `pairStep` apart when
// `pair`: each sums (input - inZp) * filter over `rows` rows of `runs` runs of
// `runLen` contiguous bytes (input: rows `rowStep` apart, runs `runStep`
// apart; filter: rows `wRowStep`, runs `wRunStep`), for the four filters
// `filterSize` apart from w0, then stores the requantized outputs.
// Conv and dense (rows = runs = 1) share it; both call prepareChannels first.
export function dotFourChannels(
  p0: usize, pairStep: usize, pair: bool, w0: usize, filterSize: usize,
  rows: i32, rowStep: usize, wRowStep: usize, runs: i32, runLen: i32, runStep: usize, wRunStep: usize,
  inZp: i32, out: usize, oc: i32, outC: i32, records: usize, outZp: i32, actMin: i32, actMax: i32,
): void {
  const zp = i16x8.splat(<i16>inZp);
  const zero = i32x4.splat(0);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
  let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // the last 1-3 bytes of each run
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  const w1 = w0 + filterSize, w2 = w1 + filterSize, w3 = w2 + filterSize;
  let rowStart = p0;
  let wRow: usize = 0;
  for (let ky = 0; ky < rows; ky++) {
    let p = rowStart;
    let wi = wRow;
    for (let r = 0; r < runs; r++) {
      let i = 0;
      if (pair) {
        const q = p + pairStep;
        for (; i + 8 <= runLen; i += 8) {
          const k = wi + <usize>i;
          const x = i16x8.sub(eight(p + <usize>i), zp);
          const y = i16x8.sub(eight(q + <usize>i), zp);
          let f = eight(w0 + k);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, f)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(y, f));
          f = eight(w1 + k);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, f)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(y, f));
          f = eight(w2 + k);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, f)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(y, f));
          f = eight(w3 + k);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, f)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(y, f));
        }
        if (i + 4 <= runLen) {
          // The filter's high lanes are zero, so the input's (-inZp) add nothing.
          const k = wi + <usize>i;
          const x = i16x8.sub(four(p + <usize>i), zp);
          const y = i16x8.sub(four(q + <usize>i), zp);
          let f = four(w0 + k);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, f)); b0 = i32x4.add(b0, i32x4.dot_i16x8_s(y, f));
          f = four(w1 + k);
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, f)); b1 = i32x4.add(b1, i32x4.dot_i16x8_s(y, f));
          f = four(w2 + k);
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, f)); b2 = i32x4.add(b2, i32x4.dot_i16x8_s(y, f));
          f = four(w3 + k);
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, f)); b3 = i32x4.add(b3, i32x4.dot_i16x8_s(y, f));
          i += 4;
        }
        for (; i < runLen; i++) {
          const k = wi + <usize>i;
          const x = <i32>load<i8>(p + <usize>i) - inZp;
          const y = <i32>load<i8>(q + <usize>i) - inZp;
          const f0 = <i32>load<i8>(w0 + k), f1 = <i32>load<i8>(w1 + k);
          const f2 = <i32>load<i8>(w2 + k), f3 = <i32>load<i8>(w3 + k);
          s0 += x * f0; s1 += x * f1; s2 += x * f2; s3 += x * f3;
          t0 += y * f0; t1 += y * f1; t2 += y * f2; t3 += y * f3;
        }
      } else {
        for (; i + 8 <= runLen; i += 8) {
          const k = wi + <usize>i;
          const x = i16x8.sub(eight(p + <usize>i), zp);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, eight(w0 + k)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, eight(w1 + k)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, eight(w2 + k)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, eight(w3 + k)));
        }
        if (i + 4 <= runLen) {
          const k = wi + <usize>i;
          const x = i16x8.sub(four(p + <usize>i), zp);
          a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, four(w0 + k)));
          a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, four(w1 + k)));
          a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, four(w2 + k)));
          a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, four(w3 + k)));
          i += 4;
        }
        for (; i < runLen; i++) {
          const k = wi + <usize>i;
          const x = <i32>load<i8>(p + <usize>i) - inZp;
          s0 += x * <i32>load<i8>(w0 + k);
          s1 += x * <i32>load<i8>(w1 + k);
          s2 += x * <i32>load<i8>(w2 + k);
          s3 += x * <i32>load<i8>(w3 + k);
        }
      }
      p += runStep;
      wi += wRunStep;
    }
    rowStart += rowStep;
    wRow += wRowStep;
  }
  storeFour(laneSums(a0, a1, a2, a3), s0, s1, s2, s3, out, oc, records, outZp, actMin, actMax);
  if (pair) storeFour(laneSums(b0, b1, b2, b3), t0, t1, t2, t3, out + <usize>outC, oc, records, outZp, actMin, actMax);
}

// DEPTHWISE_CONV_2D, depth multiplier 1, sixteen channels at a time: the
// filter ([channel][tap]) is laid out again as int16 [tap][channel] in the
// scratch, so each tap's sixteen weights are two vector loads, beside the
// input's sixteen neighbouring channels.
@lazy let depthwiseChannels: i32 = 0;
@lazy let depthwiseWeights: usize = 0;

// How many filter weights prepareDepthwise copies: with depth multiplier 1,
// the first channels (a multiple of 8, as many as fit), `taps` each.
export function depthwiseWeightCount(taps: i32, channels: i32, depthMultiplier: i32): i32 {
  const n = depthMultiplier == 1 ? channels & ~7 : 0;
  return n > MAX_VECTOR_CHANNELS || taps * n > MAX_DEPTHWISE_WEIGHTS ? 0 : taps * n;
}

// Sets up one depthwiseS8 call: those first channels go sixteen (the last
// eight) at a time; copies their filter and lays out their constants.
export function prepareDepthwise(filter: usize, records: usize, taps: i32, channels: i32, depthMultiplier: i32): void {
  const count = depthwiseWeightCount(taps, channels, depthMultiplier);
  const n = count == 0 ? 0 : count / taps;
  const weights = filtersAt(<i64>count * 2, scratch + <usize>CHANNEL_VECTOR_BYTES);
  if (!filtersReady(weights, filter)) {
    for (let c = 0; c < n; c++) {
      for (let t = 0; t < taps; t++) store<i16>(weights + <usize>((t * n + c) * 2), <i16>load<i8>(filter + <usize>(c * taps + t)));
    }
    markFilters(weights, filter);
  }
  prepareChannels(records, n);
  depthwiseChannels = n;
  depthwiseWeights = weights;
}

@inline function packBytes(q0: v128, q1: v128, q2: v128, q3: v128): v128 {
  const lo = i8x16.shuffle(q0, q1, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  const hi = i8x16.shuffle(q2, q3, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  return i64x2.shuffle(lo, hi, 0, 2);
}

// Sixteen requantized channels from cb, stored at out + cb.
@inline function storeSixteen(a0: v128, a1: v128, a2: v128, a3: v128, out: usize, cb: i32, zp: v128, lo: v128, hi: v128): void {
  const g = channelVectors + <usize>((cb >> 2) * GROUP_BYTES);
  v128.store(out + <usize>cb, packBytes(
    requantizeFour(a0, g, zp, lo, hi), requantizeFour(a1, g + GROUP_BYTES, zp, lo, hi),
    requantizeFour(a2, g + 2 * GROUP_BYTES, zp, lo, hi), requantizeFour(a3, g + 3 * GROUP_BYTES, zp, lo, hi)));
}

// Those first channels of one output pixel (two, `pairStep` apart, when
// `pair`), in depthwiseS8's window walk: `origin` is the first valid tap's
// input at the call's first channel. Returns how many channels it did, for
// depthwiseS8 to go on from; it computes each pixel whole before the next, as
// in-place ops (output over input) need.
export function depthwiseSixteensAt(
  origin: usize, pair: bool, pairStep: usize, tapStepX: usize, tapStepY: usize,
  kyStart: i32, kyEnd: i32, kxStart: i32, kxEnd: i32, kW: i32,
  inZp: i32, out: usize, outC: i32, outZp: i32, actMin: i32, actMax: i32,
): i32 {
  const n = depthwiseChannels;
  const weights = depthwiseWeights;
  const zp = i16x8.splat(<i16>inZp);
  const vOutZp = i32x4.splat(outZp), lo = i32x4.splat(actMin), hi = i32x4.splat(actMax);
  const tapWeights = <usize>(n * 2);
  let cb = 0;
  for (; cb + 16 <= n; cb += 16) {
    const zero = i32x4.splat(0);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
    let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
    let rowStart = origin + <usize>cb;
    let wRow = weights + <usize>((kyStart * kW + kxStart) * n * 2 + cb * 2);
    for (let ky = kyStart; ky < kyEnd; ky++) {
      let p = rowStart;
      let w = wRow;
      if (pair) {
        for (let kx = kxStart; kx < kxEnd; kx++) {
          const wl = v128.load(w), wh = v128.load(w, 16);
          const x = v128.load(p);
          const xl = i16x8.sub(i16x8.extend_low_i8x16_s(x), zp), xh = i16x8.sub(i16x8.extend_high_i8x16_s(x), zp);
          a0 = i32x4.add(a0, i32x4.extmul_low_i16x8_s(xl, wl)); a1 = i32x4.add(a1, i32x4.extmul_high_i16x8_s(xl, wl));
          a2 = i32x4.add(a2, i32x4.extmul_low_i16x8_s(xh, wh)); a3 = i32x4.add(a3, i32x4.extmul_high_i16x8_s(xh, wh));
          const y = v128.load(p + pairStep);
          const yl = i16x8.sub(i16x8.extend_low_i8x16_s(y), zp), yh = i16x8.sub(i16x8.extend_high_i8x16_s(y), zp);
          b0 = i32x4.add(b0, i32x4.extmul_low_i16x8_s(yl, wl)); b1 = i32x4.add(b1, i32x4.extmul_high_i16x8_s(yl, wl));
          b2 = i32x4.add(b2, i32x4.extmul_low_i16x8_s(yh, wh)); b3 = i32x4.add(b3, i32x4.extmul_high_i16x8_s(yh, wh));
          p += tapStepX;
          w += tapWeights;
        }
      } else {
        for (let kx = kxStart; kx < kxEnd; kx++) {
          const wl = v128.load(w), wh = v128.load(w, 16);
          const x = v128.load(p);
          const xl = i16x8.sub(i16x8.extend_low_i8x16_s(x), zp), xh = i16x8.sub(i16x8.extend_high_i8x16_s(x), zp);
          a0 = i32x4.add(a0, i32x4.extmul_low_i16x8_s(xl, wl)); a1 = i32x4.add(a1, i32x4.extmul_high_i16x8_s(xl, wl));
          a2 = i32x4.add(a2, i32x4.extmul_low_i16x8_s(xh, wh)); a3 = i32x4.add(a3, i32x4.extmul_high_i16x8_s(xh, wh));
          p += tapStepX;
          w += tapWeights;
        }
      }
      rowStart += tapStepY;
      wRow += <usize>(kW * n * 2);
    }
    storeSixteen(a0, a1, a2, a3, out, cb, vOutZp, lo, hi);
    if (pair) storeSixteen(b0, b1, b2, b3, out + <usize>outC, cb, vOutZp, lo, hi);
  }
  if (cb < n) {
    // The last eight channels: the same walk on half vectors.
    const zero = i32x4.splat(0);
    let a0 = zero, a1 = zero, b0 = zero, b1 = zero;
    let rowStart = origin + <usize>cb;
    let wRow = weights + <usize>((kyStart * kW + kxStart) * n * 2 + cb * 2);
    for (let ky = kyStart; ky < kyEnd; ky++) {
      let p = rowStart;
      let w = wRow;
      for (let kx = kxStart; kx < kxEnd; kx++) {
        const wl = v128.load(w);
        const xl = i16x8.sub(eight(p), zp);
        a0 = i32x4.add(a0, i32x4.extmul_low_i16x8_s(xl, wl)); a1 = i32x4.add(a1, i32x4.extmul_high_i16x8_s(xl, wl));
        if (pair) {
          const yl = i16x8.sub(eight(p + pairStep), zp);
          b0 = i32x4.add(b0, i32x4.extmul_low_i16x8_s(yl, wl)); b1 = i32x4.add(b1, i32x4.extmul_high_i16x8_s(yl, wl));
        }
        p += tapStepX;
        w += tapWeights;
      }
      rowStart += tapStepY;
      wRow += <usize>(kW * n * 2);
    }
    storeEight(a0, a1, out, cb, vOutZp, lo, hi);
    if (pair) storeEight(b0, b1, out + <usize>outC, cb, vOutZp, lo, hi);
  }
  return n;
}

// Eight requantized channels from cb, stored at out + cb.
@inline function storeEight(a0: v128, a1: v128, out: usize, cb: i32, zp: v128, lo: v128, hi: v128): void {
  const g = channelVectors + <usize>((cb >> 2) * GROUP_BYTES);
  const q = i8x16.shuffle(requantizeFour(a0, g, zp, lo, hi), requantizeFour(a1, g + GROUP_BYTES, zp, lo, hi), 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  v128.store64_lane(out + <usize>cb, q, 0);
}

// ADD (add.ts) on the first n elements, n a multiple of 16.
export function addSixteens(
  input1: usize, input2: usize, output: usize, n: i32,
  in1Zp: i32, in2Zp: i32, outZp: i32, leftShift: i32,
  in1Mult: i32, in1Shift: i32, in2Mult: i32, in2Shift: i32,
  outMult: i32, outShift: i32, actMin: i32, actMax: i32,
): void {
  const z1 = i16x8.splat(<i16>in1Zp), z2 = i16x8.splat(<i16>in2Zp);
  const mOut = i32x4.splat(outMult);
  const vOutZp = i32x4.splat(outZp), lo = i32x4.splat(actMin), hi = i32x4.splat(actMax);
  // Each input's (x - zp) << L times its multiplier, L = leftShift plus the
  // multiplier's own left shift: with |x - zp| <= 255 and 9 <= L <= 22 the
  // 64-bit high multiply is exactly (x - zp) * (m >> S) + (((x - zp) *
  // (m mod 2^S) + 2^(S-1)) >> S), S = 31 - L, all in int32 lanes.
  const l1 = leftShift + max(in1Shift, 0), l2 = leftShift + max(in2Shift, 0);
  const split = l1 >= 9 && l1 <= 22 && l2 >= 9 && l2 <= 22;
  const s1 = 31 - l1, s2 = 31 - l2;
  const h1 = i32x4.splat(in1Mult >> s1), low1 = i32x4.splat(in1Mult & ((1 << s1) - 1)), half1 = i32x4.splat(1 << (s1 - 1));
  const h2 = i32x4.splat(in2Mult >> s2), low2 = i32x4.splat(in2Mult & ((1 << s2) - 1)), half2 = i32x4.splat(1 << (s2 - 1));
  const r1 = max(-in1Shift, 0), r2 = max(-in2Shift, 0);
  const m1 = i32x4.splat(in1Mult), m2 = i32x4.splat(in2Mult);
  for (let i = 0; i < n; i += 16) {
    const x = v128.load(input1 + <usize>i), y = v128.load(input2 + <usize>i);
    const xl = i16x8.sub(i16x8.extend_low_i8x16_s(x), z1), xh = i16x8.sub(i16x8.extend_high_i8x16_s(x), z1);
    const yl = i16x8.sub(i16x8.extend_low_i8x16_s(y), z2), yh = i16x8.sub(i16x8.extend_high_i8x16_s(y), z2);
    let q0: v128, q1: v128, q2: v128, q3: v128;
    if (split) {
      q0 = i32x4.add(scaleSplit(i32x4.extend_low_i16x8_s(xl), h1, low1, half1, s1, r1), scaleSplit(i32x4.extend_low_i16x8_s(yl), h2, low2, half2, s2, r2));
      q1 = i32x4.add(scaleSplit(i32x4.extend_high_i16x8_s(xl), h1, low1, half1, s1, r1), scaleSplit(i32x4.extend_high_i16x8_s(yl), h2, low2, half2, s2, r2));
      q2 = i32x4.add(scaleSplit(i32x4.extend_low_i16x8_s(xh), h1, low1, half1, s1, r1), scaleSplit(i32x4.extend_low_i16x8_s(yh), h2, low2, half2, s2, r2));
      q3 = i32x4.add(scaleSplit(i32x4.extend_high_i16x8_s(xh), h1, low1, half1, s1, r1), scaleSplit(i32x4.extend_high_i16x8_s(yh), h2, low2, half2, s2, r2));
    } else {
      q0 = i32x4.add(multiplyFour(i32x4.shl(i32x4.extend_low_i16x8_s(xl), leftShift), m1, in1Shift), multiplyFour(i32x4.shl(i32x4.extend_low_i16x8_s(yl), leftShift), m2, in2Shift));
      q1 = i32x4.add(multiplyFour(i32x4.shl(i32x4.extend_high_i16x8_s(xl), leftShift), m1, in1Shift), multiplyFour(i32x4.shl(i32x4.extend_high_i16x8_s(yl), leftShift), m2, in2Shift));
      q2 = i32x4.add(multiplyFour(i32x4.shl(i32x4.extend_low_i16x8_s(xh), leftShift), m1, in1Shift), multiplyFour(i32x4.shl(i32x4.extend_low_i16x8_s(yh), leftShift), m2, in2Shift));
      q3 = i32x4.add(multiplyFour(i32x4.shl(i32x4.extend_high_i16x8_s(xh), leftShift), m1, in1Shift), multiplyFour(i32x4.shl(i32x4.extend_high_i16x8_s(yh), leftShift), m2, in2Shift));
    }
    v128.store(output + <usize>i, packBytes(
      outputFour(q0, mOut, outShift, vOutZp, lo, hi), outputFour(q1, mOut, outShift, vOutZp, lo, hi),
      outputFour(q2, mOut, outShift, vOutZp, lo, hi), outputFour(q3, mOut, outShift, vOutZp, lo, hi)));
  }
}

// One input's scaled value (see addSixteens), then its rounding right shift.
@inline function scaleSplit(a: v128, high: v128, low: v128, half: v128, s: i32, rightShift: i32): v128 {
  const h = i32x4.add(i32x4.mul(a, high), i32x4.shr_s(i32x4.add(i32x4.mul(a, low), half), s));
  return roundingShiftFour(h, rightShift);
}

// quant.ts's roundingDivideByPOT on four lanes, one exponent for all.
@inline function roundingShiftFour(h: v128, exponent: i32): v128 {
  const mask = (1 << exponent) - 1;
  const threshold = i32x4.sub(i32x4.splat(mask >> 1), i32x4.shr_s(h, 31));
  return i32x4.sub(i32x4.shr_s(h, exponent), i32x4.gt_s(v128.and(h, i32x4.splat(mask)), threshold));
}

@inline function outputFour(sum: v128, mOut: v128, sOut: i32, outZp: v128, lo: v128, hi: v128): v128 {
  return i32x4.min_s(i32x4.max_s(i32x4.add(multiplyFour(sum, mOut, sOut), outZp), lo), hi);
}
