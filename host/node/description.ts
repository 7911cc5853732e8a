// The .wisp description section: JSON for hosts (shapes, quantization, the
// per-op table). Hosts trust it to size buffers and read the arena, so it is
// held to a schema (types, lengths, ranges) and must agree with the graph
// and weights sections the module has already validated. Anything else is
// refused with BAD_WISP and a message naming the field.
import * as F from "../../assembly/format";
import * as L from "../../assembly/limits";
import type { ModelInfo, OpInfo, TensorInfo } from "../convert";
import { fail } from "../errors";
import { opRecords, sections } from "./wisp-file";

const MAX_NAME = 64;

// What the module's validated sections say, read on the host.
export interface GraphFacts {
  fileBytes: number;
  weightsBytes: number;
  arenaBytes: number;
  inputBytes: number;
  outputBytes: number;
  opOutputs: number[]; // per op record: its output's arena offset
}

// The parameter word holding each opcode's output offset; a registered op's
// record starts with its tensor count, then the output's offset.
const OUTPUT_WORD: Record<number, number> = {
  [F.OP_CONV]: F.CONV_OUT, [F.OP_DEPTHWISE]: F.CONV_OUT, [F.OP_DENSE]: F.DENSE_OUT, [F.OP_AVG_POOL]: F.POOL_OUT, [F.OP_MAX_POOL]: F.POOL_OUT,
  [F.OP_SOFTMAX]: F.SOFTMAX_OUT, [F.OP_REQUANTIZE]: F.REQUANT_OUT,
};
const REGISTERED_OUTPUT_WORD = 1;


// Reads the facts from a .wisp whose container and graph the module accepted
// (so the section table and the op records are sound).
export function graphFacts(wisp: Uint8Array): GraphFacts {
  const table = sections(wisp);
  const graph = table.find((s) => s.kind === F.SECTION_GRAPH)!;
  const weights = table.find((s) => s.kind === F.SECTION_WEIGHTS)!;
  const v = new DataView(wisp.buffer, wisp.byteOffset + graph.at, graph.size);
  const word = (i: number) => v.getInt32(4 * i, true);
  const fileWord = new DataView(wisp.buffer, wisp.byteOffset, wisp.byteLength);
  const opOutputs = opRecords(wisp).map((r) => {
    const out = r.opcode >= F.FIRST_REGISTERED_OPCODE ? REGISTERED_OUTPUT_WORD : OUTPUT_WORD[r.opcode];
    return out === undefined ? -1 : fileWord.getInt32(r.at + 4 * (F.OP_HEADER_WORDS + out), true);
  });
  return {
    fileBytes: wisp.length, weightsBytes: weights.size, arenaBytes: word(F.GRAPH_ARENA_BYTES),
    inputBytes: word(F.GRAPH_INPUT_BYTES), outputBytes: word(F.GRAPH_OUTPUT_BYTES), opOutputs,
  };
}

export function readDescription(wisp: Uint8Array, facts: GraphFacts): ModelInfo {
  const meta = sections(wisp).filter((s) => s.kind === F.SECTION_META);
  if (meta.length === 0) fail("BAD_WISP", "the .wisp file has no description section");
  if (meta.length > 1) fail("BAD_WISP", "the .wisp file has more than one description section");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(wisp.subarray(meta[0].at, meta[0].at + meta[0].size)));
  } catch {
    return fail("BAD_WISP", "the description section is not valid JSON");
  }
  return checkDescription(json, facts);
}

function bad(path: string, message: string): never {
  return fail("BAD_WISP", `description field ${path} ${message}`);
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x === "string") return `a string of ${x.length} characters`;
  if (typeof x === "number") return String(x);
  return typeof x === "object" ? "an object" : String(typeof x);
}

// An object with exactly these keys.
function record(x: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) bad(path, `must be an object, not ${describe(x)}`);
  const o = x as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${path}.${k.slice(0, MAX_NAME)}`, "is not a known field");
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(o, k)) bad(`${path}.${k}`, "is missing");
  return o;
}

function integer(x: unknown, path: string, min: number, max: number): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < min || x > max) bad(path, `must be a whole number from ${min} to ${max}, not ${describe(x)}`);
  return x;
}

function equal(x: number, expected: number, path: string, source: string): void {
  if (x !== expected) bad(path, `is ${x}, but the ${source} says ${expected}`);
}

// Bytes of a tensor of `elements` int8, int16 or int32 values.
function elementBytes(bytes: number, elements: number, path: string, source: string): void {
  if (![1, 2, 4].some((size) => bytes === size * elements)) bad(path, `is ${bytes}, but the ${source} says ${elements} elements of 1, 2 or 4 bytes`);
}

function scale(x: unknown, path: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || !(x > 0)) bad(path, `must be a positive finite number, not ${describe(x)}`);
  return x;
}

function name(x: unknown, path: string): string {
  if (typeof x !== "string" || !/^[A-Za-z0-9_]+$/.test(x) || x.length > MAX_NAME) bad(path, `must be an op name (letters, digits, _; at most ${MAX_NAME}), not ${describe(x)}`);
  return x;
}

function list(x: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(x)) bad(path, `must be an array, not ${describe(x)}`);
  if (x.length > max) bad(path, `holds ${x.length} entries, more than ${max}`);
  return x;
}

// A tensor shape; returns its element count (the tensor's bytes, int8).
function shape(x: unknown, path: string): number {
  const dims = list(x, path, L.MAX_RANK);
  let elements = 1;
  dims.forEach((d, i) => {
    elements *= integer(d, `${path}[${i}]`, 1, L.MAX_ARENA_BYTES);
    if (elements > L.MAX_ARENA_BYTES) bad(path, `describes more than ${L.MAX_ARENA_BYTES} elements`);
  });
  return elements;
}

const TENSOR_KEYS = ["shape", "bytes", "scale", "zeroPoint", "float", "type"] as const;
const TYPE_BYTES: Record<string, number> = { int8: 1, int16: 2, int32: 4 };
const OP_KEYS = ["index", "op", "tfliteIndex", "tfliteOutput", "inputShapes", "outputShape", "macs", "arenaOffset", "arenaBytes", "outputScale", "outputZeroPoint", "weightsBytes"] as const;
const INFO_KEYS = ["format", "formatVersion", "input", "output", "ops", "opCounts", "macs", "arenaBytes", "weightsBytes", "wispBytes"] as const;

function tensor(x: unknown, path: string, graphBytes: number): TensorInfo {
  const t = record(x, path, TENSOR_KEYS);
  const size = typeof t.type === "string" && Object.hasOwn(TYPE_BYTES, t.type) ? TYPE_BYTES[t.type] : bad(`${path}.type`, `must be "int8", "int16" or "int32", not ${describe(t.type)}`);
  equal(integer(t.bytes, `${path}.bytes`, 1, L.MAX_ARENA_BYTES), size * shape(t.shape, `${path}.shape`), `${path}.bytes`, `shape (of ${t.type})`);
  equal(t.bytes as number, graphBytes, `${path}.bytes`, "graph section");
  scale(t.scale, `${path}.scale`);
  // int16 tensors may have int16 zero points (int8 SOFTMAX's int16 output).
  if (t.type === "int16") integer(t.zeroPoint, `${path}.zeroPoint`, -32768, 32767);
  else integer(t.zeroPoint, `${path}.zeroPoint`, -128, 127);
  if (typeof t.float !== "boolean") bad(`${path}.float`, `must be true or false, not ${describe(t.float)}`);
  return t as unknown as TensorInfo;
}

function op(x: unknown, i: number, facts: GraphFacts): OpInfo {
  const path = `ops[${i}]`;
  const o = record(x, path, OP_KEYS);
  equal(integer(o.index, `${path}.index`, 0, L.MAX_WORD), i, `${path}.index`, "op's position");
  name(o.op, `${path}.op`);
  integer(o.tfliteIndex, `${path}.tfliteIndex`, 0, L.MAX_WORD);
  integer(o.tfliteOutput, `${path}.tfliteOutput`, 0, L.MAX_WORD);
  list(o.inputShapes, `${path}.inputShapes`, L.MAX_OP_INPUTS).forEach((s, k) => shape(s, `${path}.inputShapes[${k}]`));
  const bytes = integer(o.arenaBytes, `${path}.arenaBytes`, 1, facts.arenaBytes);
  elementBytes(bytes, shape(o.outputShape, `${path}.outputShape`), `${path}.arenaBytes`, "output shape");
  const offset = integer(o.arenaOffset, `${path}.arenaOffset`, 0, facts.arenaBytes - bytes);
  if (facts.opOutputs[i] >= 0) equal(offset, facts.opOutputs[i], `${path}.arenaOffset`, "graph section");
  integer(o.macs, `${path}.macs`, 0, Number.MAX_SAFE_INTEGER);
  scale(o.outputScale, `${path}.outputScale`);
  integer(o.outputZeroPoint, `${path}.outputZeroPoint`, -32768, 32767);
  integer(o.weightsBytes, `${path}.weightsBytes`, 0, facts.weightsBytes);
  return o as unknown as OpInfo;
}

export function checkDescription(json: unknown, facts: GraphFacts): ModelInfo {
  const info = record(json, "(top level)", INFO_KEYS);
  if (info.format !== "wisp") bad("format", `must be "wisp", not ${describe(info.format)}`);
  equal(integer(info.formatVersion, "formatVersion", 0, L.MAX_WORD), F.WISP_VERSION, "formatVersion", "header");
  tensor(info.input, "input", facts.inputBytes);
  tensor(info.output, "output", facts.outputBytes);
  const ops = list(info.ops, "ops", facts.opOutputs.length);
  equal(ops.length, facts.opOutputs.length, "ops (its length)", "graph section");
  const parsed = ops.map((o, i) => op(o, i, facts));
  if (parsed.reduce((s, o) => s + o.weightsBytes, 0) > facts.weightsBytes) bad("ops[].weightsBytes", `add up to more than the ${facts.weightsBytes}-byte weights section`);

  const counts = record(info.opCounts, "opCounts", [...new Set(parsed.map((o) => o.op))]);
  for (const [k, n] of Object.entries(counts)) equal(integer(n, `opCounts.${k}`, 1, ops.length), parsed.filter((o) => o.op === k).length, `opCounts.${k}`, "op list");
  equal(integer(info.macs, "macs", 0, Number.MAX_SAFE_INTEGER), parsed.reduce((s, o) => s + o.macs, 0), "macs", "op list");
  equal(integer(info.arenaBytes, "arenaBytes", 1, L.MAX_ARENA_BYTES), facts.arenaBytes, "arenaBytes", "graph section");
  equal(integer(info.weightsBytes, "weightsBytes", 0, L.MAX_FILE_BYTES), facts.weightsBytes, "weightsBytes", "weights section");
  equal(integer(info.wispBytes, "wispBytes", 0, L.MAX_FILE_BYTES), facts.fileBytes, "wispBytes", "file size");
  return info as unknown as ModelInfo;
}
