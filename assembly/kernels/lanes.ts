// Two pixels in one i64, for the build for interpreters. wasm3 pays per wasm
// instruction, so multiplying the shared weight once by both pixels'
// (input - inZp), packed as the low and high 32 bits of an i64, halves the
// multiplies, adds and stores per product. The low lane's sum borrows into
// the high one and is taken back when unpacking; both are exact while each
// sum fits in 31 bits, which PAIR_TAPS guarantees (|input - inZp| <= 255,
// |weight| <= 128). Conv (pixel pairs) and dense (row pairs) share it.
// (Depthwise keeps its loop: its four channels' inputs differ per product,
// so the packing costs what the lanes save; measured no faster.)
import { storeFourChannels } from "./output";

// The build for interpreters (build/wisp-wasm3.wasm: asc's wasm3 target sets
// WISP_INTERPRETER): kernels take the loop shapes that cost wasm3 the fewest
// dispatches. The other builds keep theirs: the i64 lanes cost a 32-bit AOT
// target more than they save, and V8 runs the SIMD build.
// @ts-ignore: WISP_INTERPRETER is defined by asc's --use, or not at all
export const INTERPRETER: bool = isDefined(WISP_INTERPRETER);

// Windows of more taps than this go one pixel at a time.
export const PAIR_TAPS = 65536; // 65536 * 255 * 128 < 2^31

// v in both lanes (the zero points subtracted from a two-lane input).
@inline function bothLanes(v: i32): i64 { return <i64>v + (<i64>v << 32); }
@inline function lowLane(acc: i64): i32 { return <i32>acc; }
@inline function highLane(acc: i64): i32 { return <i32>((acc - <i64><i32>acc) >> 32); }

// Four output channels of two pixels `pairStep` apart: each sums
// (input - inZp) * filter over `rows` rows of `runs` runs of `runLen`
// contiguous bytes (input: rows `rowStep` apart, runs `runStep` apart;
// filter: rows `wRowStep`, runs `wRunStep`), for the four filters
// `filterSize` apart from w0, then stores both pixels' requantized outputs,
// the second's `outC` after the first's. Needs rows * runs * runLen <= PAIR_TAPS.
export function dotPixelPairFour(
  p0: usize, pairStep: usize, w0: usize, filterSize: usize,
  rows: i32, rowStep: usize, wRowStep: usize, runs: i32, runLen: i32, runStep: usize, wRunStep: usize,
  inZp: i32, out: usize, oc: i32, outC: i32, records: usize, outZp: i32, actMin: i32, actMax: i32,
): void {
  const zeroPoints = bothLanes(inZp);
  let s0: i64 = 0, s1: i64 = 0, s2: i64 = 0, s3: i64 = 0;
  let rowStart = p0;
  let wRow = w0;
  for (let ky = 0; ky < rows; ky++) {
    let run = rowStart;
    let wRun = wRow;
    for (let r = 0; r < runs; r++) {
      // One pointer per stream, advanced once per eight taps; the loads use
      // constant offsets from it.
      let p = run, q = run + pairStep;
      let f0 = wRun, f1 = f0 + filterSize, f2 = f1 + filterSize, f3 = f2 + filterSize;
      const end = run + <usize>runLen;
      for (; p + 8 <= end; p += 8, q += 8, f0 += 8, f1 += 8, f2 += 8, f3 += 8) {
        // Both pixels' input byte as one two-lane value, less the zero points.
        let v = (<i64>load<i8>(p) + (<i64>load<i8>(q) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0); s1 += v * <i64>load<i8>(f1); s2 += v * <i64>load<i8>(f2); s3 += v * <i64>load<i8>(f3);
        v = (<i64>load<i8>(p, 1) + (<i64>load<i8>(q, 1) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 1); s1 += v * <i64>load<i8>(f1, 1); s2 += v * <i64>load<i8>(f2, 1); s3 += v * <i64>load<i8>(f3, 1);
        v = (<i64>load<i8>(p, 2) + (<i64>load<i8>(q, 2) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 2); s1 += v * <i64>load<i8>(f1, 2); s2 += v * <i64>load<i8>(f2, 2); s3 += v * <i64>load<i8>(f3, 2);
        v = (<i64>load<i8>(p, 3) + (<i64>load<i8>(q, 3) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 3); s1 += v * <i64>load<i8>(f1, 3); s2 += v * <i64>load<i8>(f2, 3); s3 += v * <i64>load<i8>(f3, 3);
        v = (<i64>load<i8>(p, 4) + (<i64>load<i8>(q, 4) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 4); s1 += v * <i64>load<i8>(f1, 4); s2 += v * <i64>load<i8>(f2, 4); s3 += v * <i64>load<i8>(f3, 4);
        v = (<i64>load<i8>(p, 5) + (<i64>load<i8>(q, 5) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 5); s1 += v * <i64>load<i8>(f1, 5); s2 += v * <i64>load<i8>(f2, 5); s3 += v * <i64>load<i8>(f3, 5);
        v = (<i64>load<i8>(p, 6) + (<i64>load<i8>(q, 6) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 6); s1 += v * <i64>load<i8>(f1, 6); s2 += v * <i64>load<i8>(f2, 6); s3 += v * <i64>load<i8>(f3, 6);
        v = (<i64>load<i8>(p, 7) + (<i64>load<i8>(q, 7) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 7); s1 += v * <i64>load<i8>(f1, 7); s2 += v * <i64>load<i8>(f2, 7); s3 += v * <i64>load<i8>(f3, 7);
      }
      if (p + 4 <= end) {
        let v = (<i64>load<i8>(p) + (<i64>load<i8>(q) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0); s1 += v * <i64>load<i8>(f1); s2 += v * <i64>load<i8>(f2); s3 += v * <i64>load<i8>(f3);
        v = (<i64>load<i8>(p, 1) + (<i64>load<i8>(q, 1) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 1); s1 += v * <i64>load<i8>(f1, 1); s2 += v * <i64>load<i8>(f2, 1); s3 += v * <i64>load<i8>(f3, 1);
        v = (<i64>load<i8>(p, 2) + (<i64>load<i8>(q, 2) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 2); s1 += v * <i64>load<i8>(f1, 2); s2 += v * <i64>load<i8>(f2, 2); s3 += v * <i64>load<i8>(f3, 2);
        v = (<i64>load<i8>(p, 3) + (<i64>load<i8>(q, 3) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0, 3); s1 += v * <i64>load<i8>(f1, 3); s2 += v * <i64>load<i8>(f2, 3); s3 += v * <i64>load<i8>(f3, 3);
        p += 4; q += 4; f0 += 4; f1 += 4; f2 += 4; f3 += 4;
      }
      for (; p < end; p++, q++, f0++, f1++, f2++, f3++) {
        const v = (<i64>load<i8>(p) + (<i64>load<i8>(q) << 32)) - zeroPoints;
        s0 += v * <i64>load<i8>(f0); s1 += v * <i64>load<i8>(f1); s2 += v * <i64>load<i8>(f2); s3 += v * <i64>load<i8>(f3);
      }
      run += runStep;
      wRun += wRunStep;
    }
    rowStart += rowStep;
    wRow += wRowStep;
  }
  storeFourChannels(out, oc, lowLane(s0), lowLane(s1), lowLane(s2), lowLane(s3), records, outZp, actMin, actMax);
  storeFourChannels(out + <usize>outC, oc, highLane(s0), highLane(s1), highLane(s2), highLane(s3), records, outZp, actMin, actMax);
}

// Fully connected and 1x1 row pairs: every group of four channels reads the
// same two rows, so their two-lane inputs are built once per pair into a
// static buffer (PAIR_BUFFER_TAPS of them) and each group then loads one i64
// per tap instead of building it from two bytes.
export const PAIR_BUFFER_TAPS = 256;
// (Reserved only in the interpreter build: the others never use it.)
const pairInputs: usize = INTERPRETER ? memory.data(PAIR_BUFFER_TAPS * 8, 8) : 0;

// The rows at x and x + depth (depth <= PAIR_BUFFER_TAPS) into the buffer.
export function packRowPair(x: usize, depth: i32, inZp: i32): void {
  const zeroPoints = bothLanes(inZp);
  const y = x + <usize>depth;
  for (let i = 0; i < depth; i++) {
    store<i64>(pairInputs + (<usize>i << 3), (<i64>load<i8>(x + <usize>i) + (<i64>load<i8>(y + <usize>i) << 32)) - zeroPoints);
  }
}

// Four channels (filters `depth` apart from w0) of the packed row pair;
// stores both rows' outputs, the second `outC` after the first.
export function dotPackedPairFour(
  depth: i32, w0: usize, out: usize, oc: i32, outC: i32, records: usize, outZp: i32, actMin: i32, actMax: i32,
): void {
  let s0: i64 = 0, s1: i64 = 0, s2: i64 = 0, s3: i64 = 0;
  const step = <usize>depth;
  let x = pairInputs;
  let f0 = w0, f1 = f0 + step, f2 = f1 + step, f3 = f2 + step;
  const end = pairInputs + (step << 3);
  for (; x + 64 <= end; x += 64, f0 += 8, f1 += 8, f2 += 8, f3 += 8) {
    let v = load<i64>(x);
    s0 += v * <i64>load<i8>(f0); s1 += v * <i64>load<i8>(f1); s2 += v * <i64>load<i8>(f2); s3 += v * <i64>load<i8>(f3);
    v = load<i64>(x, 8);
    s0 += v * <i64>load<i8>(f0, 1); s1 += v * <i64>load<i8>(f1, 1); s2 += v * <i64>load<i8>(f2, 1); s3 += v * <i64>load<i8>(f3, 1);
    v = load<i64>(x, 16);
    s0 += v * <i64>load<i8>(f0, 2); s1 += v * <i64>load<i8>(f1, 2); s2 += v * <i64>load<i8>(f2, 2); s3 += v * <i64>load<i8>(f3, 2);
    v = load<i64>(x, 24);
    s0 += v * <i64>load<i8>(f0, 3); s1 += v * <i64>load<i8>(f1, 3); s2 += v * <i64>load<i8>(f2, 3); s3 += v * <i64>load<i8>(f3, 3);
    v = load<i64>(x, 32);
    s0 += v * <i64>load<i8>(f0, 4); s1 += v * <i64>load<i8>(f1, 4); s2 += v * <i64>load<i8>(f2, 4); s3 += v * <i64>load<i8>(f3, 4);
    v = load<i64>(x, 40);
    s0 += v * <i64>load<i8>(f0, 5); s1 += v * <i64>load<i8>(f1, 5); s2 += v * <i64>load<i8>(f2, 5); s3 += v * <i64>load<i8>(f3, 5);
    v = load<i64>(x, 48);
    s0 += v * <i64>load<i8>(f0, 6); s1 += v * <i64>load<i8>(f1, 6); s2 += v * <i64>load<i8>(f2, 6); s3 += v * <i64>load<i8>(f3, 6);
    v = load<i64>(x, 56);
    s0 += v * <i64>load<i8>(f0, 7); s1 += v * <i64>load<i8>(f1, 7); s2 += v * <i64>load<i8>(f2, 7); s3 += v * <i64>load<i8>(f3, 7);
  }
  for (; x < end; x += 8, f0++, f1++, f2++, f3++) {
    let v = load<i64>(x);
    s0 += v * <i64>load<i8>(f0); s1 += v * <i64>load<i8>(f1); s2 += v * <i64>load<i8>(f2); s3 += v * <i64>load<i8>(f3);
  }
  storeFourChannels(out, oc, lowLane(s0), lowLane(s1), lowLane(s2), lowLane(s3), records, outZp, actMin, actMax);
  storeFourChannels(out + <usize>outC, oc, highLane(s0), highLane(s1), highLane(s2), highLane(s3), records, outZp, actMin, actMax);
}
