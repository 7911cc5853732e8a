// Lowers int8 PRELU to a PRELU record (assembly/ops/prelu.ts): alpha, a
// constant int8 tensor, goes in a constant block; the multipliers are those
// of TFLM's CalculatePreluParams (double arithmetic); the broadcast follows
// BroadcastBinaryOpSimple (numpy rules, shapes aligned at the last dimension).
import type { Lowering } from "../lower";
import { TensorType } from "../tflite";
import { quantizeMultiplier } from "../quantization";
import { pushRecord, stridesOf } from "./record";

const RANK = 6;

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin !== "PRELU") l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the prelu op`);
  l.arity([2], 1);
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output");
  const alphaTensor = l.tensor(l.op.inputs[1], "alpha");
  if (!alphaTensor.data) l.reject("UNSUPPORTED_OP", "a non-constant alpha is not supported");
  const alphaElements = alphaTensor.shape.reduce((a, b) => a * b, 1);
  const alpha = l.constant(l.op.inputs[1], "alpha", TensorType.INT8, alphaElements);
  const alphaQ = l.quant(alpha, "alpha");
  const rank = Math.max(input.shape.length, alpha.shape.length, output.shape.length);
  if (rank > RANK) l.reject("UNSUPPORTED_OP", `tensors of rank ${rank} are not supported (at most ${RANK})`);
  const extend = (s: number[]) => [...new Array(RANK - s.length).fill(1), ...s];
  const inShape = extend(input.shape), alphaShape = extend(alpha.shape), outShape = extend(output.shape);
  for (let d = 0; d < RANK; d++) {
    const a = inShape[d], b = alphaShape[d];
    if (a !== b && a !== 1 && b !== 1) l.reject("BAD_MODEL", `input ${JSON.stringify(input.shape)} and alpha ${JSON.stringify(alpha.shape)} do not broadcast`);
    if (outShape[d] !== Math.max(a, b)) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match the broadcast of input ${JSON.stringify(input.shape)} and alpha ${JSON.stringify(alpha.shape)}`);
  }
  const broadcastStrides = (shape: number[]) => stridesOf(shape).map((s, d) => (shape[d] === 1 ? 0 : s));
  const inQ = input.quant, outQ = output.quant;
  const m1 = quantizeMultiplier(inQ.scale / outQ.scale);
  const m2 = quantizeMultiplier((inQ.scale * alphaQ.scale) / outQ.scale);
  for (const m of [m1, m2]) if (m.shift > 30) l.reject("UNSUPPORTED_TYPE", "the scales give a multiplier too large for int32 arithmetic");
  const inPlace = inShape.every((d, i) => d === outShape[i]);
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    blocks: [alpha.data!.slice()],
    args: [inQ.zeroPoint, alphaQ.zeroPoint, outQ.zeroPoint, m1.multiplier, m1.shift, m2.multiplier, m2.shift, ...outShape, ...broadcastStrides(inShape), ...broadcastStrides(alphaShape)],
    overlap: [inPlace ? 0 : null],
  });
}
