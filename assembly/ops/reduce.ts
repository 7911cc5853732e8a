// REDUCE: MEAN, SUM, REDUCE_MAX and REDUCE_MIN over any axes, int8, as
// TFLM's reduce kernels compute them (reference_ops::QuantizedMeanOrSum and
// ReduceGeneric). The converter splits the input's dimensions into kept ones
// (walked in output order) and reduced ones, both with input strides:
//   out[o] = reduce over r of in[kept(o) + reduced(r)]
// Sums wrap in int32 like TFLM's; order does not matter for sum, max or min.
// Arguments: kind, inZp, outZp, multiplier, shift, count (reduced elements),
// keptSize[4], keptStride[4], reducedSize[4], reducedStride[4].
// kind 0: sum, then (sum - inZp * count) requantized (MEAN with 1/count
// folded into the multiplier, or SUM); 1: max; 2: min; 3: MEAN over H and W
// of a batch-1 NHWC tensor, by the kernel of the legacy MEAN (kernels/mean.ts);
// 4: kind 0 on int16 elements (TFLM's int16 MEAN and SUM; strides in elements).
import * as F from "../format";
import { failAt } from "../errors";
import { meanHwS8 } from "../kernels/mean";
import { requantize } from "../quant";
import { arg, tensorAt, tensorBytes } from "./record";

const DIMS = 4;
const KEPT_SIZE = 6, KEPT_STRIDE = 10, RED_SIZE = 14, RED_STRIDE = 18, ARGS = 22;
const MAX_ELEMENTS: i64 = 1 << 28;

export const KIND_SUM = 0, KIND_MAX = 1, KIND_MIN = 2, KIND_MEAN_HW = 3, KIND_SUM16 = 4;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS) return failAt(F.ERR_BAD_OP, index, "REDUCE has the wrong argument count", n);
  const kind = arg(op, 0), inZp = arg(op, 1), outZp = arg(op, 2), multiplier = arg(op, 3), shift = arg(op, 4), count = arg(op, 5);
  const w = kind == KIND_SUM16 ? 1 : 0;
  if (kind < 0 || kind > 4) return failAt(F.ERR_BAD_OP, index, "REDUCE kind invalid", kind);
  if (inZp < -128 || inZp > 127 || outZp < -128 || outZp > 127) return failAt(F.ERR_BAD_OP, index, "REDUCE zero point out of range", 0);
  if (multiplier < 0 || shift < -31 || shift > 30) return failAt(F.ERR_BAD_OP, index, "REDUCE multiplier out of range", shift);
  let kept: i64 = 1, reduced: i64 = 1, reach: i64 = 0;
  for (let d = 0; d < DIMS; d++) {
    const ks = arg(op, KEPT_SIZE + d), kt = arg(op, KEPT_STRIDE + d), rs = arg(op, RED_SIZE + d), rt = arg(op, RED_STRIDE + d);
    if (ks < 1 || rs < 1 || ks > 0xfffffff || rs > 0xfffffff || kt < 0 || rt < 0) return failAt(F.ERR_BAD_OP, index, "REDUCE dimension out of range", d);
    kept *= ks;
    reduced *= rs;
    if (kept > MAX_ELEMENTS || reduced > MAX_ELEMENTS) return failAt(F.ERR_BAD_OP, index, "REDUCE too large", d);
    reach += <i64>(ks - 1) * kt + <i64>(rs - 1) * rt;
  }
  if (kept << w != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "REDUCE output size does not match", tensorBytes(op, 0));
  if (reduced != <i64>count) return failAt(F.ERR_BAD_OP, index, "REDUCE count does not match", count);
  if (reach >= <i64>(tensorBytes(op, 1) >> w)) return failAt(F.ERR_BAD_OP, index, "REDUCE reads outside its input", <i32>reach);
  // Every input element is read once: this bounds the work as well.
  if (kept * reduced << w != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "REDUCE walks do not cover its input", tensorBytes(op, 1));
  if (kind == KIND_MEAN_HW) {
    // meanHwS8's layout: channels contiguous, then W, then H.
    const c = arg(op, KEPT_SIZE + 3), h = arg(op, RED_SIZE + 2), w = arg(op, RED_SIZE + 3);
    if (kept != <i64>c || <i64>count != <i64>h * w || arg(op, KEPT_STRIDE + 3) != 1 || arg(op, RED_STRIDE + 3) != c || <i64>arg(op, RED_STRIDE + 2) != <i64>w * c || <i64>h * w * c > <i64>tensorBytes(op, 1)) {
      return failAt(F.ERR_BAD_OP, index, "REDUCE mean layout invalid", 0);
    }
  }
  return F.ERR_NONE;
}

// The reduction of one output element, whose inputs start at `p`.
function reduceAt(op: usize, p: usize, kind: i32, e: usize): i32 {
  const n0 = arg(op, RED_SIZE), n1 = arg(op, RED_SIZE + 1), n2 = arg(op, RED_SIZE + 2), n3 = arg(op, RED_SIZE + 3);
  const s0 = <usize>arg(op, RED_STRIDE) * e, s1 = <usize>arg(op, RED_STRIDE + 1) * e, s2 = <usize>arg(op, RED_STRIDE + 2) * e, s3 = <usize>arg(op, RED_STRIDE + 3) * e;
  let acc: i32 = kind == KIND_MAX ? -128 : kind == KIND_MIN ? 127 : 0;
  for (let a = 0; a < n0; a++) {
    const p1 = p + <usize>a * s0;
    for (let b = 0; b < n1; b++) {
      const p2 = p1 + <usize>b * s1;
      for (let c = 0; c < n2; c++) {
        const p3 = p2 + <usize>c * s2;
        if (kind == KIND_SUM) {
          for (let d = 0; d < n3; d++) acc += <i32>load<i8>(p3 + <usize>d * s3);
        } else if (kind == KIND_SUM16) {
          for (let d = 0; d < n3; d++) acc += <i32>load<i16>(p3 + <usize>d * s3);
        } else if (kind == KIND_MAX) {
          for (let d = 0; d < n3; d++) acc = max(acc, <i32>load<i8>(p3 + <usize>d * s3));
        } else {
          for (let d = 0; d < n3; d++) acc = min(acc, <i32>load<i8>(p3 + <usize>d * s3));
        }
      }
    }
  }
  return acc;
}

export function run(op: usize, arena: usize): void {
  const kind = arg(op, 0), inZp = arg(op, 1), outZp = arg(op, 2), multiplier = arg(op, 3), shift = arg(op, 4), count = arg(op, 5);
  const input = tensorAt(arena, op, 1), output = tensorAt(arena, op, 0);
  if (kind == KIND_MEAN_HW) {
    meanHwS8(input, output, arg(op, RED_SIZE + 2), arg(op, RED_SIZE + 3), arg(op, KEPT_SIZE + 3), inZp, outZp, multiplier, shift);
    return;
  }
  const n0 = arg(op, KEPT_SIZE), n1 = arg(op, KEPT_SIZE + 1), n2 = arg(op, KEPT_SIZE + 2), n3 = arg(op, KEPT_SIZE + 3);
  const e = <usize>(kind == KIND_SUM16 ? 2 : 1);
  const s0 = <usize>arg(op, KEPT_STRIDE) * e, s1 = <usize>arg(op, KEPT_STRIDE + 1) * e, s2 = <usize>arg(op, KEPT_STRIDE + 2) * e, s3 = <usize>arg(op, KEPT_STRIDE + 3) * e;
  const offset = inZp * count; // wraps like TFLM's int32 cast
  let o = output;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        const p = input + <usize>a * s0 + <usize>b * s1 + <usize>c * s2;
        for (let d = 0; d < n3; d++) {
          const acc = reduceAt(op, p + <usize>d * s3, kind, e);
          if (e == 2) store<i16>(o, <i16>requantize(acc - offset, multiplier, shift, outZp, -32768, 32767));
          else store<i8>(o, <i8>(kind == KIND_SUM ? requantize(acc - offset, multiplier, shift, outZp, -128, 127) : acc));
          o += e;
        }
      }
    }
  }
}
