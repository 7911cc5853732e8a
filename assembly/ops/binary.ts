// BINARY: the int8 elementwise ops with TFLM's broadcasting: ADD, SUB, MUL,
// MAXIMUM, MINIMUM, SQUARED_DIFFERENCE (TFLM's reference kernels:
// integer_ops/add.h, sub.h, integer_ops/mul.h, maximum_minimum.h,
// squared_difference.cc), and BATCH_MATMUL (reference/batch_matmul.h): each
// output the sum over a depth of (a - zero point) * (b - zero point),
// requantized as MUL's product is. The converter folds the broadcast into a
// 6-D walk over the contiguous output, each operand read with its own strides
// (0 along a broadcast dimension; for BATCH_MATMUL, the batch dimensions, the
// rows and the columns, a transposed operand read through its strides).
// Arguments:
//   0 kind (KIND_*; 8 + ADD or MUL: TFLM's int16 paths, the same arithmetic
//     on int16 elements, strides still in elements),
//   1 first operand, 2 second operand: k >= 1 is tensor k,
//     k <= -1 is constant block -1 - k
//   3 first zero point, 4 second zero point, 5 output zero point, 6 left shift,
//   7/8 first multiplier/shift, 9/10 second multiplier/shift,
//   11/12 output multiplier/shift, 13/14 activation min/max
//   15.. shape[6], first operand's strides[6], second operand's strides[6] (elements)
//   BATCH_MATMUL (kind 6) only, 33..35: depth, the first and the second
//     operand's stride along it
import * as F from "../format";
import { failAt } from "../errors";
import { addS8 } from "../kernels/add";
import { multiplyByQuantizedMultiplier, requantize } from "../quant";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

const KIND_ADD = 0;
const KIND_SUB = 1;
const KIND_MUL = 2;
const KIND_MAXIMUM = 3;
const KIND_MINIMUM = 4;
const KIND_SQUARED_DIFFERENCE = 5;
const KIND_MATMUL = 6;

const RANK = 6;
const SHAPE = 15;
const A_STRIDES = SHAPE + RANK;
const B_STRIDES = A_STRIDES + RANK;
const ARGS = B_STRIDES + RANK;
const DEPTH = ARGS; // BATCH_MATMUL: depth, then the operands' strides along it
const MAX_ELEMENTS: i64 = 1 << 28;

// Bytes of operand `source` (a tensor or a block), or -1 when it names neither.
function operandBytes(op: usize, source: i32): i32 {
  if (source >= 1) return source < tensorCount(op) ? tensorBytes(op, source) : -1;
  const block = -1 - source;
  return source <= -1 && block < blockCount(op) ? blockBytes(op, block) : -1;
}

function operandAt(op: usize, arena: usize, source: i32): usize {
  return source >= 1 ? tensorAt(arena, op, source) : blockAt(op, -1 - source);
}

// The last element the 6-D walk reads with the strides at argument `strides`.
function walkReach(op: usize, strides: i32): i64 {
  let last: i64 = 0;
  for (let d = 0; d < RANK; d++) last += <i64>(arg(op, SHAPE + d) - 1) * <i64>arg(op, strides + d);
  return last;
}

function checkOperand(index: i32, op: usize, source: i32, strides: i32, wide: i32): i32 {
  const bytes = operandBytes(op, source) >> wide; // in elements
  if (bytes < 1) return failAt(F.ERR_BAD_OP, index, "BINARY operand is not a tensor or block", source);
  for (let d = 0; d < RANK; d++) {
    const stride = arg(op, strides + d);
    if (stride < 0 || stride > bytes) return failAt(F.ERR_BAD_OP, index, "BINARY stride out of range", stride);
  }
  const last = walkReach(op, strides);
  if (last >= <i64>bytes) return failAt(F.ERR_BAD_OP, index, "BINARY reads outside its operand", source);
  return F.ERR_NONE;
}

@inline
function inInt8(x: i32): bool {
  return x >= -128 && x <= 127;
}

export function validate(index: i32, op: usize, n: i32): i32 {
  const matmul = n == ARGS + 3;
  if (n != ARGS && !matmul) return failAt(F.ERR_BAD_OP, index, "BINARY has the wrong argument count", n);
  const kind = arg(op, 0), wide = kind >> 3;
  if ((kind == KIND_MATMUL) != matmul || kind < KIND_ADD || kind > KIND_MATMUL && kind != 8 + KIND_ADD && kind != 8 + KIND_MUL) return failAt(F.ERR_BAD_OP, index, "BINARY kind invalid", kind);
  let elements: i64 = 1;
  for (let d = 0; d < RANK; d++) {
    const size = arg(op, SHAPE + d);
    if (size < 1 || <i64>size > MAX_ELEMENTS) return failAt(F.ERR_BAD_OP, index, "BINARY dimension out of range", size);
    elements *= size;
    if (elements > MAX_ELEMENTS) return failAt(F.ERR_BAD_OP, index, "BINARY too large", d);
  }
  if (elements << wide != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "BINARY shape does not match its output", tensorBytes(op, 0));
  const a = checkOperand(index, op, arg(op, 1), A_STRIDES, wide);
  if (a != F.ERR_NONE) return a;
  const b = checkOperand(index, op, arg(op, 2), B_STRIDES, wide);
  if (b != F.ERR_NONE) return b;
  if (!inInt8(arg(op, 3)) || !inInt8(arg(op, 4)) || !inInt8(arg(op, 5))) return failAt(F.ERR_BAD_OP, index, "BINARY zero point out of range", 0);
  const leftShift = arg(op, 6);
  if (leftShift < 0 || leftShift > 20) return failAt(F.ERR_BAD_OP, index, "BINARY left shift out of range", leftShift);
  for (let k = 7; k <= 11; k += 2) {
    if (arg(op, k) < 0) return failAt(F.ERR_BAD_OP, index, "BINARY multiplier negative", arg(op, k));
    const shift = arg(op, k + 1);
    if (shift < -31 || shift > 31) return failAt(F.ERR_BAD_OP, index, "BINARY shift out of range", shift);
  }
  const lo = arg(op, 13), hi = arg(op, 14);
  if ((wide ? lo < -32768 || hi > 32767 : !inInt8(lo) || !inInt8(hi)) || lo > hi) return failAt(F.ERR_BAD_OP, index, "BINARY activation range invalid", lo);
  return matmul ? checkDepth(index, op) : F.ERR_NONE;
}

// BATCH_MATMUL's depth: each operand, read `depth` times along its depth
// stride from every position of the walk (checked above), stays inside.
function checkDepth(index: i32, op: usize): i32 {
  const depth = arg(op, DEPTH);
  if (depth < 1 || <i64>depth > MAX_ELEMENTS) return failAt(F.ERR_BAD_OP, index, "BINARY depth out of range", depth);
  for (let k = 1; k <= 2; k++) {
    const stride = arg(op, DEPTH + k), bytes = operandBytes(op, arg(op, k));
    const last = walkReach(op, k == 1 ? A_STRIDES : B_STRIDES) + <i64>(depth - 1) * <i64>stride;
    if (stride < 0 || last >= <i64>bytes) return failAt(F.ERR_BAD_OP, index, "BINARY depth reads outside its operand", stride);
  }
  return F.ERR_NONE;
}

// One innermost run of `count` outputs; the operands step by aStep and bStep.
function row(op: usize, kind: i32, a: usize, aStep: i32, b: usize, bStep: i32, out: usize, count: i32): void {
  const aZp = arg(op, 3), bZp = arg(op, 4), outZp = arg(op, 5), leftShift = arg(op, 6);
  const aMult = arg(op, 7), aShift = arg(op, 8), bMult = arg(op, 9), bShift = arg(op, 10);
  const outMult = arg(op, 11), outShift = arg(op, 12), lo = arg(op, 13), hi = arg(op, 14);
  const as = <usize>aStep, bs = <usize>bStep;
  if (kind == KIND_ADD || kind == KIND_SUB || kind == KIND_SQUARED_DIFFERENCE) {
    for (let i = 0; i < count; i++) {
      const x = (<i32>load<i8>(a + <usize>i * as) - aZp) << leftShift;
      const y = (<i32>load<i8>(b + <usize>i * bs) - bZp) << leftShift;
      const sx = multiplyByQuantizedMultiplier(x, aMult, aShift);
      const sy = multiplyByQuantizedMultiplier(y, bMult, bShift);
      let raw: i32;
      if (kind == KIND_ADD) raw = sx + sy;
      else if (kind == KIND_SUB) raw = sx - sy;
      else raw = (sx - sy) * (sx - sy);
      store<i8>(out + <usize>i, <i8>requantize(raw, outMult, outShift, outZp, lo, hi));
    }
  } else if (kind == KIND_MATMUL) {
    const depth = arg(op, DEPTH), ak = <usize>arg(op, DEPTH + 1), bk = <usize>arg(op, DEPTH + 2);
    for (let i = 0; i < count; i++) {
      const ai = a + <usize>i * as, bi = b + <usize>i * bs;
      let acc = 0;
      for (let k = 0; k < depth; k++) acc += (<i32>load<i8>(ai + <usize>k * ak) - aZp) * (<i32>load<i8>(bi + <usize>k * bk) - bZp);
      store<i8>(out + <usize>i, <i8>requantize(acc, outMult, outShift, outZp, lo, hi));
    }
  } else if (kind == KIND_MUL) {
    for (let i = 0; i < count; i++) {
      const x = <i32>load<i8>(a + <usize>i * as) - aZp;
      const y = <i32>load<i8>(b + <usize>i * bs) - bZp;
      store<i8>(out + <usize>i, <i8>requantize(x * y, outMult, outShift, outZp, lo, hi));
    }
  } else {
    // MAXIMUM / MINIMUM compare the raw int8 values, as TFLM does.
    const max = kind == KIND_MAXIMUM;
    for (let i = 0; i < count; i++) {
      const x = load<i8>(a + <usize>i * as), y = load<i8>(b + <usize>i * bs);
      store<i8>(out + <usize>i, max ? (x > y ? x : y) : (x < y ? x : y));
    }
  }
}

// The int16 ADD and MUL (no zero points: TFLite's int16 ones are 0); steps in bytes.
function row16(op: usize, kind: i32, a: usize, as: usize, b: usize, bs: usize, out: usize, count: i32): void {
  const leftShift = arg(op, 6), outMult = arg(op, 11), outShift = arg(op, 12), lo = arg(op, 13), hi = arg(op, 14);
  for (let i = 0; i < count; i++) {
    let x = <i32>load<i16>(a + <usize>i * as), y = <i32>load<i16>(b + <usize>i * bs);
    if (kind == 8 + KIND_ADD) {
      x = multiplyByQuantizedMultiplier(x << leftShift, arg(op, 7), arg(op, 8)) + multiplyByQuantizedMultiplier(y << leftShift, arg(op, 9), arg(op, 10));
    } else x *= y;
    store<i16>(out + (<usize>i << 1), <i16>requantize(x, outMult, outShift, 0, lo, hi));
  }
}

export function run(op: usize, arena: usize): void {
  const kind = arg(op, 0);
  const a = operandAt(op, arena, arg(op, 1)), b = operandAt(op, arena, arg(op, 2));
  const out = tensorAt(arena, op, 0);
  const n5 = arg(op, SHAPE + 5), a5 = arg(op, A_STRIDES + 5), b5 = arg(op, B_STRIDES + 5);
  // Same shapes: the converter folds everything into the innermost dimension.
  if (kind == KIND_ADD && a5 == 1 && b5 == 1 && n5 == tensorBytes(op, 0)) {
    addS8(
      a, b, out, n5, arg(op, 3), arg(op, 4), arg(op, 5), arg(op, 6),
      arg(op, 7), arg(op, 8), arg(op, 9), arg(op, 10), arg(op, 11), arg(op, 12), arg(op, 13), arg(op, 14),
    );
    return;
  }
  const e = <usize>(1 + (kind >> 3)); // element bytes
  const n0 = arg(op, SHAPE), n1 = arg(op, SHAPE + 1), n2 = arg(op, SHAPE + 2), n3 = arg(op, SHAPE + 3), n4 = arg(op, SHAPE + 4);
  const sa0 = <usize>arg(op, A_STRIDES) * e, sa1 = <usize>arg(op, A_STRIDES + 1) * e, sa2 = <usize>arg(op, A_STRIDES + 2) * e;
  const sa3 = <usize>arg(op, A_STRIDES + 3) * e, sa4 = <usize>arg(op, A_STRIDES + 4) * e;
  const sb0 = <usize>arg(op, B_STRIDES) * e, sb1 = <usize>arg(op, B_STRIDES + 1) * e, sb2 = <usize>arg(op, B_STRIDES + 2) * e;
  const sb3 = <usize>arg(op, B_STRIDES + 3) * e, sb4 = <usize>arg(op, B_STRIDES + 4) * e;
  let o = out;
  for (let d0 = 0; d0 < n0; d0++) {
    const a0 = a + <usize>d0 * sa0, b0 = b + <usize>d0 * sb0;
    for (let d1 = 0; d1 < n1; d1++) {
      const a1 = a0 + <usize>d1 * sa1, b1 = b0 + <usize>d1 * sb1;
      for (let d2 = 0; d2 < n2; d2++) {
        const a2 = a1 + <usize>d2 * sa2, b2 = b1 + <usize>d2 * sb2;
        for (let d3 = 0; d3 < n3; d3++) {
          const a3 = a2 + <usize>d3 * sa3, b3 = b2 + <usize>d3 * sb3;
          for (let d4 = 0; d4 < n4; d4++) {
            if (e == 1) row(op, kind, a3 + <usize>d4 * sa4, a5, b3 + <usize>d4 * sb4, b5, o, n5);
            else row16(op, kind, a3 + <usize>d4 * sa4, <usize>a5 * e, b3 + <usize>d4 * sb4, <usize>b5 * e, o, n5);
            o += <usize>n5 * e;
          }
        }
      }
    }
  }
}
