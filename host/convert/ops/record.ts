// The host half of the shared record of registered ops (see
// assembly/ops/record.ts): tensors (output first), constant blocks, then the
// op's own arguments.
import type { Lowering } from "../lower";
import type { Value } from "../graph";

export interface RecordSpec {
  output: Value;
  inputs: Value[];
  args: number[];
  blocks?: Uint8Array[]; // constant data, each placed 4-aligned in the weights
  // Per input: bytes by which the output may start before that input when it
  // dies here (see LoweredOp.overlap); null or absent: no overlap.
  overlap?: (number | null)[];
  macs?: number;
  tfliteOutput?: number; // when one TFLite op becomes several records
  name?: string; // for a record no TFLite op stands behind (the variables' fills)
}

export function pushRecord(l: Lowering, opcode: number, spec: RecordSpec): void {
  const blocks = spec.blocks ?? [];
  const tensors = [spec.output, ...spec.inputs];
  l.push({
    opcode,
    inputs: spec.inputs.map((v) => v.id),
    output: spec.output.id,
    overlap: spec.inputs.map((_, k) => spec.overlap?.[k] ?? null),
    weights: blocks,
    macs: spec.macs ?? 0,
    encode: (ctx) => [
      tensors.length, ...tensors.flatMap((v) => [ctx.arena(v.id), v.bytes]),
      blocks.length, ...blocks.flatMap((b, k) => [ctx.weights(k), b.length]),
      ...spec.args,
    ],
  }, spec.tfliteOutput, spec.name);
}

// Row-major strides of a shape, in elements.
export function stridesOf(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

// A negative axis counts from the end, as TFLite allows.
export function normalizeAxis(l: Lowering, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) l.reject("BAD_MODEL", `axis ${axis} is out of range for rank ${rank}`);
  return a;
}
