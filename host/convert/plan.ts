// Offline arena planning. Each value lives from the op that writes it to the
// last op that reads it. Values are placed largest first at the lowest offset
// that conflicts with no value alive at the same time; an op's output may
// overlap an input that dies at that op by as much as the kernel's read/write
// order allows (Graph.ops[].overlap), which is how depthwise, pooling, ADD
// and the rest run in place.
import { fail } from "../errors";
import { Graph } from "./graph";

const ALIGN = 4;

export interface Plan {
  offsets: number[]; // per value id; -1 for values no op touches
  arenaBytes: number;
  lifetimes: { start: number; end: number }[];
}

interface Interval {
  lo: number; // forbidden offsets are lo < x < hi
  hi: number;
}

function alignUp(x: number): number {
  return Math.ceil(x / ALIGN) * ALIGN;
}

export function lifetimes(graph: Graph): { start: number; end: number }[] {
  const n = graph.ops.length;
  const life = graph.values.map(() => ({ start: Infinity, end: -Infinity }));
  life[graph.input] = { start: -1, end: -1 };
  graph.ops.forEach((op, i) => {
    for (const v of op.inputs) {
      if (life[v].start === Infinity) fail("BAD_MODEL", `operator ${op.tfliteIndex} (${op.name}) reads tensor "${graph.values[v].name}" before any op writes it`);
      life[v].end = Math.max(life[v].end, i);
    }
    const out = life[op.output];
    if (out.start !== Infinity) fail("BAD_MODEL", `operator ${op.tfliteIndex} (${op.name}) writes tensor "${graph.values[op.output].name}", which is already written`);
    out.start = i;
    out.end = Math.max(out.end, i);
  });
  if (life[graph.output].start === Infinity) fail("BAD_MODEL", "no op writes the model output");
  life[graph.output].end = n;
  return life;
}

export function planArena(graph: Graph): Plan {
  const life = lifetimes(graph);
  const live = graph.values.filter((v) => life[v.id].start !== Infinity);
  const offsets = graph.values.map(() => -1);
  // Overlap allowances keyed "input>output".
  const allowance = new Map<string, number>();
  graph.ops.forEach((op, i) => {
    op.inputs.forEach((v, k) => {
      const d = op.overlap[k];
      if (d !== null && life[v].end === i && v !== graph.output) allowance.set(`${v}>${op.output}`, d);
    });
  });

  const order = live.slice().sort((a, b) => b.bytes - a.bytes || life[a.id].start - life[b.id].start);
  const placed: number[] = [];
  let arenaBytes = 0;
  for (const t of order) {
    const forbidden: Interval[] = [];
    for (const uId of placed) {
      const u = graph.values[uId];
      if (life[t.id].start > life[u.id].end || life[u.id].start > life[t.id].end) continue;
      const base = offsets[uId];
      const asOutput = allowance.get(`${uId}>${t.id}`); // t is written over dying u
      const asInput = allowance.get(`${t.id}>${uId}`); // u is written over dying t
      if (asOutput !== undefined) forbidden.push({ lo: base - Math.min(t.bytes, asOutput), hi: base + u.bytes });
      else if (asInput !== undefined) forbidden.push({ lo: base - t.bytes, hi: base + Math.min(u.bytes, asInput) });
      else forbidden.push({ lo: base - t.bytes, hi: base + u.bytes });
    }
    const candidates = [0, ...forbidden.map((f) => alignUp(Math.max(0, f.hi)))].sort((a, b) => a - b);
    const offset = candidates.find((c) => forbidden.every((f) => c <= f.lo || c >= f.hi))!;
    offsets[t.id] = offset;
    placed.push(t.id);
    arenaBytes = Math.max(arenaBytes, offset + t.bytes);
  }
  return { offsets, arenaBytes: alignUp(Math.max(arenaBytes, 1)), lifetimes: life };
}
