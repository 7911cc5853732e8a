// Lowers MEAN, SUM, REDUCE_MAX and REDUCE_MIN (int8) to REDUCE records
// (assembly/ops/reduce.ts). Like TFLM: MEAN and SUM requantize the int32 sum
// with input scale / output scale (MEAN folds 1/count in as
// QuantizedMeanOrSum does at run time, quantization.ts meanParams); MAX and
// MIN need the output quantized as the input. MEAN over height and width of
// a batch-1 NHWC tensor keeps the legacy MEAN kernel (kernels/mean.ts).
import type { Lowering } from "../lower";
import { meanParams, quantizeMultiplier } from "../quantization";
import { normalizeAxis, pushRecord, stridesOf } from "./record";
import { int16 } from "./conv16";
import { TensorType } from "../tflite";

const DIMS = 4;
const KIND_SUM = 0, KIND_MAX = 1, KIND_MIN = 2, KIND_MEAN_HW = 3;

interface Walk { sizes: number[]; strides: number[] }

// Drops size-1 dimensions and merges neighbours that are contiguous, then
// pads to DIMS with leading size-1 dimensions.
export function compact(l: Lowering, sizes: number[], strides: number[], what: string): Walk {
  const s: number[] = [], t: number[] = [];
  sizes.forEach((n, i) => {
    if (n === 1) return;
    const last = s.length - 1;
    if (last >= 0 && t[last] === n * strides[i]) {
      s[last] *= n;
      t[last] = strides[i];
    } else {
      s.push(n);
      t.push(strides[i]);
    }
  });
  if (s.length > DIMS) l.reject("UNSUPPORTED_OP", `the ${what} dimensions do not fit in ${DIMS} strided walks`);
  while (s.length < DIMS) {
    s.unshift(1);
    t.unshift(0);
  }
  return { sizes: s, strides: t };
}

// TFLM's ResolveAxis: negative axes count from the end, duplicates are dropped.
export function resolveAxes(l: Lowering, axes: number[], rank: number): number[] {
  const out: number[] = [];
  for (const a of axes) {
    const r = normalizeAxis(l, a, rank);
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([2], 1);
  // int16 MEAN and SUM: the int8 sums on int16 elements (kind 4).
  const wide = l.tensor(op.inputs[0], "input").type === TensorType.INT16;
  if (wide && builtin !== "MEAN" && builtin !== "SUM") l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} is not supported`);
  const input = wide ? int16(l, op.inputs[0], "input") : l.activation(op.inputs[0], "input");
  const output = wide ? int16(l, op.outputs[0], "output") : l.activation(op.outputs[0], "output");
  const rank = input.shape.length;
  const axes = resolveAxes(l, l.int32s(op.inputs[1], "axis"), rank);
  const strides = stridesOf(input.shape);
  const keptDims = input.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const count = axes.reduce((p, d) => p * input.shape[d], 1);
  const outElements = keptDims.reduce((p, d) => p * input.shape[d], 1);
  if (output.bytes !== outElements << (wide ? 1 : 0)) l.reject("BAD_MODEL", `output has ${output.bytes >> (wide ? 1 : 0)} values, reducing ${JSON.stringify(input.shape)} over ${JSON.stringify(axes)} gives ${outElements}`);
  const iq = input.quant, oq = output.quant;
  let kind: number, multiplier = 0, shift = 0;
  if (builtin === "REDUCE_MAX" || builtin === "REDUCE_MIN") {
    if (iq.scale !== oq.scale || iq.zeroPoint !== oq.zeroPoint) l.reject("UNSUPPORTED_TYPE", `int8 ${builtin} needs the output quantized as its input (TFLM refuses rescaling)`);
    kind = builtin === "REDUCE_MAX" ? KIND_MAX : KIND_MIN;
  } else {
    kind = KIND_SUM;
    ({ multiplier, shift } = builtin === "MEAN" ? meanParams(iq.scale, oq.scale, count) : quantizeMultiplier(iq.scale / oq.scale));
    if (shift < -31 || shift > 30) l.reject("UNSUPPORTED_TYPE", `input scale / output scale ${iq.scale / oq.scale} is out of range`);
  }
  let kept: Walk, reduced: Walk;
  const sorted = [...axes].sort((a, b) => a - b);
  if (wide) kind = 4;
  const hw = !wide && builtin === "MEAN" && rank === 4 && input.shape[0] === 1 && sorted.length === 2 && sorted[0] === 1 && sorted[1] === 2;
  if (hw) {
    const [, h, w, c] = input.shape;
    kind = KIND_MEAN_HW;
    kept = { sizes: [1, 1, 1, c], strides: [0, 0, 0, 1] };
    reduced = { sizes: [1, 1, h, w], strides: [0, 0, w * c, c] };
  } else {
    kept = compact(l, keptDims.map((d) => input.shape[d]), keptDims.map((d) => strides[d]), "kept");
    reduced = compact(l, sorted.map((d) => input.shape[d]), sorted.map((d) => strides[d]), "reduced");
  }
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [kind, iq.zeroPoint, oq.zeroPoint, multiplier, shift, count, ...kept.sizes, ...kept.strides, ...reduced.sizes, ...reduced.strides],
    // The legacy MEAN kernel writes channel c after its last read of channel c.
    overlap: [hw ? 0 : null],
  });
}
