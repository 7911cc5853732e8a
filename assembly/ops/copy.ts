// COPY: the shape ops (PAD, PADV2, MIRROR_PAD, CONCATENATION, PACK, UNPACK,
// SPLIT, SPLIT_V, SLICE, STRIDED_SLICE, TRANSPOSE, DEPTH_TO_SPACE,
// SPACE_TO_DEPTH, GATHER with constant indices) move elements without
// arithmetic, as TFLM's kernels do. The converter turns each into strided
// copies: an optional fill of the output (the pad value), then segments,
// each a 6-D walk
//   out[outBase + sum(i_d * outStride_d)] = in_k[inBase + sum(i_d * inStride_d)]
// Arguments: elementBytes, fill (0/1), fillValue, segments S, then per
// segment: source tensor k (>= 1), inBase, outBase, shape[6], inStride[6],
// outStride[6], all in elements.
import * as F from "../format";
import { failAt } from "../errors";
import { arg, argAt, elementInside, tensorAt, tensorBytes, tensorCount } from "./record";

const RANK = 6;
const SEGMENT_WORDS = 3 + 3 * RANK;
const HEADER_ARGS = 4;
const MAX_ELEMENTS: i64 = 1 << 28;

@inline
function segment(op: usize, s: i32): usize {
  return argAt(op, HEADER_ARGS + s * SEGMENT_WORDS);
}

@inline
function word(at: usize, k: i32): i32 {
  return load<i32>(at + <usize>(k << 2));
}

// Lowest and highest element a walk reaches from `base` (strides may be negative).
function reachInside(op: usize, k: i32, elementBytes: i32, base: i32, seg: usize, strideWord: i32): bool {
  let lo: i64 = base, hi: i64 = base;
  for (let d = 0; d < RANK; d++) {
    const step = <i64>(word(seg, 3 + d) - 1) * <i64>word(seg, strideWord + d);
    if (step < 0) lo += step;
    else hi += step;
  }
  return elementInside(op, k, elementBytes, lo) && elementInside(op, k, elementBytes, hi);
}

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n < HEADER_ARGS) return failAt(F.ERR_BAD_OP, index, "COPY has the wrong argument count", n);
  const elementBytes = arg(op, 0), fill = arg(op, 1), fillValue = arg(op, 2), segments = arg(op, 3);
  if (elementBytes != 1 && elementBytes != 2 && elementBytes != 4) return failAt(F.ERR_BAD_OP, index, "COPY element size invalid", elementBytes);
  if (segments < 1 || segments > 1024 || n != HEADER_ARGS + segments * SEGMENT_WORDS) return failAt(F.ERR_BAD_OP, index, "COPY segment count does not match its arguments", segments);
  if (tensorBytes(op, 0) % elementBytes != 0) return failAt(F.ERR_BAD_OP, index, "COPY output is not whole elements", tensorBytes(op, 0));
  if (fill != 0 && fill != 1) return failAt(F.ERR_BAD_OP, index, "COPY fill flag invalid", fill);
  const limit: i64 = elementBytes == 4 ? 0x7fffffff : elementBytes == 2 ? 32767 : 127;
  if (fill == 1 && (<i64>fillValue > limit || <i64>fillValue < -limit - 1)) return failAt(F.ERR_BAD_OP, index, "COPY fill value out of range", fillValue);
  for (let s = 0; s < segments; s++) {
    const seg = segment(op, s);
    const source = word(seg, 0);
    if (source < 1 || source >= tensorCount(op)) return failAt(F.ERR_BAD_OP, index, "COPY source is not an input", source);
    let elements: i64 = 1;
    for (let d = 0; d < RANK; d++) {
      const size = word(seg, 3 + d);
      if (size < 1 || size > 0xffff) return failAt(F.ERR_BAD_OP, index, "COPY dimension out of range", size);
      elements *= size;
    }
    if (elements > MAX_ELEMENTS) return failAt(F.ERR_BAD_OP, index, "COPY segment too large", s);
    if (!reachInside(op, source, elementBytes, word(seg, 1), seg, 3 + RANK)) return failAt(F.ERR_BAD_OP, index, "COPY reads outside its input", s);
    if (!reachInside(op, 0, elementBytes, word(seg, 2), seg, 3 + 2 * RANK)) return failAt(F.ERR_BAD_OP, index, "COPY writes outside its output", s);
  }
  return F.ERR_NONE;
}

@inline
function copyElement(dst: usize, src: usize, elementBytes: i32): void {
  if (elementBytes == 1) store<i8>(dst, load<i8>(src));
  else if (elementBytes == 2) store<i16>(dst, load<i16>(src));
  else store<i32>(dst, load<i32>(src));
}

export function run(op: usize, arena: usize): void {
  const elementBytes = arg(op, 0), segments = arg(op, 3);
  const output = tensorAt(arena, op, 0);
  if (arg(op, 1) == 1) {
    const value = arg(op, 2), count = tensorBytes(op, 0) / elementBytes;
    if (elementBytes == 1) memory.fill(output, <u8>value, <usize>count);
    else for (let i = 0; i < count; i++) {
      if (elementBytes == 2) store<i16>(output + <usize>(i << 1), <i16>value);
      else store<i32>(output + <usize>(i << 2), value);
    }
  }
  const eb = <isize>elementBytes;
  for (let s = 0; s < segments; s++) {
    const seg = segment(op, s);
    const input = tensorAt(arena, op, word(seg, 0));
    const n0 = word(seg, 3), n1 = word(seg, 4), n2 = word(seg, 5), n3 = word(seg, 6), n4 = word(seg, 7), n5 = word(seg, 8);
    const i0 = <isize>word(seg, 9) * eb, i1 = <isize>word(seg, 10) * eb, i2 = <isize>word(seg, 11) * eb;
    const i3 = <isize>word(seg, 12) * eb, i4 = <isize>word(seg, 13) * eb, i5 = <isize>word(seg, 14) * eb;
    const o0 = <isize>word(seg, 15) * eb, o1 = <isize>word(seg, 16) * eb, o2 = <isize>word(seg, 17) * eb;
    const o3 = <isize>word(seg, 18) * eb, o4 = <isize>word(seg, 19) * eb, o5 = <isize>word(seg, 20) * eb;
    // The innermost run is contiguous on both sides for most ops: one memory.copy.
    const contiguous = i5 == eb && o5 == eb;
    const a0 = <isize>input + <isize>word(seg, 1) * eb, b0 = <isize>output + <isize>word(seg, 2) * eb;
    for (let d0 = 0; d0 < n0; d0++) {
      const a1 = a0 + <isize>d0 * i0, b1 = b0 + <isize>d0 * o0;
      for (let d1 = 0; d1 < n1; d1++) {
        const a2 = a1 + <isize>d1 * i1, b2 = b1 + <isize>d1 * o1;
        for (let d2 = 0; d2 < n2; d2++) {
          const a3 = a2 + <isize>d2 * i2, b3 = b2 + <isize>d2 * o2;
          for (let d3 = 0; d3 < n3; d3++) {
            const a4 = a3 + <isize>d3 * i3, b4 = b3 + <isize>d3 * o3;
            for (let d4 = 0; d4 < n4; d4++) {
              const a5 = a4 + <isize>d4 * i4, b5 = b4 + <isize>d4 * o4;
              if (contiguous) {
                memory.copy(<usize>b5, <usize>a5, <usize>(<isize>n5 * eb));
                continue;
              }
              for (let d5 = 0; d5 < n5; d5++) copyElement(<usize>(b5 + <isize>d5 * o5), <usize>(a5 + <isize>d5 * i5), elementBytes);
            }
          }
        }
      }
    }
  }
}
