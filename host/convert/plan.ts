// Offline arena planning. Each value lives from the op that writes it to the
// last op that reads it. Values are placed largest first at the lowest offset
// that conflicts with no value alive at the same time; an op's output may
// overlap an input that dies at that op by as much as the kernel's read/write
// order allows (Graph.ops[].overlap), which is how depthwise, pooling, ADD
// and the rest run in place.
//
// Planning time is bounded: placing a value looks only at the values whose
// lifetimes overlap its own, and the search that improves the greedy result
// runs under a work budget that grows with the op count.
import { fail } from "../errors";
import { Graph } from "./graph";

const ALIGN = 4;

// The search's full length; models small enough for the budget get exactly
// this many steps, so their arenas do not depend on the budget.
export const SEARCH_STEPS = 3000;
// Work units (one per value placed plus one per overlapping neighbour looked
// at) the search may spend: enough for SEARCH_STEPS on every model of a few
// hundred values, then a little more per op.
export const WORK_FLOOR = 1 << 21;
export const WORK_PER_OP = 1024;
// Pairs of values alive at once that the planner accepts. Real models have
// hundreds; this many means thousands of tensors live together, and the
// overlap lists would cost more memory than the model is worth.
export const MAX_OVERLAPS = 1 << 20;

export interface Lifetime {
  start: number;
  end: number;
}

export interface PlanWork {
  units: number; // work units spent, every placement included
  budget: number; // WORK_FLOOR + WORK_PER_OP * ops
  placements: number; // calls to place(): greedy orders and search steps
  steps: number; // search steps run, at most SEARCH_STEPS
}

export interface Plan {
  offsets: number[]; // per value id; -1 for values no op touches
  arenaBytes: number;
  lifetimes: Lifetime[];
  work?: PlanWork;
}

function alignUp(x: number): number {
  return Math.ceil(x / ALIGN) * ALIGN;
}

function alignDown(x: number): number {
  return Math.floor(x / ALIGN) * ALIGN;
}

export function lifetimes(graph: Graph): Lifetime[] {
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

// Overlap allowances for inputs that die at their op, keyed
// input * values + output.
function overlapAllowances(graph: Graph, life: Lifetime[]): Map<number, number> {
  const n = graph.values.length;
  const allowance = new Map<number, number>();
  graph.ops.forEach((op, i) => {
    op.inputs.forEach((v, k) => {
      const d = op.overlap[k];
      if (d !== null && life[v].end === i) allowance.set(v * n + op.output, d);
    });
  });
  return allowance;
}

// For every live value, the values whose lifetimes overlap it, as one flat
// list: value v's neighbours are neighbours[first[v]] .. neighbours[first[v + 1] - 1].
// Beside each neighbour u: how far v may start before u when v is written
// over dying u (asOutput), and how far u may reach into v when u is written
// over dying v (asInput); NaN when neither applies. A sweep in start order
// keeps the values still alive, so it costs the pairs found, not the square
// of the value count.
interface Overlaps {
  first: Int32Array;
  neighbours: Int32Array;
  asOutput: Float64Array;
  asInput: Float64Array;
  pairs: number;
  maxDegree: number;
}

function overlapLists(graph: Graph, live: number[], life: Lifetime[], allowance: Map<number, number>): Overlaps {
  const n = graph.values.length;
  const byStart = live.slice().sort((a, b) => life[a].start - life[b].start || a - b);
  const a: number[] = [];
  const b: number[] = [];
  let alive: number[] = [];
  for (const v of byStart) {
    alive = alive.filter((u) => life[u].end >= life[v].start);
    for (const u of alive) {
      a.push(u);
      b.push(v);
    }
    if (a.length > MAX_OVERLAPS) {
      fail("TOO_LARGE", `tensor "${graph.values[v].name}" is live together with ${alive.length} others: more than ${MAX_OVERLAPS} pairs of tensors live at once, more than the arena planner takes`);
    }
    alive.push(v);
  }
  const first = new Int32Array(n + 1);
  for (let i = 0; i < a.length; i++) {
    first[a[i] + 1]++;
    first[b[i] + 1]++;
  }
  let maxDegree = 0;
  for (let v = 0; v < n; v++) {
    maxDegree = Math.max(maxDegree, first[v + 1]);
    first[v + 1] += first[v];
  }
  const fill = first.slice();
  const neighbours = new Int32Array(2 * a.length);
  const asOutput = new Float64Array(2 * a.length);
  const asInput = new Float64Array(2 * a.length);
  const add = (v: number, u: number) => {
    const k = fill[v]++;
    neighbours[k] = u;
    asOutput[k] = allowance.get(u * n + v) ?? NaN;
    asInput[k] = allowance.get(v * n + u) ?? NaN;
  };
  for (let i = 0; i < a.length; i++) {
    add(a[i], b[i]);
    add(b[i], a[i]);
  }
  return { first, neighbours, asOutput, asInput, pairs: a.length, maxDegree };
}

// Per-value buffers, sized for the most neighbours any value has.
interface Scratch {
  lo: Float64Array;
  hi: Float64Array;
  index: Int32Array;
  mergedLo: Float64Array;
  mergedHi: Float64Array;
}

interface Context {
  graph: Graph;
  life: Lifetime[];
  overlaps: Overlaps;
  scratch: Scratch;
  units: number;
  placements: number;
}

// Places values in the given order: each at the candidate offset (0, or just
// past or just before a conflicting neighbour) that keeps the extent least,
// the lowest such offset on a tie. Offsets may go negative while placing (a
// chain of in-place ops drifts downward); the result is shifted to start at 0.
function place(ctx: Context, order: number[]): Plan {
  const { graph, life } = ctx;
  const { first, neighbours, asOutput, asInput } = ctx.overlaps;
  const { lo, hi, index, mergedLo, mergedHi } = ctx.scratch;
  const offsets: number[] = new Array(graph.values.length).fill(-1);
  const placed = new Uint8Array(graph.values.length);
  let count = 0;
  let low = 0;
  let high = 0;
  ctx.placements++;
  for (const id of order) {
    const bytes = graph.values[id].bytes;
    ctx.units += 1 + first[id + 1] - first[id];
    // Offsets strictly inside (lo[i], hi[i]) would overwrite a neighbour.
    let k = 0;
    for (let e = first[id]; e < first[id + 1]; e++) {
      const u = neighbours[e];
      if (!placed[u]) continue;
      const base = offsets[u];
      const uBytes = graph.values[u].bytes;
      if (!Number.isNaN(asOutput[e])) { lo[k] = base - Math.min(bytes, asOutput[e]); hi[k] = base + uBytes; }
      else if (!Number.isNaN(asInput[e])) { lo[k] = base - bytes; hi[k] = base + Math.min(uBytes, asInput[e]); }
      else { lo[k] = base - bytes; hi[k] = base + uBytes; }
      k++;
    }
    // Merge the non-empty intervals into disjoint ones sorted by lo, so each
    // candidate is checked by a binary search instead of against all of them.
    let n = 0;
    for (let i = 0; i < k; i++) if (lo[i] < hi[i]) index[n++] = i;
    const sorted = index.subarray(0, n).sort((x, y) => lo[x] - lo[y]);
    let merged = 0;
    for (const i of sorted) {
      if (merged > 0 && lo[i] < mergedHi[merged - 1]) mergedHi[merged - 1] = Math.max(mergedHi[merged - 1], hi[i]);
      else { mergedLo[merged] = lo[i]; mergedHi[merged] = hi[i]; merged++; }
    }
    let best = NaN;
    let bestExtent = Infinity;
    const consider = (c: number): void => {
      let a = 0, b = merged; // the last interval with lo < c must end by c
      while (a < b) {
        const m = (a + b) >> 1;
        if (mergedLo[m] < c) a = m + 1;
        else b = m;
      }
      if (a > 0 && c < mergedHi[a - 1]) return;
      const extent = count === 0 ? bytes : Math.max(high, c + bytes) - Math.min(low, c);
      if (extent < bestExtent || (extent === bestExtent && c < best)) {
        best = c;
        bestExtent = extent;
      }
    };
    consider(0);
    for (let i = 0; i < k; i++) {
      consider(alignUp(hi[i]));
      consider(alignDown(lo[i]));
    }
    offsets[id] = best;
    low = count === 0 ? best : Math.min(low, best);
    high = count === 0 ? best + bytes : Math.max(high, best + bytes);
    placed[id] = 1;
    count++;
  }
  for (const id of order) offsets[id] -= low;
  return { offsets, arenaBytes: alignUp(Math.max(high - low, 1)), lifetimes: life };
}

export function workBudget(opCount: number): number {
  return WORK_FLOOR + WORK_PER_OP * opCount;
}

// Tries a few placement orders, then improves the best by swapping pairs
// (a seeded, deterministic hill climb), and keeps the smallest arena. The
// first order always runs; every later placement only if the budget still
// covers it (each costs the same: values + 2 x overlapping pairs).
export function planArena(graph: Graph): Plan {
  const life = lifetimes(graph);
  const allowance = overlapAllowances(graph, life);
  const live = graph.values.filter((v) => life[v.id].start !== Infinity).map((v) => v.id);
  const overlaps = overlapLists(graph, live, life, allowance);
  const d = overlaps.maxDegree;
  const scratch = { lo: new Float64Array(d), hi: new Float64Array(d), index: new Int32Array(d), mergedLo: new Float64Array(d), mergedHi: new Float64Array(d) };
  const ctx: Context = { graph, life, overlaps, scratch, units: 0, placements: 0 };
  const cost = live.length + 2 * overlaps.pairs;
  const budget = workBudget(graph.ops.length);
  const affordable = () => ctx.units + cost <= budget;

  const bySize = (a: number, b: number) => graph.values[b].bytes - graph.values[a].bytes || life[a].start - life[b].start;
  const orders = [
    live.slice().sort(bySize), // TFLM's greedy order
    live.slice().sort((a, b) => life[a].start - life[b].start || bySize(a, b)), // program order
    live.slice().sort((a, b) => life[b].start - life[a].start || bySize(a, b)), // reverse program order
  ];
  let bestOrder = orders[0];
  let best = place(ctx, bestOrder);
  for (const order of orders.slice(1)) {
    if (!affordable()) break;
    const plan = place(ctx, order);
    if (plan.arenaBytes < best.arenaBytes) [best, bestOrder] = [plan, order];
  }
  let seed = 0x9e3779b9;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  let steps = 0;
  for (; steps < SEARCH_STEPS && live.length > 2 && affordable(); steps++) {
    const order = bestOrder.slice();
    const i = random(order.length), j = random(order.length);
    [order[i], order[j]] = [order[j], order[i]];
    const plan = place(ctx, order);
    if (plan.arenaBytes <= best.arenaBytes) [best, bestOrder] = [plan, order];
  }
  best.work = { units: ctx.units, budget, placements: ctx.placements, steps };
  return best;
}
