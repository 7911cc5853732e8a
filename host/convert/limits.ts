// The converter's side of the module's limits (assembly/limits.ts): before
// anything is written as an i32 graph word or a u32 size, every size and
// offset is checked against what the format and the module hold. The sums
// are JavaScript numbers, exact integers up to 2^53, so they cannot wrap as
// a 32-bit word would; Number.isSafeInteger guards against anything beyond.
import * as F from "../../assembly/format";
import * as L from "../../assembly/limits";
import { fail } from "../errors";
import { Graph, LoweredOp } from "./graph";
import { Plan } from "./plan";

function fits(x: number, max: number): boolean {
  return Number.isSafeInteger(x) && x >= 0 && x <= max;
}

function where(op: LoweredOp): string {
  return `operator ${op.tfliteIndex} (${op.name})`;
}

// Every live tensor lies inside an arena the module accepts.
export function checkArena(graph: Graph, plan: Plan): void {
  for (const v of graph.values) {
    if (plan.lifetimes[v.id].start === Infinity) continue; // no op touches it
    if (v.shape.length > L.MAX_RANK) fail("TOO_LARGE", `tensor "${v.name}" has ${v.shape.length} dimensions; the format describes at most ${L.MAX_RANK}`);
    if (!fits(v.bytes, L.MAX_ARENA_BYTES)) fail("TOO_LARGE", `tensor "${v.name}" holds ${v.bytes} bytes; the module's arena holds at most ${L.MAX_ARENA_BYTES}`);
    const end = plan.offsets[v.id] + v.bytes;
    if (!fits(plan.offsets[v.id], L.MAX_ARENA_BYTES) || !fits(end, L.MAX_ARENA_BYTES)) {
      fail("TOO_LARGE", `the arena would need ${plan.arenaBytes} bytes, more than the ${L.MAX_ARENA_BYTES} the module holds: tensor "${v.name}" (${v.bytes} bytes) would end at byte ${end}`);
    }
  }
  if (!fits(plan.arenaBytes, L.MAX_ARENA_BYTES) || plan.arenaBytes < 1) fail("TOO_LARGE", `the arena needs ${plan.arenaBytes} bytes; the module holds at most ${L.MAX_ARENA_BYTES}`);
}

// The weights section is addressed by i32 graph words.
export function checkWeights(graph: Graph, op: LoweredOp, blockEnd: number): void {
  if (!fits(blockEnd, L.MAX_WORD)) fail("TOO_LARGE", `${where(op)}, output "${graph.values[op.output].name}": its weights would end at byte ${blockEnd} of the weights section, past the ${L.MAX_WORD} bytes the format addresses`);
}

type Field = [word: number, what: string, tensor: "input" | "output" | "op"];

const CONV: Field[] = [
  [F.CONV_IN_H, "height", "input"], [F.CONV_IN_W, "width", "input"], [F.CONV_IN_C, "channels", "input"],
  [F.CONV_OUT_H, "height", "output"], [F.CONV_OUT_W, "width", "output"], [F.CONV_OUT_C, "channels", "output"],
];
const CONV_WINDOW: Field[] = [
  [F.CONV_K_H, "kernel height", "op"], [F.CONV_K_W, "kernel width", "op"], [F.CONV_STRIDE_H, "stride height", "op"], [F.CONV_STRIDE_W, "stride width", "op"],
  [F.CONV_DIL_H, "dilation height", "op"], [F.CONV_DIL_W, "dilation width", "op"], [F.CONV_PAD_TOP, "top padding", "op"], [F.CONV_PAD_LEFT, "left padding", "op"],
];
const POOL: Field[] = [
  [F.POOL_IN_H, "height", "input"], [F.POOL_IN_W, "width", "input"], [F.POOL_C, "channels", "input"],
  [F.POOL_OUT_H, "height", "output"], [F.POOL_OUT_W, "width", "output"],
];
const POOL_WINDOW: Field[] = [
  [F.POOL_K_H, "kernel height", "op"], [F.POOL_K_W, "kernel width", "op"], [F.POOL_STRIDE_H, "stride height", "op"], [F.POOL_STRIDE_W, "stride width", "op"],
  [F.POOL_PAD_TOP, "top padding", "op"], [F.POOL_PAD_LEFT, "left padding", "op"],
];
// Per built-in opcode: the parameter words the module bounds by MAX_DIM and
// by MAX_WINDOW. (Registered ops bound their own arguments; their tensors
// are checked with the arena above.)
const DIMS: Record<number, Field[]> = {
  [F.OP_CONV]: CONV, [F.OP_DEPTHWISE]: CONV, [F.OP_AVG_POOL]: POOL, [F.OP_MAX_POOL]: POOL,
  [F.OP_DENSE]: [[F.DENSE_ROWS, "rows", "input"], [F.DENSE_DEPTH, "depth", "input"], [F.DENSE_OUT_C, "channels", "output"]],
  [F.OP_SOFTMAX]: [[F.SOFTMAX_ROWS, "rows", "input"], [F.SOFTMAX_DEPTH, "depth", "input"]],
};
const WINDOWS: Record<number, Field[]> = { [F.OP_CONV]: CONV_WINDOW, [F.OP_DEPTHWISE]: CONV_WINDOW, [F.OP_AVG_POOL]: POOL_WINDOW, [F.OP_MAX_POOL]: POOL_WINDOW };

// One op's parameter words: each an i32, dimensions and windows within the
// module's bounds.
export function checkParams(graph: Graph, op: LoweredOp, params: number[]): void {
  if (op.inputs.length > L.MAX_OP_INPUTS) fail("TOO_LARGE", `${where(op)} has ${op.inputs.length} inputs; the format describes at most ${L.MAX_OP_INPUTS}`);
  params.forEach((w, k) => {
    if (!Number.isInteger(w) || w < -L.MAX_WORD - 1 || w > L.MAX_WORD) fail("TOO_LARGE", `${where(op)}: parameter word ${k} is ${w}, which does not fit the format's 32-bit words`);
  });
  const name = (f: Field) => (f[2] === "op" ? where(op) : `${where(op)}, ${f[2]} tensor "${graph.values[f[2] === "input" ? op.inputs[0] : op.output].name}"`);
  for (const f of DIMS[op.opcode] ?? []) {
    if (params[f[0]] > L.MAX_DIM) fail("TOO_LARGE", `${name(f)}: ${f[1]} ${params[f[0]]} exceeds ${L.MAX_DIM}, the most the module runs`);
  }
  for (const f of WINDOWS[op.opcode] ?? []) {
    if (params[f[0]] > L.MAX_WINDOW) fail("TOO_LARGE", `${name(f)}: ${f[1]} ${params[f[0]]} exceeds ${L.MAX_WINDOW}, the most the module runs`);
  }
}

export function checkFile(bytes: number): void {
  if (!fits(bytes, L.MAX_FILE_BYTES)) fail("TOO_LARGE", `the .wisp file would hold ${bytes} bytes; its header holds sizes up to ${L.MAX_FILE_BYTES}`);
}
