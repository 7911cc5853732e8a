// The planner lets an op's output overlap its dying input by windowOverlap()
// bytes. That is only safe if it matches the kernels' real read/write order,
// so this runs the module's kernels on hundreds of random geometries with the
// output placed at exactly that overlap, and compares with disjoint buffers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as F from "../assembly/format";
import { emitWisp } from "../host/convert/emit";
import { Graph, LoweredOp, Value, Window, windowOverlap } from "../host/convert/graph";
import { Plan } from "../host/convert/plan";
import { TensorType } from "../host/convert/tflite";
import { loadSync } from "../host/node/api";
import { prng } from "./helpers";

const TRIALS = 300;

function value(id: number, shape: number[]): Value {
  return { id, bytes: shape.reduce((a, b) => a * b, 1), shape, quant: { scale: 1, zeroPoint: 0 }, name: `v${id}`, type: TensorType.INT8 };
}

function randomBytes(n: number, random: (n: number) => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => random(256));
}

// One windowed op over a random geometry, encoded the way lower.ts does
// (FULLY_CONNECTED too: its rows as the pixels of a 1-wide image).
function randomOp(random: (n: number) => number): { op: LoweredOp; win: Window; pixelsPerStep: number } {
  const kind = [F.OP_CONV, F.OP_CONV, F.OP_DEPTHWISE, F.OP_AVG_POOL, F.OP_MAX_POOL, F.OP_DENSE][random(6)];
  if (kind === F.OP_DENSE) return randomDense(random);
  // Some convs of the SIMD build's other orders: im2col products (channels
  // in fours) and Winograd tiles (3x3, stride 1, input channels in eights).
  const winograd = kind === F.OP_CONV && random(3) === 0;
  const kH = winograd ? 3 : 1 + random(4), kW = winograd ? 3 : 1 + random(4);
  const strideH = winograd ? 1 : 1 + random(3), strideW = winograd ? 1 : 1 + random(3);
  const pooled = kind === F.OP_AVG_POOL || kind === F.OP_MAX_POOL;
  const dilH = pooled || winograd ? 1 : 1 + random(2), dilW = pooled || winograd ? 1 : 1 + random(2);
  const inH = (kH - 1) * dilH + 1 + random(8), inW = (kW - 1) * dilW + 1 + random(8);
  const inC = winograd ? 8 * (1 + random(2)) : 1 + random(9);
  const outC = kind === F.OP_CONV ? (random(2) === 0 ? 4 * (1 + random(3)) : 1 + random(9)) : kind === F.OP_DEPTHWISE ? inC * (1 + random(3)) : inC;
  const same = random(2) === 0;
  const out = (size: number, k: number, s: number, d: number) => (same ? Math.ceil(size / s) : Math.floor((size - (k - 1) * d - 1) / s) + 1);
  const pad = (size: number, k: number, s: number, d: number, o: number) => Math.floor(Math.max(0, (o - 1) * s + (k - 1) * d + 1 - size) / 2);
  const outH = out(inH, kH, strideH, dilH), outW = out(inW, kW, strideW, dilW);
  const padTop = pad(inH, kH, strideH, dilH, outH), padLeft = pad(inW, kW, strideW, dilW, outW);
  const win: Window = { inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft };
  const filterBytes = kind === F.OP_CONV ? outC * kH * kW * inC : outC * kH * kW;
  const records = randomRecords(outC, random);
  const inZp = random(256) - 128, outZp = random(256) - 128;
  const op: LoweredOp = {
    opcode: kind, name: "trial", tfliteIndex: 0, tfliteOutput: 1, inputs: [0], output: 1, overlap: [null], macs: 0,
    weights: pooled ? [] : [randomBytes(filterBytes, random), records],
    encode: (ctx) => pooled
      ? [ctx.arena(0), ctx.arena(1), inH, inW, inC, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, -128, 127]
      : [ctx.arena(0), ctx.arena(1), inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, inZp, outZp, -128, 127, ctx.weights(0), ctx.weights(1)],
  };
  // convS8 and depthwiseS8 compute pixels in pairs; the pools one at a time.
  return { op, win, pixelsPerStep: pooled ? 1 : 2 };
}

function randomRecords(outC: number, random: (n: number) => number): Uint8Array {
  const records = new Uint8Array(outC * F.CHANNEL_RECORD_BYTES);
  const rv = new DataView(records.buffer);
  for (let c = 0; c < outC; c++) {
    rv.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_BIAS, random(2000) - 1000, true);
    rv.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_MULT, (1 << 30) + random(1 << 30), true);
    rv.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_SHIFT, -6 - random(4), true);
  }
  return records;
}

function randomDense(random: (n: number) => number): { op: LoweredOp; win: Window; pixelsPerStep: number } {
  const rows = 1 + random(12), depth = 1 + random(24), outC = random(2) === 0 ? 4 * (1 + random(4)) : 1 + random(16);
  const win: Window = { inH: 1, inW: rows, inC: depth, outH: 1, outW: rows, outC, kH: 1, kW: 1, strideH: 1, strideW: 1, dilH: 1, dilW: 1, padTop: 0, padLeft: 0 };
  const inZp = random(256) - 128, outZp = random(256) - 128;
  const op: LoweredOp = {
    opcode: F.OP_DENSE, name: "trial", tfliteIndex: 0, tfliteOutput: 1, inputs: [0], output: 1, overlap: [null], macs: 0,
    weights: [randomBytes(outC * depth, random), randomRecords(outC, random)],
    encode: (ctx) => [ctx.arena(0), ctx.arena(1), rows, depth, outC, inZp, outZp, -128, 127, ctx.weights(0), ctx.weights(1)],
  };
  return { op, win, pixelsPerStep: 2 };
}

test(`${TRIALS} random windowed and dense ops give the same output in place as out of place`, () => {
  const random = prng(99);
  for (let t = 0; t < TRIALS; t++) {
    const { op, win, pixelsPerStep } = randomOp(random);
    const values = [value(0, [1, win.inH, win.inW, win.inC]), value(1, [1, win.outH, win.outW, win.outC])];
    const graph: Graph = { values, ops: [op], input: 0, output: 1, floatInput: false, floatOutput: false };
    const lifetimes = [{ start: -1, end: 0 }, { start: 0, end: 1 }];
    const d = windowOverlap(win, pixelsPerStep);
    // In place: the output starts d bytes before the input (or after, if d < 0).
    const inAt = Math.max(0, d), outAt = inAt - d;
    const inPlace: Plan = { offsets: [inAt, outAt], arenaBytes: Math.max(inAt + values[0].bytes, outAt + values[1].bytes), lifetimes };
    const apart: Plan = { offsets: [0, values[0].bytes], arenaBytes: values[0].bytes + values[1].bytes, lifetimes };
    const x = Int8Array.from(randomBytes(values[0].bytes, random));
    for (const simd of [true, false]) {
      const a = loadSync(emitWisp(graph, inPlace).bytes, { simd });
      const b = loadSync(emitWisp(graph, apart).bytes, { simd });
      assert.deepEqual(a.invoke(x), b.invoke(x), `trial ${t} (${a.info.module}): ${JSON.stringify(win)} opcode ${op.opcode} overlap ${d}`);
    }
  }
});
