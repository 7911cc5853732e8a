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
// Pairs of values alive at once that the planner accepts (32 MB of overlap
// lists, about 2,900 tensors all live together). Real models have hundreds.
export const MAX_OVERLAPS = 1 << 22;

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

// Variable tensors (LSTM and SVDF states) hold their contents from one
// invoke to the next: alive before the first op and after the last, so
// nothing else is ever placed over them.
function keepPersistent(graph: Graph, life: Lifetime[]): void {
  for (const v of graph.variables ?? []) life[v.value] = { start: -1, end: graph.ops.length };
}

export function lifetimes(graph: Graph): Lifetime[] {
  const n = graph.ops.length;
  const life = graph.values.map(() => ({ start: Infinity, end: -Infinity }));
  life[graph.input] = { start: -1, end: -1 };
  keepPersistent(graph, life);
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

// Overlap allowances for inputs that die at their op. For value v:
// over[v] lists [u, d] where v is written over its dying input u (v may
// start d bytes before u); under[v] lists [w, d] where w is written over v.
interface Allowances {
  over: [number, number][][];
  under: [number, number][][];
}

function overlapAllowances(graph: Graph, life: Lifetime[]): Allowances {
  const n = graph.values.length;
  const key = new Map<number, number>(); // input * n + output -> bytes; the last input wins
  graph.ops.forEach((op, i) => {
    op.inputs.forEach((v, k) => {
      const d = op.overlap[k];
      if (d !== null && life[v].end === i) key.set(v * n + op.output, d);
    });
  });
  const over: [number, number][][] = graph.values.map(() => []);
  const under: [number, number][][] = graph.values.map(() => []);
  for (const [k, d] of key) {
    const input = Math.floor(k / n), output = k % n;
    over[output].push([input, d]);
    under[input].push([output, d]);
  }
  return { over, under };
}

function allowanceFor(list: [number, number][], u: number): number | undefined {
  for (const [w, d] of list) if (w === u) return d;
  return undefined;
}

// For every live value, the values whose lifetimes overlap it, as one flat
// list: value v's neighbours are neighbours[first[v]] .. neighbours[first[v + 1] - 1].
// A sweep in start order keeps the values still alive, so it costs the pairs
// found, not the square of the value count; it runs twice, to count and then
// to fill, so nothing but the list itself is held.
interface Overlaps {
  first: Int32Array;
  neighbours: Int32Array;
  pairs: number;
  maxDegree: number;
}

function sweep(live: number[], life: Lifetime[], pair: (u: number, v: number) => void): void {
  const byStart = live.slice().sort((a, b) => life[a].start - life[b].start || a - b);
  let alive: number[] = [];
  for (const v of byStart) {
    alive = alive.filter((u) => life[u].end >= life[v].start);
    for (const u of alive) pair(u, v);
    alive.push(v);
  }
}

function overlapLists(graph: Graph, live: number[], life: Lifetime[]): Overlaps {
  const n = graph.values.length;
  const first = new Int32Array(n + 1);
  let pairs = 0;
  sweep(live, life, (u, v) => {
    first[u + 1]++;
    first[v + 1]++;
    if (++pairs > MAX_OVERLAPS) {
      fail("TOO_LARGE", `tensor "${graph.values[v].name}" is live together with ${first[v + 1]} others: more than ${MAX_OVERLAPS} pairs of tensors live at once, more than the arena planner takes`);
    }
  });
  let maxDegree = 0;
  for (let v = 0; v < n; v++) {
    maxDegree = Math.max(maxDegree, first[v + 1]);
    first[v + 1] += first[v];
  }
  const fill = first.slice();
  const neighbours = new Int32Array(2 * pairs);
  sweep(live, life, (u, v) => {
    neighbours[fill[u]++] = v;
    neighbours[fill[v]++] = u;
  });
  return { first, neighbours, pairs, maxDegree };
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
  allowances: Allowances;
  overlaps: Overlaps;
  scratch: Scratch;
  units: number;
  placements: number;
}

// The lowest-extent offset for a value of `bytes` among the candidates 0,
// alignUp(hi[i]) and alignDown(lo[i]) (just past or just before a
// neighbour), where offsets strictly inside any (lo[i], hi[i]) are forbidden;
// the lowest such offset on a tie. `low`..`high` is the extent so far
// (null: nothing placed yet).
function lowestFit(s: Scratch, k: number, bytes: number, low: number | null, high: number): number {
  const { lo, hi, index, mergedLo, mergedHi } = s;
  // Merge the non-empty intervals into disjoint ones sorted by lo, so each
  // candidate is checked by a binary search instead of against all of them.
  let n = 0;
  for (let i = 0; i < k; i++) {
    if (!(lo[i] < hi[i])) continue;
    let j = n++;
    if (n > 16) { index[j] = i; continue; }
    for (; j > 0 && lo[index[j - 1]] > lo[i]; j--) index[j] = index[j - 1]; // insertion sort while short
    index[j] = i;
  }
  if (n > 16) index.subarray(0, n).sort((x, y) => lo[x] - lo[y]);
  let merged = 0;
  for (let j = 0; j < n; j++) {
    const i = index[j];
    if (merged > 0 && lo[i] < mergedHi[merged - 1]) mergedHi[merged - 1] = Math.max(mergedHi[merged - 1], hi[i]);
    else { mergedLo[merged] = lo[i]; mergedHi[merged] = hi[i]; merged++; }
  }
  let best = NaN;
  let bestExtent = Infinity;
  for (let i = -1; i < 2 * k; i++) {
    const c = i < 0 ? 0 : (i & 1) === 0 ? alignUp(hi[i >> 1]) : alignDown(lo[i >> 1]);
    let a = 0, b = merged; // the last interval with lo < c must end by c
    while (a < b) {
      const m = (a + b) >> 1;
      if (mergedLo[m] < c) a = m + 1;
      else b = m;
    }
    if (a > 0 && c < mergedHi[a - 1]) continue;
    const extent = low === null ? bytes : Math.max(high, c + bytes) - Math.min(low, c);
    if (extent < bestExtent || (extent === bestExtent && c < best)) {
      best = c;
      bestExtent = extent;
    }
  }
  return best;
}

// Places values in the given order, each at its lowest fit beside the
// neighbours already placed. Offsets may go negative while placing (a chain
// of in-place ops drifts downward); the result is shifted to start at 0.
function place(ctx: Context, order: number[]): Plan {
  const { graph, life, scratch } = ctx;
  const { first, neighbours } = ctx.overlaps;
  const { over, under } = ctx.allowances;
  const { lo, hi } = scratch;
  const offsets: number[] = new Array(graph.values.length).fill(-1);
  const placed = new Uint8Array(graph.values.length);
  let low: number | null = null;
  let high = 0;
  ctx.placements++;
  for (const id of order) {
    const bytes = graph.values[id].bytes;
    ctx.units += 1 + first[id + 1] - first[id];
    // Offsets strictly inside (lo[k], hi[k]) would overwrite a neighbour.
    let k = 0;
    for (let e = first[id]; e < first[id + 1]; e++) {
      const u = neighbours[e];
      if (!placed[u]) continue;
      const base = offsets[u];
      const uBytes = graph.values[u].bytes;
      const asOutput = over[id].length ? allowanceFor(over[id], u) : undefined; // id is written over dying u
      const asInput = under[id].length ? allowanceFor(under[id], u) : undefined; // u is written over dying id
      if (asOutput !== undefined) { lo[k] = base - Math.min(bytes, asOutput); hi[k] = base + uBytes; }
      else if (asInput !== undefined) { lo[k] = base - bytes; hi[k] = base + Math.min(uBytes, asInput); }
      else { lo[k] = base - bytes; hi[k] = base + uBytes; }
      k++;
    }
    const at = lowestFit(scratch, k, bytes, low, high);
    offsets[id] = at;
    low = low === null ? at : Math.min(low, at);
    high = Math.max(high, at + bytes);
    placed[id] = 1;
  }
  const base = low ?? 0;
  for (const id of order) offsets[id] -= base;
  return { offsets, arenaBytes: alignUp(Math.max(high - base, 1)), lifetimes: life };
}

// One placement in a given order, without the search (for tests).
export function placeInOrder(graph: Graph, order: number[]): Plan {
  const life = lifetimes(graph);
  const live = graph.values.filter((v) => life[v.id].start !== Infinity).map((v) => v.id);
  return place(context(graph, life, live), order);
}

function context(graph: Graph, life: Lifetime[], live: number[]): Context {
  const overlaps = overlapLists(graph, live, life);
  const d = overlaps.maxDegree;
  const scratch = { lo: new Float64Array(d), hi: new Float64Array(d), index: new Int32Array(d), mergedLo: new Float64Array(d), mergedHi: new Float64Array(d) };
  return { graph, life, allowances: overlapAllowances(graph, life), overlaps, scratch, units: 0, placements: 0 };
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
  const live = graph.values.filter((v) => life[v.id].start !== Infinity).map((v) => v.id);
  const ctx = context(graph, life, live);
  const cost = live.length + 2 * ctx.overlaps.pairs;
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
