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

function alignDown(x: number): number {
  return Math.floor(x / ALIGN) * ALIGN;
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

// Overlap allowances keyed "input>output" for inputs that die at their op.
function overlapAllowances(graph: Graph, life: { start: number; end: number }[]): Map<string, number> {
  const allowance = new Map<string, number>();
  graph.ops.forEach((op, i) => {
    op.inputs.forEach((v, k) => {
      const d = op.overlap[k];
      if (d !== null && life[v].end === i) allowance.set(`${v}>${op.output}`, d);
    });
  });
  return allowance;
}

// Places values in the given order. Offsets may go negative while placing (a
// chain of in-place ops drifts downward); the result is shifted to start at 0.
function place(graph: Graph, order: number[], life: { start: number; end: number }[], allowance: Map<string, number>): Plan {
  const offsets = graph.values.map(() => -1);
  const placed: number[] = [];
  let low = 0;
  let high = 0;
  for (const id of order) {
    const t = graph.values[id];
    const forbidden: Interval[] = [];
    for (const uId of placed) {
      const u = graph.values[uId];
      if (life[id].start > life[uId].end || life[uId].start > life[id].end) continue;
      const base = offsets[uId];
      const asOutput = allowance.get(`${uId}>${id}`); // t is written over dying u
      const asInput = allowance.get(`${id}>${uId}`); // u is written over dying t
      if (asOutput !== undefined) forbidden.push({ lo: base - Math.min(t.bytes, asOutput), hi: base + u.bytes });
      else if (asInput !== undefined) forbidden.push({ lo: base - t.bytes, hi: base + Math.min(u.bytes, asInput) });
      else forbidden.push({ lo: base - t.bytes, hi: base + u.bytes });
    }
    const candidates = [0];
    for (const f of forbidden) candidates.push(alignUp(f.hi), alignDown(f.lo));
    let best = NaN;
    let bestExtent = Infinity;
    for (const c of candidates) {
      if (!forbidden.every((f) => c <= f.lo || c >= f.hi)) continue;
      const extent = placed.length === 0 ? t.bytes : Math.max(high, c + t.bytes) - Math.min(low, c);
      if (extent < bestExtent || (extent === bestExtent && c < best)) {
        best = c;
        bestExtent = extent;
      }
    }
    offsets[id] = best;
    low = placed.length === 0 ? best : Math.min(low, best);
    high = placed.length === 0 ? best + t.bytes : Math.max(high, best + t.bytes);
    placed.push(id);
  }
  for (const id of placed) offsets[id] -= low;
  return { offsets, arenaBytes: alignUp(Math.max(high - low, 1)), lifetimes: life };
}

const SEARCH_STEPS = 3000;

// Tries a few placement orders, then improves the best by swapping pairs
// (a seeded, deterministic hill climb), and keeps the smallest arena.
export function planArena(graph: Graph): Plan {
  const life = lifetimes(graph);
  const allowance = overlapAllowances(graph, life);
  const live = graph.values.filter((v) => life[v.id].start !== Infinity).map((v) => v.id);
  const bySize = (a: number, b: number) => graph.values[b].bytes - graph.values[a].bytes || life[a].start - life[b].start;
  const orders = [
    live.slice().sort(bySize), // TFLM's greedy order
    live.slice().sort((a, b) => life[a].start - life[b].start || bySize(a, b)), // program order
    live.slice().sort((a, b) => life[b].start - life[a].start || bySize(a, b)), // reverse program order
  ];
  let bestOrder = orders[0];
  let best = place(graph, bestOrder, life, allowance);
  for (const order of orders.slice(1)) {
    const plan = place(graph, order, life, allowance);
    if (plan.arenaBytes < best.arenaBytes) [best, bestOrder] = [plan, order];
  }
  let seed = 0x9e3779b9;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < SEARCH_STEPS && live.length > 2; step++) {
    const order = bestOrder.slice();
    const i = random(order.length), j = random(order.length);
    [order[i], order[j]] = [order[j], order[i]];
    const plan = place(graph, order, life, allowance);
    if (plan.arenaBytes <= best.arenaBytes) [best, bestOrder] = [plan, order];
  }
  return best;
}
