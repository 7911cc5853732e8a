// The arena planner places each value by looking only at the values whose
// lifetimes overlap it, and checks candidates against merged intervals. That
// must give exactly the plain placement: every candidate checked against
// every placed value alive at the same time. This compares the two on random
// graphs and random orders, and checks that no plan lets one live value
// overwrite another beyond what the ops allow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, LoweredOp, Value } from "../host/convert/graph";
import { lifetimes, placeInOrder, planArena } from "../host/convert/plan";
import { prng } from "./helpers";
import { TensorType } from "../host/convert/tflite";

const align = (x: number, up: boolean) => (up ? Math.ceil(x / 4) : Math.floor(x / 4)) * 4;

// The plain placement, written for clarity rather than speed.
function reference(graph: Graph, order: number[]): number[] {
  const life = lifetimes(graph);
  const allowance = new Map<string, number>();
  graph.ops.forEach((op, i) => op.inputs.forEach((v, k) => {
    if (op.overlap[k] !== null && life[v].end === i) allowance.set(`${v}>${op.output}`, op.overlap[k]!);
  }));
  const offsets = graph.values.map(() => -1);
  const placed: number[] = [];
  let low = 0, high = 0;
  for (const id of order) {
    const t = graph.values[id];
    const forbidden: { lo: number; hi: number }[] = [];
    for (const u of placed) {
      if (life[id].start > life[u].end || life[u].start > life[id].end) continue;
      const base = offsets[u], uBytes = graph.values[u].bytes;
      const asOutput = allowance.get(`${u}>${id}`), asInput = allowance.get(`${id}>${u}`);
      if (asOutput !== undefined) forbidden.push({ lo: base - Math.min(t.bytes, asOutput), hi: base + uBytes });
      else if (asInput !== undefined) forbidden.push({ lo: base - t.bytes, hi: base + Math.min(uBytes, asInput) });
      else forbidden.push({ lo: base - t.bytes, hi: base + uBytes });
    }
    let best = NaN, bestExtent = Infinity;
    for (const c of [0, ...forbidden.flatMap((f) => [align(f.hi, true), align(f.lo, false)])]) {
      if (!forbidden.every((f) => c <= f.lo || c >= f.hi)) continue;
      const extent = placed.length === 0 ? t.bytes : Math.max(high, c + t.bytes) - Math.min(low, c);
      if (extent < bestExtent || (extent === bestExtent && c < best)) [best, bestExtent] = [c, extent];
    }
    offsets[id] = best;
    low = placed.length === 0 ? best : Math.min(low, best);
    high = placed.length === 0 ? best + t.bytes : Math.max(high, best + t.bytes);
    placed.push(id);
  }
  return offsets.map((o, id) => (placed.includes(id) ? o - low : o));
}

// A random graph: each op reads one or two recent values; sizes and overlap
// allowances (some negative, some none) at random.
function randomGraph(random: (n: number) => number): Graph {
  const value = (id: number): Value => ({ id, bytes: 1 + random(300), shape: [1], quant: { scale: 1, zeroPoint: 0 }, name: `v${id}`, type: TensorType.INT8 });
  const values = [value(0)];
  const ops: LoweredOp[] = [];
  for (let i = 0, n = 1 + random(30); i < n; i++) {
    const inputs = [...new Set(Array.from({ length: 1 + random(2) }, () => values.length - 1 - random(Math.min(values.length, 8))))];
    values.push(value(values.length));
    ops.push({
      opcode: 9, name: "OP", tfliteIndex: i, tfliteOutput: values.length - 1, inputs, output: values.length - 1,
      overlap: inputs.map(() => (random(3) === 0 ? null : random(200) - 60)), weights: [], macs: 0, encode: () => [],
    });
  }
  return { values, ops, input: 0, output: values.length - 1, floatInput: false, floatOutput: false };
}

test("placement equals the plain placement on 400 random graphs and orders", () => {
  const random = prng(1616);
  for (let trial = 0; trial < 400; trial++) {
    const g = randomGraph(random);
    const life = lifetimes(g);
    const order = g.values.filter((v) => life[v.id].start !== Infinity).map((v) => v.id);
    for (let i = order.length - 1; i > 0; i--) {
      const j = random(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    assert.deepEqual(placeInOrder(g, order).offsets, reference(g, order), `trial ${trial}`);
  }
});

test("no plan lets a live value overwrite another beyond what its op allows", () => {
  const random = prng(61);
  let inPlace = 0;
  for (let trial = 0; trial < 30; trial++) {
    const g = randomGraph(random);
    const plan = planArena(g);
    const life = plan.lifetimes;
    for (const a of g.values) for (const b of g.values) {
      if (a.id >= b.id || life[a.id].start === Infinity || life[b.id].start === Infinity) continue;
      if (life[a.id].start > life[b.id].end || life[b.id].start > life[a.id].end) continue;
      const [x, y] = [plan.offsets[a.id], plan.offsets[b.id]];
      assert.ok(x >= 0 && x + a.bytes <= plan.arenaBytes && y >= 0 && y + b.bytes <= plan.arenaBytes);
      if (x + a.bytes <= y || y + b.bytes <= x) continue;
      // Overlapping bytes: only an output written over its dying input, and
      // starting at least the op's allowance before it (Graph.ops[].overlap).
      const op = g.ops[life[b.id].start];
      const k = op.inputs.indexOf(a.id);
      assert.ok(op.output === b.id && k >= 0 && life[a.id].end === life[b.id].start && op.overlap[k] !== null, `trial ${trial}: v${a.id} and v${b.id} overlap`);
      assert.ok(y <= x - Math.min(b.bytes, op.overlap[k]!), `trial ${trial}: v${b.id} starts too late over v${a.id}`);
      inPlace++;
    }
  }
  assert.ok(inPlace > 10, `only ${inPlace} outputs were placed over their inputs: the check saw too little`);
});
