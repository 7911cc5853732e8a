// Writes the .wisp container: header, section table, graph words, weights,
// and a JSON description for hosts (shapes, quantization, per-op figures).
import * as F from "../../assembly/format";
import { crc32 } from "../crc32";
import { Graph, storageOf } from "./graph";
import { checkArena, checkFile, checkParams, checkWeights } from "./limits";
import { Plan } from "./plan";

export interface TensorInfo {
  shape: number[];
  bytes: number;
  scale: number;
  zeroPoint: number;
  float: boolean; // the original model had a float32 edge here
  type: "int8" | "int16" | "int32" | "uint8"; // element type of the raw tensor
}

// A resource variable's place in the arena (for inspect).
export interface VariableInfo {
  name: string;
  arenaOffset: number;
  arenaBytes: number;
  fill: number; // byte it starts as after a load or reset, before any init graph runs
}

export interface OpInfo {
  index: number;
  op: string;
  tfliteIndex: number;
  tfliteOutput: number; // tensor index of the output in the .tflite graph
  inputShapes: number[][];
  outputShape: number[];
  macs: number;
  arenaOffset: number; // output buffer
  arenaBytes: number;
  outputScale: number;
  outputZeroPoint: number;
  weightsBytes: number; // of the weights section: its blocks but those an earlier op stores (shared tensors, tables)
}

export interface ModelInfo {
  format: "wisp";
  formatVersion: number;
  input: TensorInfo;
  output: TensorInfo;
  ops: OpInfo[];
  variables: VariableInfo[];
  opCounts: Record<string, number>;
  macs: number;
  arenaBytes: number;
  weightsBytes: number;
  wispBytes: number;
}

// Not `(n + 3) & ~3`: that wraps past 2^31, and the limits are checked after.
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

// Sizes and offsets are checked against the format's and the module's limits
// (./limits.ts) before anything is allocated or written as a 32-bit word.
export function emitWisp(graph: Graph, plan: Plan): { bytes: Uint8Array; info: ModelInfo } {
  checkArena(graph, plan);
  // Weights: every block 4-aligned, in op order; a block several ops hold
  // (the same array: identical LUT tables) is stored once.
  const blockOffsets: number[][] = [];
  const placed = new Map<Uint8Array, number>();
  const newBytes: number[] = []; // per op, the bytes of the blocks it stores first
  let weightsBytes = 0;
  for (const op of graph.ops) {
    newBytes.push(0);
    blockOffsets.push(op.weights.map((b) => {
      const shared = placed.get(b);
      if (shared !== undefined) return shared;
      const at = weightsBytes;
      placed.set(b, at);
      newBytes[newBytes.length - 1] += b.length;
      weightsBytes = align4(weightsBytes + b.length);
      checkWeights(graph, op, weightsBytes);
      return at;
    }));
  }
  const weights = new Uint8Array(weightsBytes);
  graph.ops.forEach((op, i) => op.weights.forEach((b, k) => weights.set(b, blockOffsets[i][k])));

  const input = graph.values[graph.input];
  const output = graph.values[graph.output];
  const words: number[] = [plan.arenaBytes, plan.offsets[storageOf(graph, input.id)], input.bytes, plan.offsets[storageOf(graph, output.id)], output.bytes, graph.ops.length];
  graph.ops.forEach((op, i) => {
    const params = op.encode({ arena: (v) => plan.offsets[storageOf(graph, v)], weights: (k) => blockOffsets[i][k] });
    checkParams(graph, op, params);
    words.push(op.opcode, F.OP_HEADER_WORDS + params.length, ...params);
  });
  checkFile(words.length * 4 + weightsBytes);
  const graphBytes = new Uint8Array(words.length * 4);
  const gv = new DataView(graphBytes.buffer);
  words.forEach((w, i) => gv.setInt32(4 * i, w, true));

  const tensorInfo = (v: typeof input, float: boolean): TensorInfo => ({ shape: v.shape, bytes: v.bytes, scale: v.quant.scale, zeroPoint: v.quant.zeroPoint, float,
    type: v.type === 7 ? "int16" : v.type === 2 ? "int32" : v.type === 3 ? "uint8" : "int8" }); // TFLite TensorType codes
  // A ONCE record (CALL_ONCE, and the variables' fills) writes no tensor.
  const noOutput = { shape: [], bytes: 0, quant: { scale: 1, zeroPoint: 0 } };
  const ops: OpInfo[] = graph.ops.map((op, i) => {
    const out = op.output < 0 ? noOutput : graph.values[op.output];
    return {
    index: i,
    op: op.name,
    tfliteIndex: op.tfliteIndex,
    tfliteOutput: op.tfliteOutput,
    inputShapes: op.inputs.map((v) => graph.values[v].shape),
    outputShape: out.shape,
    macs: op.macs,
    arenaOffset: op.output < 0 ? 0 : plan.offsets[storageOf(graph, op.output)],
    arenaBytes: out.bytes,
    outputScale: out.quant.scale,
    outputZeroPoint: out.quant.zeroPoint,
    weightsBytes: newBytes[i],
    };
  });
  const variables: VariableInfo[] = (graph.variables ?? []).map((v) => ({ name: v.name, arenaOffset: plan.offsets[v.value], arenaBytes: graph.values[v.value].bytes, fill: v.fill }));
  const opCounts: Record<string, number> = {};
  for (const op of graph.ops) opCounts[op.name] = (opCounts[op.name] ?? 0) + 1;
  const info: ModelInfo = {
    format: "wisp",
    formatVersion: F.WISP_VERSION,
    input: tensorInfo(input, graph.floatInput),
    output: tensorInfo(output, graph.floatOutput),
    ops,
    variables,
    opCounts,
    macs: ops.reduce((s, o) => s + o.macs, 0),
    arenaBytes: plan.arenaBytes,
    weightsBytes,
    wispBytes: 0,
  };

  const sectionCount = 3;
  const tableEnd = F.HEADER_BYTES + 4 + sectionCount * F.SECTION_ENTRY_BYTES;
  const graphAt = align4(tableEnd);
  const weightsAt = align4(graphAt + graphBytes.length);
  const metaAt = align4(weightsAt + weights.length);
  // The JSON records the file size, so size it with a placeholder first.
  let meta = new TextEncoder().encode(JSON.stringify(info));
  for (;;) {
    info.wispBytes = metaAt + meta.length;
    const next = new TextEncoder().encode(JSON.stringify(info));
    if (next.length === meta.length) { meta = next; break; }
    meta = next;
  }
  const total = metaAt + meta.length;
  checkFile(total);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, F.WISP_MAGIC, true);
  v.setUint32(4, F.WISP_VERSION, true);
  v.setUint32(8, total, true);
  v.setUint32(F.HEADER_BYTES, sectionCount, true);
  const sections: [number, number, Uint8Array][] = [
    [F.SECTION_GRAPH, graphAt, graphBytes],
    [F.SECTION_WEIGHTS, weightsAt, weights],
    [F.SECTION_META, metaAt, meta],
  ];
  sections.forEach(([kind, at, data], i) => {
    const entry = F.HEADER_BYTES + 4 + i * F.SECTION_ENTRY_BYTES;
    v.setUint32(entry, kind, true);
    v.setUint32(entry + 4, at, true);
    v.setUint32(entry + 8, data.length, true);
    out.set(data, at);
  });
  v.setUint32(12, crc32(out.subarray(F.HEADER_BYTES)), true);
  return { bytes: out, info };
}
