// Lowers the shape ops to COPY records (assembly/ops/copy.ts): strided 6-D
// copies of raw elements, with an optional fill. Like TFLM, none of them
// rescales: the output takes the input's bytes as they are.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import { TensorType } from "../tflite";
import { normalizeAxis, pushRecord, stridesOf } from "./record";

const RANK = 6;

interface Segment {
  source: number; // index into the op's inputs
  inBase: number;
  outBase: number;
  shape: number[];
  inStrides: number[];
  outStrides: number[];
}

// Pads a walk to 6 dimensions with leading size-1 dimensions.
function words(s: Segment): number[] {
  const pad = RANK - s.shape.length;
  const lead = <T>(v: T[], x: T) => [...new Array(pad).fill(x), ...v];
  return [s.source + 1, s.inBase, s.outBase, ...lead(s.shape, 1), ...lead(s.inStrides, 0), ...lead(s.outStrides, 0)];
}

function pushCopy(l: Lowering, opcode: number, output: Value, inputs: Value[], segments: Segment[], fill: number | null, tfliteOutput?: number): void {
  if (inputs.some((v) => v.type !== output.type)) l.reject("UNSUPPORTED_TYPE", "input and output types differ");
  for (const s of segments) if (s.shape.length > RANK) l.reject("UNSUPPORTED_OP", `tensors of rank ${s.shape.length} are not supported (at most ${RANK})`);
  pushRecord(l, opcode, {
    output,
    inputs,
    args: [output.type === TensorType.INT16 ? 2 : 1, fill === null ? 0 : 1, fill ?? 0, segments.length, ...segments.flatMap(words)],
    tfliteOutput,
  });
}

// The whole of `input` copied into `output` starting at element `outBase`
// with the output's strides (concatenation, packing, padding).
function place(source: number, shape: number[], outBase: number, outStrides: number[]): Segment {
  return { source, inBase: 0, outBase, shape, inStrides: stridesOf(shape), outStrides };
}

// A box of `shape` read from `input` at `begin` with `steps` (slicing,
// splitting, unpacking), written contiguously.
function box(source: number, inShape: number[], begin: number[], steps: number[], shape: number[]): Segment {
  const strides = stridesOf(inShape);
  return {
    source,
    inBase: begin.reduce((s, b, d) => s + b * strides[d], 0),
    outBase: 0,
    shape,
    inStrides: steps.map((st, d) => st * strides[d]),
    outStrides: stridesOf(shape),
  };
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// int8, or int16 (whose zero point TFLite fixes at 0).
function int8(l: Lowering, index: number, role: string): Value {
  const v = l.activation(index, role, [TensorType.INT8, TensorType.INT16]);
  if (v.type === TensorType.INT16 && v.quant.zeroPoint !== 0) l.reject("UNSUPPORTED_TYPE", `int16 ${role} has zero point ${v.quant.zeroPoint}`);
  return v;
}

// A constant paddings tensor of int32 or int64 values (TFLM reads both).
function paddingValues(l: Lowering, index: number): number[] {
  const t = l.tensor(index, "paddings");
  if (t.type === TensorType.INT32) return l.int32s(index, "paddings");
  if (t.type !== TensorType.INT64 || !t.data || t.data.length % 8 !== 0) return l.reject("UNSUPPORTED_TYPE", "paddings must be a constant int32 or int64 tensor");
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Array.from({ length: t.data.length / 8 }, (_, k) => Number(view.getBigInt64(8 * k, true)));
}

// MIRROR_PAD as copies: along each dimension the output is the left pad (the
// input read backwards from index left - 1 + offset), the input itself, and
// the right pad (read backwards from size - 1 - offset), as TFLM's
// GetInputDimension maps them; one segment per combination of those pieces.
function mirrorSegments(shape: number[], paddings: number[], offset: number): Segment[] {
  const inStrides = stridesOf(shape);
  const outShape = shape.map((n, d) => n + paddings[2 * d] + paddings[2 * d + 1]);
  const outStrides = stridesOf(outShape);
  // Per dimension, its pieces: [output start, input start, input step, count].
  const pieces = shape.map((n, d) => {
    const [left, right] = [paddings[2 * d], paddings[2 * d + 1]];
    return [[0, left - 1 + offset, -1, left], [left, 0, 1, n], [left + n, n - 1 - offset, -1, right]].filter((p) => p[3] > 0);
  });
  let combos: number[][][] = [[]];
  for (const options of pieces) combos = combos.flatMap((c) => options.map((p) => [...c, p]));
  return combos.map((c) => ({
    source: 0,
    inBase: c.reduce((sum, p, d) => sum + p[1] * inStrides[d], 0),
    outBase: c.reduce((sum, p, d) => sum + p[0] * outStrides[d], 0),
    shape: c.map((p) => p[3]),
    inStrides: c.map((p, d) => p[2] * inStrides[d]),
    outStrides,
  }));
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  switch (builtin) {
    case "PAD":
    case "PADV2": {
      l.arity(builtin === "PAD" ? [2] : [3], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      const rank = input.shape.length;
      if (rank > 5) l.reject("UNSUPPORTED_OP", `PAD of rank ${rank} is not supported (TFLM pads up to 5 dimensions)`);
      const paddings = l.int32s(op.inputs[1], "paddings");
      if (paddings.length !== 2 * rank) l.reject("BAD_MODEL", `paddings hold ${paddings.length} values for rank ${rank}`);
      if (paddings.some((p) => p < 0)) l.reject("BAD_MODEL", `negative paddings ${JSON.stringify(paddings)}`);
      input.shape.forEach((d, i) => {
        if (output.shape[i] !== d + paddings[2 * i] + paddings[2 * i + 1]) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the paddings`);
      });
      let fill = output.quant.zeroPoint;
      if (builtin === "PADV2") {
        const wide = output.type === TensorType.INT16;
        const c = wide ? l.tensor(op.inputs[2], "constant value") : l.constant(op.inputs[2], "constant value", TensorType.INT8, 1);
        if (wide && (c.type !== TensorType.INT16 || c.data?.length !== 2)) l.reject("UNSUPPORTED_TYPE", "the pad value must be one int16 constant");
        const q = l.quant(c, "constant value");
        if (q.scale !== output.quant.scale || q.zeroPoint !== output.quant.zeroPoint) l.reject("UNSUPPORTED_TYPE", "the pad value's quantization differs from the output's");
        const d = new DataView(c.data!.buffer, c.data!.byteOffset, c.data!.length);
        fill = wide ? d.getInt16(0, true) : d.getInt8(0);
      }
      const outStrides = stridesOf(output.shape);
      const base = input.shape.reduce((s, _, i) => s + paddings[2 * i] * outStrides[i], 0);
      pushCopy(l, opcode, output, [input], [place(0, input.shape, base, outStrides)], fill);
      // Padding of height and width only: a following convolution may absorb it (Lowering.conv).
      if (rank === 4 && paddings[0] === 0 && paddings[1] === 0 && paddings[6] === 0 && paddings[7] === 0) {
        l.notePad(op.outputs[0], { op: l.lastOp(), input, top: paddings[2], bottom: paddings[3], left: paddings[4], right: paddings[5], fill });
      }
      return;
    }
    case "MIRROR_PAD": {
      l.arity([2], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      if (input.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", "int16 MIRROR_PAD is refused by TFLM too, which runs it in float32 and int8 only");
      const rank = input.shape.length;
      if (rank > RANK) l.reject("UNSUPPORTED_OP", `MIRROR_PAD of rank ${rank} is not supported (at most ${RANK})`);
      const paddings = paddingValues(l, op.inputs[1]);
      if (paddings.length !== 2 * rank) l.reject("BAD_MODEL", `paddings hold ${paddings.length} values for rank ${rank}`);
      // MirrorPadOptions: mode 0 (REFLECT 0: the edge is not repeated; SYMMETRIC 1: it is).
      const offset = l.op.options && l.op.options.i8(0) === 1 ? 0 : 1;
      input.shape.forEach((n, d) => {
        const [left, right] = [paddings[2 * d], paddings[2 * d + 1]];
        if (left < 0 || right < 0 || left > n - offset || right > n - offset) l.reject("BAD_MODEL", `paddings ${left}, ${right} of dimension ${d} (size ${n}) exceed what ${offset ? "REFLECT" : "SYMMETRIC"} mode allows (at most ${n - offset})`);
        if (output.shape[d] !== n + left + right) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the paddings`);
      });
      return pushCopy(l, opcode, output, [input], mirrorSegments(input.shape, paddings, offset), null);
    }
    case "CONCATENATION": {
      if (op.inputs.length < 1) l.reject("BAD_MODEL", "CONCATENATION has no inputs");
      l.arity([op.inputs.length], 1);
      const o = l.options();
      // ConcatenationOptions: axis 0, fused_activation_function 1.
      if (o.i8(1) !== 0) l.reject("UNSUPPORTED_OP", "a fused activation on CONCATENATION is not supported (TFLM refuses it)");
      const inputs = op.inputs.map((i, k) => int8(l, i, `input ${k}`));
      const output = int8(l, op.outputs[0], "output");
      const axis = normalizeAxis(l, o.i32(0), output.shape.length);
      for (const v of inputs) {
        if (v.type === TensorType.INT8 && v.quant.scale !== output.quant.scale || v.quant.zeroPoint !== output.quant.zeroPoint) l.reject("UNSUPPORTED_TYPE", "int8 CONCATENATION needs every input quantized as its output (TFLM refuses rescaling)");
        if (v.shape.length !== output.shape.length || v.shape.some((d, i) => i !== axis && d !== output.shape[i])) l.reject("BAD_MODEL", `input shape ${JSON.stringify(v.shape)} does not fit output ${JSON.stringify(output.shape)}`);
      }
      const total = inputs.reduce((s, v) => s + v.shape[axis], 0);
      if (total !== output.shape[axis]) l.reject("BAD_MODEL", `inputs add up to ${total} along axis ${axis}, output has ${output.shape[axis]}`);
      const outStrides = stridesOf(output.shape);
      let at = 0;
      const segments = inputs.map((v, k) => {
        const s = place(k, v.shape, at * outStrides[axis], outStrides);
        at += v.shape[axis];
        return s;
      });
      return pushCopy(l, opcode, output, inputs, segments, null);
    }
    case "PACK": {
      const o = l.options();
      // PackOptions: values_count 0, axis 1.
      const count = o.i32(0);
      l.arity([count], 1);
      const inputs = op.inputs.map((i, k) => int8(l, i, `input ${k}`));
      const output = int8(l, op.outputs[0], "output");
      const axis = normalizeAxis(l, o.i32(1), output.shape.length);
      const expected = [...inputs[0].shape.slice(0, axis), count, ...inputs[0].shape.slice(axis)];
      if (!sameShape(expected, output.shape) || inputs.some((v) => !sameShape(v.shape, inputs[0].shape))) l.reject("BAD_MODEL", `packing ${count} of ${JSON.stringify(inputs[0].shape)} does not give ${JSON.stringify(output.shape)}`);
      const outStrides = stridesOf(output.shape);
      const inner = outStrides.filter((_, d) => d !== axis);
      return pushCopy(l, opcode, output, inputs, inputs.map((v, k) => place(k, v.shape, k * outStrides[axis], inner)), null);
    }
    case "UNPACK": {
      const o = l.options();
      // UnpackOptions: num 0, axis 1.
      const input = int8(l, op.inputs[0], "input");
      const axis = normalizeAxis(l, o.i32(1), input.shape.length);
      const count = input.shape[axis];
      l.arity([1], count);
      const shape = input.shape.filter((_, d) => d !== axis);
      op.outputs.forEach((t, k) => {
        const output = int8(l, t, `output ${k}`);
        if (!sameShape(output.shape, shape)) l.reject("BAD_MODEL", `output ${k} has shape ${JSON.stringify(output.shape)}, expected ${JSON.stringify(shape)}`);
        const begin = input.shape.map((_, d) => (d === axis ? k : 0));
        const seg = box(0, input.shape, begin, input.shape.map(() => 1), input.shape.map((d, i) => (i === axis ? 1 : d)));
        pushCopy(l, opcode, output, [input], [{ ...seg, outStrides: stridesOf(input.shape.map((d, i) => (i === axis ? 1 : d))) }], null, t);
      });
      return;
    }
    case "SPLIT":
    case "SPLIT_V": {
      const split = builtin === "SPLIT";
      l.arity(split ? [2] : [3], op.outputs.length);
      const input = int8(l, op.inputs[split ? 1 : 0], "input");
      const axisValues = l.int32s(op.inputs[split ? 0 : 2], "axis");
      if (axisValues.length !== 1) l.reject("BAD_MODEL", "axis must hold one value");
      const axis = normalizeAxis(l, axisValues[0], input.shape.length);
      const n = op.outputs.length;
      let sizes: number[];
      if (split) {
        if (input.shape[axis] % n !== 0) l.reject("BAD_MODEL", `axis size ${input.shape[axis]} does not split into ${n}`);
        sizes = new Array(n).fill(input.shape[axis] / n);
      } else {
        sizes = l.int32s(op.inputs[1], "size_splits");
        if (sizes.length !== n) l.reject("BAD_MODEL", `size_splits holds ${sizes.length} sizes for ${n} outputs`);
        const unknown = sizes.filter((s) => s === -1).length;
        if (unknown > 1 || sizes.some((s) => s < -1)) l.reject("BAD_MODEL", `size_splits ${JSON.stringify(sizes)} is invalid`);
        const known = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
        sizes = sizes.map((s) => (s === -1 ? input.shape[axis] - known : s));
        if (sizes.reduce((a, b) => a + b, 0) !== input.shape[axis]) l.reject("BAD_MODEL", `size_splits ${JSON.stringify(sizes)} do not add up to ${input.shape[axis]}`);
      }
      let at = 0;
      op.outputs.forEach((t, k) => {
        const output = int8(l, t, `output ${k}`);
        const shape = input.shape.map((d, i) => (i === axis ? sizes[k] : d));
        if (!sameShape(output.shape, shape)) l.reject("BAD_MODEL", `output ${k} has shape ${JSON.stringify(output.shape)}, expected ${JSON.stringify(shape)}`);
        if (sizes[k] > 0) pushCopy(l, opcode, output, [input], [box(0, input.shape, input.shape.map((_, d) => (d === axis ? at : 0)), input.shape.map(() => 1), shape)], null, t);
        at += sizes[k];
      });
      return;
    }
    case "SLICE": {
      l.arity([3], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      const rank = input.shape.length;
      if (rank > 5) l.reject("UNSUPPORTED_OP", `SLICE of rank ${rank} is not supported (TFLM slices up to 5 dimensions)`);
      const begin = l.int32s(op.inputs[1], "begin");
      const size = l.int32s(op.inputs[2], "size");
      if (begin.length !== rank || size.length !== rank) l.reject("BAD_MODEL", "begin and size must hold one value per dimension");
      const shape = size.map((s, d) => (s === -1 ? input.shape[d] - begin[d] : s));
      if (begin.some((b, d) => b < 0 || shape[d] < 0 || b + shape[d] > input.shape[d])) l.reject("BAD_MODEL", `slice begin ${JSON.stringify(begin)} size ${JSON.stringify(size)} leaves the input ${JSON.stringify(input.shape)}`);
      if (!sameShape(shape, output.shape)) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the slice ${JSON.stringify(shape)}`);
      return pushCopy(l, opcode, output, [input], [box(0, input.shape, begin, begin.map(() => 1), shape)], null);
    }
    case "STRIDED_SLICE": {
      l.arity([4], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      const rank = input.shape.length;
      if (rank > 5) l.reject("UNSUPPORTED_OP", `STRIDED_SLICE of rank ${rank} is not supported`);
      const o = l.options();
      // StridedSliceOptions: begin_mask 0, end_mask 1, ellipsis_mask 2, new_axis_mask 3, shrink_axis_mask 4, offset 5.
      const beginMask = o.i32(0), endMask = o.i32(1), shrinkMask = o.i32(4), offset = o.u8(5) !== 0;
      if (o.i32(2) !== 0 || o.i32(3) !== 0) l.reject("UNSUPPORTED_OP", "ellipsis_mask and new_axis_mask are not supported (TFLM ignores them)");
      const begins = l.int32s(op.inputs[1], "begin"), ends = l.int32s(op.inputs[2], "end"), steps = l.int32s(op.inputs[3], "strides");
      if (begins.length !== rank || ends.length !== rank || steps.length !== rank) l.reject("BAD_MODEL", "begin, end and strides must hold one value per dimension");
      const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
      const start: number[] = [], shape: number[] = [];
      for (let d = 0; d < rank; d++) {
        const size = input.shape[d], step = steps[d];
        if (step === 0) l.reject("BAD_MODEL", "a stride of 0 is invalid");
        let b = begins[d];
        if (b < 0) b += size;
        b = step > 0 ? clamp(b, 0, size) : clamp(b, -1, size - 1);
        if (beginMask & (1 << d)) b = step > 0 ? 0 : size - 1;
        let e: number;
        if (shrinkMask & (1 << d)) {
          e = b >= size ? b : b + 1;
        } else {
          e = ends[d] + (offset ? b : 0);
          if (e < 0) e += size;
          e = step > 0 ? clamp(e, 0, size) : clamp(e, -1, size - 1);
          if (endMask & (1 << d)) e = step > 0 ? size : -1;
        }
        start.push(b);
        shape.push(Math.max(0, Math.ceil((e - b) / step)));
      }
      const kept = shape.filter((_, d) => !(shrinkMask & (1 << d)));
      if (!sameShape(kept, output.shape)) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the slice ${JSON.stringify(kept)}`);
      if (shape.some((s) => s === 0)) l.reject("UNSUPPORTED_OP", "an empty slice is not supported");
      return pushCopy(l, opcode, output, [input], [box(0, input.shape, start, steps, shape)], null);
    }
    case "TRANSPOSE": {
      l.arity([2], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      const perm = l.int32s(op.inputs[1], "perm");
      const rank = input.shape.length;
      if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) l.reject("BAD_MODEL", `perm ${JSON.stringify(perm)} is not a permutation of ${rank} axes`);
      const shape = perm.map((p) => input.shape[p]);
      if (!sameShape(shape, output.shape)) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the permutation`);
      const inStrides = stridesOf(input.shape);
      return pushCopy(l, opcode, output, [input], [{ source: 0, inBase: 0, outBase: 0, shape, inStrides: perm.map((p) => inStrides[p]), outStrides: stridesOf(shape) }], null);
    }
    case "DEPTH_TO_SPACE":
    case "SPACE_TO_DEPTH": {
      l.arity([1], 1);
      const input = int8(l, op.inputs[0], "input");
      const output = int8(l, op.outputs[0], "output");
      if (input.type === TensorType.INT16) l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} is not supported (nor by TFLM)`);
      const b = l.options().i32(0);
      if (input.shape.length !== 4 || b < 1) l.reject("BAD_MODEL", `needs a 4-D input and a block size of at least 1 (got ${JSON.stringify(input.shape)}, ${b})`);
      const [n, h, w, c] = input.shape;
      let seg: Segment;
      if (builtin === "DEPTH_TO_SPACE") {
        const c2 = c / (b * b);
        if (!Number.isInteger(c2) || !sameShape(output.shape, [n, h * b, w * b, c2])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match block ${b}`);
        // Walk the output as (n, h, i, w, j, c): input depth (i*b + j)*c2 + c.
        seg = { source: 0, inBase: 0, outBase: 0, shape: [n, h, b, w, b, c2], inStrides: [h * w * c, w * c, b * c2, c, c2, 1], outStrides: [h * b * w * b * c2, b * w * b * c2, w * b * c2, b * c2, c2, 1] };
      } else {
        if (h % b !== 0 || w % b !== 0 || !sameShape(output.shape, [n, h / b, w / b, c * b * b])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match block ${b}`);
        const h2 = h / b, w2 = w / b;
        // Walk the output as (n, h, w, i, j, c): input row h*b + i, column w*b + j.
        seg = { source: 0, inBase: 0, outBase: 0, shape: [n, h2, w2, b, b, c], inStrides: [h * w * c, b * w * c, b * c, w * c, c, 1], outStrides: [h2 * w2 * c * b * b, w2 * c * b * b, c * b * b, b * c, c, 1] };
      }
      return pushCopy(l, opcode, output, [input], [seg], null);
    }
    case "GATHER": {
      l.arity([2], 1);
      const input = int8(l, op.inputs[0], "params");
      const output = int8(l, op.outputs[0], "output");
      if (input.type === TensorType.INT16) l.reject("UNSUPPORTED_TYPE", "int16 GATHER is not supported (nor by TFLM)");
      const o = l.options();
      // GatherOptions: axis 0, batch_dims 1.
      if (o.i32(1) !== 0) l.reject("UNSUPPORTED_OP", "GATHER with batch_dims is not supported");
      const axis = normalizeAxis(l, o.i32(0), input.shape.length);
      const indices = l.int32s(op.inputs[1], "indices");
      const indexShape = l.tensor(op.inputs[1], "indices").shape;
      if (indices.some((i) => i < 0 || i >= input.shape[axis])) l.reject("BAD_MODEL", `an index in ${JSON.stringify(indices)} is outside axis size ${input.shape[axis]}`);
      const shape = [...input.shape.slice(0, axis), ...indexShape, ...input.shape.slice(axis + 1)];
      if (!sameShape(shape, output.shape)) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the gather ${JSON.stringify(shape)}`);
      // One segment per index: the slab at that index, into its place in the output.
      const slab = input.shape.map((d, i) => (i === axis ? 1 : d));
      const outShape = [...input.shape.slice(0, axis), indices.length, ...input.shape.slice(axis + 1)];
      const outStrides = stridesOf(outShape);
      const segments = indices.map((index, k) => ({
        ...box(0, input.shape, input.shape.map((_, d) => (d === axis ? index : 0)), input.shape.map(() => 1), slab),
        outBase: k * outStrides[axis],
        outStrides,
      }));
      return pushCopy(l, opcode, output, [input], segments, null);
    }
  }
  l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the copy op`);
}
