// Hostile and large models (issue 16): planning work that stays within a
// budget growing with the op count, the converter refusing what the format or
// the module cannot hold (TOO_LARGE, naming the tensor), and the host holding
// the .wisp description to its schema (BAD_WISP, naming the field). Models are
// built here with the project's TFLite writer; the files in ../shared/repro
// are run too when present.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as F from "../assembly/format";
import * as L from "../assembly/limits";
import { convertTflite } from "../host/convert";
import { emitWisp } from "../host/convert/emit";
import { Graph, LoweredOp, Value } from "../host/convert/graph";
import { planArena, SEARCH_STEPS, workBudget } from "../host/convert/plan";
import { Builtin, TensorType } from "../host/convert/tflite";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { chainModel, container, descriptionText, editDescription, fanOutModel, sectionsOf, withDescription } from "./hostile-models";
import { PACKAGE_ROOT, throwsCoded } from "./helpers";
import { buildTflite, scalar, table } from "./tflite-writer";


const BIG = [1, 16384, 16384, 1]; // 2^28 elements: the most one tensor may hold

test("400 tensors, 201 live at once: the planner stays within its budget and finds the least arena", () => {
  const { wisp, info, work } = convertTflite(fanOutModel(200));
  assert.equal(work.budget, workBudget(399));
  assert.ok(work.units <= work.budget, JSON.stringify(work));
  assert.ok(work.steps < SEARCH_STEPS, "the budget, not the step count, ends this search");
  // At the last QUANTIZE, its 199 siblings and its output (written over the
  // dying input) are live: 200 tensors of 64 bytes is the least any plan needs.
  assert.equal(info.arenaBytes, 200 * 64);
  const model = loadSync(wisp);
  assert.equal(model.info.ops.length, 399);
  assert.equal(model.invoke(new Int8Array(64)).length, 64);
});

test("a 10,000-op chain: planning work grows linearly with the ops, and the chain runs in place", () => {
  const small = convertTflite(chainModel(1000)).work;
  const { wisp, info, work } = convertTflite(chainModel(10000));
  assert.equal(work.budget, workBudget(10000));
  assert.ok(work.units <= work.budget, JSON.stringify(work));
  assert.ok(work.units <= 10 * small.units, `10x the ops cost ${work.units / small.units}x the work`);
  assert.equal(info.arenaBytes, 16, "every QUANTIZE writes over its dying input");
  const model = loadSync(wisp);
  assert.equal(model.info.ops.length, 10000);
  assert.equal(model.invoke(new Int8Array(16)).length, 16);
});

test("models of a few dozen ops get the planner's whole search, as before the budget", () => {
  const { work } = convertTflite(fanOutModel(12)); // 23 ops, 12 live at once
  assert.equal(work.steps, SEARCH_STEPS);
  assert.equal(work.placements, 3 + SEARCH_STEPS);
  assert.ok(work.units <= work.budget);
});

test("an arena of exactly the module's limit converts and loads; one tensor more is TOO_LARGE, naming it", () => {
  const { info, wisp } = convertTflite(fanOutModel(1, BIG));
  assert.equal(info.arenaBytes, L.MAX_ARENA_BYTES);
  assert.equal(loadSync(wisp).info.arenaBytes, L.MAX_ARENA_BYTES);
  throwsCoded(() => convertTflite(fanOutModel(2, BIG)), "TOO_LARGE", /arena would need 536870912 bytes, more than the 268435456 the module holds: tensor "t\d+"/);
  // 17 tensors of 256 MB live at once (../shared/repro/arena_17x256M.tflite):
  // past 2^32 bytes, where 32-bit offsets would wrap.
  throwsCoded(() => loadSync(fanOutModel(17, BIG)), "TOO_LARGE", /arena would need \d{10} bytes.*tensor "t\d+"/);
});

const q8 = (shape: number[], scale = 0.05, zeroPoint = 0) => ({ shape, type: TensorType.INT8, scale: [scale], zeroPoint: [zeroPoint] });

function softmax(depth: number): Uint8Array {
  return buildTflite({
    tensors: [q8([1, depth]), q8([1, depth], 1 / 256, -128)],
    ops: [{ builtin: Builtin.SOFTMAX, inputs: [0], outputs: [1], options: table(scalar("f32", 1)) }],
    inputs: [0], outputs: [1],
  });
}

function maxPool(kernel: number): Uint8Array {
  // Pool2DOptions: padding (VALID), stride w, stride h, filter w, filter h, activation.
  const options = table(scalar("i8", 1), scalar("i32", 1), scalar("i32", 1), scalar("i32", 1), scalar("i32", kernel), scalar("i8", 0));
  return buildTflite({
    tensors: [q8([1, 4097, 1, 1]), q8([1, 4098 - kernel, 1, 1])],
    ops: [{ builtin: Builtin.MAX_POOL_2D, inputs: [0], outputs: [1], options }],
    inputs: [0], outputs: [1],
  });
}

// A converted .wisp with one parameter word of its first op (or, with
// param -1, the graph header's arena size) replaced, and the CRC recomputed.
function patchWord(wisp: Uint8Array, param: number, value: number): Uint8Array {
  const out = wisp.slice();
  const v = new DataView(out.buffer);
  const graphAt = v.getUint32(F.HEADER_BYTES + 8, true); // the first section: the graph
  const word = param < 0 ? F.GRAPH_ARENA_BYTES : F.GRAPH_HEADER_WORDS + F.OP_HEADER_WORDS + param;
  v.setInt32(graphAt + 4 * word, value, true);
  v.setUint32(12, crc32(out.subarray(F.HEADER_BYTES)), true);
  return out;
}

test("the converter's limits are the module's: one more is refused by the module too", () => {
  throwsCoded(() => loadSync(patchWord(convertTflite(fanOutModel(1, [1, 16])).wisp, -1, L.MAX_ARENA_BYTES + 1)), "BAD_WISP", /arena size out of range \(268435457\)/);
  // Accepted at the limit below (dimension and window tests); one past it:
  throwsCoded(() => loadSync(patchWord(convertTflite(softmax(L.MAX_DIM)).wisp, F.SOFTMAX_DEPTH, L.MAX_DIM + 1)), "BAD_WISP", /SOFTMAX dimension out of range/);
  throwsCoded(() => loadSync(patchWord(convertTflite(maxPool(L.MAX_WINDOW)).wisp, F.POOL_K_H, L.MAX_WINDOW + 1)), "BAD_WISP", /pool window parameter out of range/);
});

test("dimensions and windows past the module's limits are refused by the converter, naming the tensor", () => {
  assert.equal(loadSync(softmax(L.MAX_DIM)).info.input.bytes, L.MAX_DIM);
  throwsCoded(() => convertTflite(softmax(L.MAX_DIM + 1)), "TOO_LARGE", /^operator 0 \(SOFTMAX\), input tensor "t0": depth 65536 exceeds 65535/);
  assert.equal(loadSync(maxPool(L.MAX_WINDOW)).info.output.bytes, 2);
  throwsCoded(() => convertTflite(maxPool(L.MAX_WINDOW + 1)), "TOO_LARGE", /^operator 0 \(MAX_POOL_2D\): kernel height 4097 exceeds 4096/);
});

// A graph built by hand, to reach sizes no .tflite here can hold.
function oneOp(weights: Uint8Array[], params: (arena: (v: number) => number) => number[]): Graph {
  const value = (id: number): Value => ({ id, bytes: 16, shape: [1, 16], quant: { scale: 1, zeroPoint: 0 }, name: `v${id}`, type: TensorType.INT8 });
  const op: LoweredOp = {
    opcode: F.OP_REQUANTIZE, name: "QUANTIZE", tfliteIndex: 7, tfliteOutput: 1, inputs: [0], output: 1, overlap: [0], weights, macs: 0,
    encode: (ctx) => params(ctx.arena),
  };
  return { values: [value(0), value(1)], ops: [op], input: 0, output: 1, floatInput: false, floatOutput: false };
}

test("weights past what i32 words address and parameters past 32 bits are TOO_LARGE before anything is allocated", () => {
  // Never read: the limit is checked first. Two blocks, not one array twice (which the emitter stores once).
  const gigabyte = () => ({ length: 2 ** 30 }) as unknown as Uint8Array;
  const requant = (arena: (v: number) => number) => [arena(0), arena(1), 16, 0, 0, 1 << 30, 0];
  const g = oneOp([gigabyte(), gigabyte()], requant);
  throwsCoded(() => emitWisp(g, planArena(g)), "TOO_LARGE", /^operator 7 \(QUANTIZE\), output "v1": its weights would end at byte 2147483648/);
  const h = oneOp([], (arena) => [arena(0), arena(1), 2 ** 31, 0, 0, 1 << 30, 0]);
  throwsCoded(() => emitWisp(h, planArena(h)), "TOO_LARGE", /^operator 7 \(QUANTIZE\): parameter word 2 is 2147483648/);
});

// ../shared/repro/desc_*.wisp: a valid CRC around a description of the wrong shape.
const small = () => convertTflite(softmax(10)).wisp;

test("a description of the wrong shape is BAD_WISP naming the field, never an internal error", () => {
  const cases: [string, (info: any) => unknown, RegExp][] = [
    ["input shape as an object", (i) => { i.input.shape = { a: 1 }; }, /field input\.shape must be an array, not an object/],
    ["a null op", (i) => { i.ops[0] = null; }, /field ops\[0\] must be an object, not null/],
    ["a string for a number", (i) => { i.ops[0].arenaOffset = "0"; }, /field ops\[0\]\.arenaOffset must be a whole number/],
    ["an op outside the arena", (i) => { i.ops[0].arenaOffset = 1 << 20; }, /field ops\[0\]\.arenaOffset must be a whole number from 0 to 2, not 1048576/],
    ["an op somewhere else than the graph says", (i) => { i.ops[0].arenaOffset = 4; i.ops[0].arenaBytes = 2; i.ops[0].outputShape = [1, 2]; }, /field ops\[0\]\.arenaOffset is 4, but the graph section says 0/],
    ["input bytes that disagree with the graph", (i) => { i.input.bytes = 5; i.input.shape = [5]; }, /field input\.bytes is 5, but the graph section says 10/],
    ["bytes that disagree with the shape", (i) => { i.output.shape = [2, 10]; }, /field output\.bytes is 10, but the shape \(of int8\) says 20/],
    ["an unknown element type", (i) => { i.output.type = "int12"; }, /field output\.type must be "int8", "int16", "int32" or "uint8", not a string of 5 characters/],
    ["a missing field", (i) => { delete i.output.scale; }, /field output\.scale is missing/],
    ["an unknown field", (i) => { i.extra = 1; }, /field \(top level\)\.extra is not a known field/],
    ["an op count the graph does not have", (i) => { i.ops.push(i.ops[0]); }, /field ops holds 2 entries, more than 1/],
    ["a huge array", (i) => { i.ops[0].inputShapes = new Array(100000).fill([1]); }, /field ops\[0\]\.inputShapes holds 100000 entries/],
    ["deep nesting", (i) => { i.ops[0].inputShapes = "DEEP"; return JSON.stringify(i).replace('"DEEP"', "[".repeat(100000) + "]".repeat(100000)); },
      /field ops\[0\]\.inputShapes\[0\]\[0\] must be a whole number from 1 to 268435456, not an array of 1/],
    ["a zero scale", (i) => { i.input.scale = 0; }, /field input\.scale must be a positive finite number, not 0/],
    ["a zero point out of int16", (i) => { i.ops[0].outputZeroPoint = 40000; }, /field ops\[0\]\.outputZeroPoint must be a whole number from -32768 to 32767/],
    ["op counts that disagree with the ops", (i) => { i.opCounts.SOFTMAX = 2; }, /field opCounts\.SOFTMAX must be a whole number from 1 to 1, not 2/],
    ["a file size that is not the file's", (i) => { i.wispBytes = 1; }, /field wispBytes is 1, but the file size says \d+/],
    ["a top level that is an array", () => "[]", /field \(top level\) must be an object, not an array of 0/],
    ["a wrong format version", (i) => { i.formatVersion = 1; }, /field formatVersion is 1, but the header says 4/],
    ["an op index out of order", (i) => { i.ops[0].index = 3; }, /field ops\[0\]\.index is 3, but the op's position says 0/],
  ];
  const wisp = small();
  for (const [what, edit, pattern] of cases) {
    throwsCoded(() => loadSync(editDescription(wisp, edit)), "BAD_WISP", pattern);
    assert.ok(what);
  }
  throwsCoded(() => loadSync(withDescription(wisp, () => "{not json")), "BAD_WISP", /not valid JSON/);
  // The description rewritten unchanged loads: the checks refuse only what is wrong.
  assert.equal(loadSync(editDescription(wisp, () => undefined)).info.ops.length, 1);
  assert.equal(descriptionText(editDescription(wisp, () => undefined)), descriptionText(wisp));
});

test("a second description section is refused", () => {
  const sections = sectionsOf(small());
  const meta = sections.find(([kind]) => kind === F.SECTION_META)!;
  throwsCoded(() => loadSync(container([...sections, meta])), "BAD_WISP", /more than one description section/);
  throwsCoded(() => loadSync(container(sections.filter(([kind]) => kind !== F.SECTION_META))), "BAD_WISP", /no description section/);
  assert.equal(loadSync(container(sections)).info.ops.length, 1);
});

// The files that prompted issue 16, when ../shared/repro is beside the repo.
const REPRO = resolve(PACKAGE_ROOT, "..", "shared", "repro");
const EXPECTED: Record<string, string> = {
  "arena_17x256M.tflite": "TOO_LARGE", "desc_input_shape_obj.wisp": "BAD_WISP", "desc_ops_null.wisp": "BAD_WISP",
  "live_add_400.tflite": "ok", "chain_quantize_10000.tflite": "ok",
};

test("the ../shared/repro files end in a success or a clean coded error", { skip: !existsSync(REPRO) && "no ../shared/repro" }, () => {
  for (const name of readdirSync(REPRO).filter((f) => /\.(tflite|wisp)$/.test(f))) {
    let outcome = "ok";
    try {
      loadSync(new Uint8Array(readFileSync(join(REPRO, name))));
    } catch (e) {
      assert.ok(e instanceof WispError, `${name}: ${String(e)}`);
      outcome = e.code;
    }
    assert.equal(outcome, EXPECTED[name] ?? outcome, name);
  }
});

