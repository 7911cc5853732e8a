// Reading and validating a `.wisp` blob. Every offset, size and shape is
// checked here, once, so the kernels can run without bounds checks: a model
// that passes cannot make a kernel read or write outside its buffers.
import * as F from "./format";
import { hostRead, WINDOW_SLACK } from "./weights";
import { fail, failAt } from "./errors";
import { builtinIncluded, validateRegistered } from "./ops/dispatch";

const MAX_DIM: i64 = 65535; // height, width, channels, rows, depth
const MAX_WINDOW: i64 = 4096; // kernel size, stride, dilation, padding
const MAX_ARENA: i64 = 1 << 28;

// The loaded model. Offsets are absolute addresses in linear memory.
export let graphPtr: usize = 0;
export let graphWords: i32 = 0;
export let weightsPtr: usize = 0;
export let weightsBytes: i64 = 0;
export let arenaBytes: i32 = 0;
export let inputOffset: i32 = 0;
export let inputBytes: i32 = 0;
export let outputOffset: i32 = 0;
export let outputBytes: i32 = 0;
export let opCount: i32 = 0;
export let firstOp: usize = 0;

@inline
export function param(op: usize, index: i32): i32 {
  return load<i32>(op + <usize>((F.OP_HEADER_WORDS + index) << 2));
}

// The op record after `op` (its second word is its length in words).
@inline
export function nextOp(op: usize): usize {
  return op + <usize>(load<i32>(op, 4) << 2);
}

@inline
function graphWord(index: i32): i32 {
  return load<i32>(graphPtr + <usize>(index << 2));
}

// Bytes the header and a full section table take: what readContainer needs
// in memory.
export const CONTAINER_PREFIX_BYTES: usize = F.HEADER_BYTES + 4 + F.MAX_SECTIONS * F.SECTION_ENTRY_BYTES;

// Where the container's sections lie, as offsets in the file.
export let graphOffset: usize = 0;
export let graphBytes: usize = 0;
export let weightsOffset: usize = 0;

// Validates the container: header, CRC and section table. `header` holds the
// file's first min(length, CONTAINER_PREFIX_BYTES) bytes; `crc` is the CRC-32
// of bytes [16, length), computed by the caller (resident or streamed).
export function readContainer(header: usize, length: usize, crc: u32): i32 {
  if (length < <usize>(F.HEADER_BYTES + 4)) return fail(F.ERR_BAD_HEADER, "file too short for a .wisp header");
  if (load<u32>(header) != F.WISP_MAGIC) return fail(F.ERR_BAD_HEADER, "not a .wisp file (bad magic)");
  const version = load<u32>(header, 4);
  if (version < <u32>F.WISP_OLDEST_VERSION) return failAt(F.ERR_BAD_HEADER, -1, ".wisp file from an older converter: convert the .tflite again (file version)", version);
  if (version > <u32>F.WISP_VERSION) return failAt(F.ERR_BAD_HEADER, -1, "unsupported .wisp version (newer than this runtime)", version);
  if (<usize>load<u32>(header, 8) != length) return failAt(F.ERR_BAD_HEADER, -1, "file size does not match header", <i64>length);
  if (crc != load<u32>(header, 12)) return fail(F.ERR_BAD_CRC, "CRC32 mismatch: the file is corrupt");

  const sections = load<u32>(header, F.HEADER_BYTES);
  if (sections < 1 || sections > <u32>F.MAX_SECTIONS) return failAt(F.ERR_BAD_SECTION, -1, "bad section count", sections);
  const tableEnd = <u64>F.HEADER_BYTES + 4 + <u64>sections * F.SECTION_ENTRY_BYTES;
  if (tableEnd > <u64>length) return fail(F.ERR_BAD_SECTION, "section table runs past the end of the file");

  let haveGraph = false, haveWeights = false;
  for (let i: u32 = 0; i < sections; i++) {
    const entry = header + F.HEADER_BYTES + 4 + <usize>(i * F.SECTION_ENTRY_BYTES);
    const kind = load<u32>(entry);
    const offset = <u64>load<u32>(entry, 4);
    const size = <u64>load<u32>(entry, 8);
    if (offset < tableEnd || offset + size > <u64>length || (offset & 3) != 0) return failAt(F.ERR_BAD_SECTION, -1, "section out of bounds or misaligned", kind);
    if (kind == F.SECTION_GRAPH) {
      if (haveGraph) return fail(F.ERR_BAD_SECTION, "duplicate graph section");
      haveGraph = true;
      graphOffset = <usize>offset;
      graphBytes = <usize>size;
    } else if (kind == F.SECTION_WEIGHTS) {
      if (haveWeights) return fail(F.ERR_BAD_SECTION, "duplicate weights section");
      haveWeights = true;
      weightsOffset = <usize>offset;
      weightsBytes = <i64>size;
    }
  }
  if (!haveGraph) return fail(F.ERR_BAD_SECTION, "missing graph section");
  if (!haveWeights) return fail(F.ERR_BAD_SECTION, "missing weights section");
  if ((graphBytes & 3) != 0 || graphBytes < <usize>(F.GRAPH_HEADER_WORDS * 4)) return fail(F.ERR_BAD_GRAPH, "graph section has a bad size");
  graphWords = <i32>(graphBytes >> 2);
  return F.ERR_NONE;
}

// Where the graph words and the weights are: graph is an address in linear
// memory; weights is an address (resident) or the weights section's offset
// in the file (streamed). `scratch` (streamed only, else 0) is linear memory
// of STREAM_SCRATCH_BYTES where validation fetches channel records.
export function placeSections(graph: usize, weights: usize, scratch: usize): void {
  graphPtr = graph;
  weightsPtr = weights;
  streamScratch = scratch;
}

export const STREAM_SCRATCH_BYTES: usize = 64 * F.CHANNEL_RECORD_BYTES;
let streamScratch: usize = 0;

// The largest filter and records any op fetches, and the least weights
// window every op can run from, for sizing the streamed-weights window.
export let maxFilterWindow: i32 = 0;
export let maxRecordWindow: i32 = 0;
export let minWeightWindow: i32 = 0;
export let maxInPlaceRow: i32 = 0; // bytes of one output row of an op whose output overlaps its input

// A registered op whose constant blocks take `bytes` of the weights window.
export function needWeightWindow(bytes: i64): void {
  maxFilterWindow = max(maxFilterWindow, <i32>bytes);
  minWeightWindow = max(minWeightWindow, <i32>bytes + WINDOW_SLACK);
}

// Validates the graph header and every op record.
export function readGraph(): i32 {
  maxFilterWindow = 0;
  maxRecordWindow = 0;
  minWeightWindow = 0;
  maxInPlaceRow = 0;
  arenaBytes = graphWord(F.GRAPH_ARENA_BYTES);
  inputOffset = graphWord(F.GRAPH_INPUT_OFFSET);
  inputBytes = graphWord(F.GRAPH_INPUT_BYTES);
  outputOffset = graphWord(F.GRAPH_OUTPUT_OFFSET);
  outputBytes = graphWord(F.GRAPH_OUTPUT_BYTES);
  opCount = graphWord(F.GRAPH_OP_COUNT);
  if (arenaBytes <= 0 || <i64>arenaBytes > MAX_ARENA) return failAt(F.ERR_BAD_GRAPH, -1, "arena size out of range", arenaBytes);
  if (inputBytes <= 0 || !inArena(inputOffset, inputBytes)) return failAt(F.ERR_BAD_GRAPH, -1, "input tensor outside the arena", inputOffset);
  if (outputBytes <= 0 || !inArena(outputOffset, outputBytes)) return failAt(F.ERR_BAD_GRAPH, -1, "output tensor outside the arena", outputOffset);
  if (opCount < 0) return failAt(F.ERR_BAD_GRAPH, -1, "negative op count", opCount);

  let word = F.GRAPH_HEADER_WORDS;
  let onceEnd = -1; // last record of the ONCE block being read
  for (let i = 0; i < opCount; i++) {
    if (word + F.OP_HEADER_WORDS > graphWords) return failAt(F.ERR_BAD_GRAPH, i, "op record runs past the graph", word);
    const op = graphPtr + <usize>(word << 2);
    const words = load<i32>(op, 4);
    if (words < F.OP_HEADER_WORDS || words > graphWords - word) return failAt(F.ERR_BAD_GRAPH, i, "bad op record length", words);
    const opcode = load<i32>(op);
    if (opcode == F.OP_ONCE) {
      // ONCE blocks do not nest, and each ends inside the graph.
      const count = param(op, F.ONCE_COUNT);
      if (words != F.OP_HEADER_WORDS + F.ONCE_WORDS || i <= onceEnd || count < 0 || count >= opCount - i) return failAt(F.ERR_BAD_OP, i, "ONCE record invalid (length, count or nesting)", words);
      onceEnd = i + count;
    } else {
      const status = validateOp(i, op, opcode, words - F.OP_HEADER_WORDS);
      if (status != F.ERR_NONE) return status;
    }
    word += words;
  }
  if (word != graphWords) return failAt(F.ERR_BAD_GRAPH, -1, "trailing words after the last op", graphWords - word);
  firstOp = graphPtr + <usize>(F.GRAPH_HEADER_WORDS << 2);
  return F.ERR_NONE;
}

@inline
export function inArena(offset: i64, bytes: i64): bool {
  return offset >= 0 && bytes >= 0 && offset + bytes <= <i64>arenaBytes;
}

@inline
export function inWeights(offset: i64, bytes: i64): bool {
  return offset >= 0 && bytes >= 0 && offset + bytes <= weightsBytes;
}

@inline
function dimOk(v: i32): bool {
  return v >= 1 && <i64>v <= MAX_DIM;
}

@inline
function windowOk(v: i32, minimum: i32): bool {
  return v >= minimum && <i64>v <= MAX_WINDOW;
}

@inline
function zeroPointOk(v: i32): bool {
  return v >= -128 && v <= 127;
}

@inline
function rangeOk(lo: i32, hi: i32): bool {
  return lo >= -128 && lo <= hi && hi <= 127;
}

@inline
function multiplierOk(multiplier: i32, shift: i32): bool {
  return multiplier >= 0 && shift >= -31 && shift <= 30;
}

// Checks one op's parameters against its buffers. `n` is its parameter count.
function validateOp(index: i32, op: usize, opcode: i32, n: i32): i32 {
  if (opcode < F.FIRST_REGISTERED_OPCODE && !builtinIncluded(opcode)) return failAt(F.ERR_BAD_OP, index, "op not built into this module", opcode);
  switch (opcode) {
    // The guards are compile-time constants, so a per-model module drops the validators it lacks.
    case F.OP_CONV:
    case F.OP_DEPTHWISE:
      if (builtinIncluded(F.OP_CONV) || builtinIncluded(F.OP_DEPTHWISE)) return validateConv(index, op, opcode, n);
      break;
    case F.OP_DENSE:
      if (builtinIncluded(F.OP_DENSE)) return validateDense(index, op, n);
      break;
    case F.OP_AVG_POOL:
    case F.OP_MAX_POOL:
      if (builtinIncluded(F.OP_AVG_POOL) || builtinIncluded(F.OP_MAX_POOL)) return validatePool(index, op, n);
      break;
    case F.OP_SOFTMAX: {
      if (!builtinIncluded(F.OP_SOFTMAX)) break;
      if (n != F.SOFTMAX_WORDS) return failAt(F.ERR_BAD_OP, index, "SOFTMAX has the wrong parameter count", n);
      const rows = param(op, F.SOFTMAX_ROWS), depth = param(op, F.SOFTMAX_DEPTH);
      if (!dimOk(rows) || !dimOk(depth)) return failAt(F.ERR_BAD_OP, index, "SOFTMAX dimension out of range", 0);
      const bytes = <i64>rows * depth;
      if (!inArena(param(op, F.SOFTMAX_IN), bytes) || !inArena(param(op, F.SOFTMAX_OUT), bytes)) return failAt(F.ERR_BAD_OP, index, "SOFTMAX buffer outside the arena", bytes);
      const shift = param(op, F.SOFTMAX_LEFT_SHIFT);
      if (param(op, F.SOFTMAX_MULT) < 0 || shift < 0 || shift > 31 || param(op, F.SOFTMAX_DIFF_MIN) > 0) return failAt(F.ERR_BAD_OP, index, "SOFTMAX scaling out of range", shift);
      return F.ERR_NONE;
    }
    case F.OP_REQUANTIZE: {
      if (!builtinIncluded(F.OP_REQUANTIZE)) break;
      if (n != F.REQUANT_WORDS) return failAt(F.ERR_BAD_OP, index, "QUANTIZE has the wrong parameter count", n);
      const count = param(op, F.REQUANT_COUNT);
      if (count < 1 || !inArena(param(op, F.REQUANT_IN), count) || !inArena(param(op, F.REQUANT_OUT), count)) return failAt(F.ERR_BAD_OP, index, "QUANTIZE buffer outside the arena", count);
      if (!zeroPointOk(param(op, F.REQUANT_IN_ZP)) || !zeroPointOk(param(op, F.REQUANT_OUT_ZP)) || !multiplierOk(param(op, F.REQUANT_MULT), param(op, F.REQUANT_SHIFT))) return failAt(F.ERR_BAD_OP, index, "QUANTIZE parameters out of range", 0);
      return F.ERR_NONE;
    }
  }
  return validateRegistered(index, op, opcode, n);
}

@inline
function overlaps(a: i64, aBytes: i64, b: i64, bBytes: i64): bool {
  return a < b + bBytes && b < a + aBytes;
}

// Per-channel records: multipliers and shifts the requantization accepts.
// Streamed models are checked a chunk of records at a time. An op whose
// output overlaps its input (the planner lets kernels write behind their
// reads) and that runs in several blocks goes row by row through a row
// buffer of `rowBytes` (the interpreter's runConv).
function validateChannelRecords(index: i32, records: i32, channels: i32, filterWindow: i64, inPlace: bool, rowBytes: i32): i32 {
  if ((records & 3) != 0 || !inWeights(records, <i64>channels * F.CHANNEL_RECORD_BYTES)) return failAt(F.ERR_BAD_OP, index, "channel records outside the weights", records);
  maxRecordWindow = max(maxRecordWindow, channels * F.CHANNEL_RECORD_BYTES);
  maxFilterWindow = max(maxFilterWindow, <i32>filterWindow);
  minWeightWindow = max(minWeightWindow, <i32>(filterWindow / channels) + F.CHANNEL_RECORD_BYTES + WINDOW_SLACK);
  if (inPlace) maxInPlaceRow = max(maxInPlaceRow, rowBytes);
  const chunk = <i32>(STREAM_SCRATCH_BYTES / F.CHANNEL_RECORD_BYTES);
  for (let first = 0; first < channels; first += chunk) {
    const count = min(chunk, channels - first);
    let base = weightsPtr + <usize>(records + first * F.CHANNEL_RECORD_BYTES);
    if (streamScratch != 0) {
      hostRead(streamScratch, <u32>base, <u32>(count * F.CHANNEL_RECORD_BYTES));
      base = streamScratch;
    }
    for (let c = 0; c < count; c++) {
      const record = base + <usize>(c * F.CHANNEL_RECORD_BYTES);
      if (!multiplierOk(load<i32>(record, F.CHANNEL_MULT), load<i32>(record, F.CHANNEL_SHIFT))) return failAt(F.ERR_BAD_OP, index, "channel multiplier out of range", first + c);
    }
  }
  return F.ERR_NONE;
}

function validateConv(index: i32, op: usize, opcode: i32, n: i32): i32 {
  if (n != F.CONV_WORDS) return failAt(F.ERR_BAD_OP, index, "conv has the wrong parameter count", n);
  const inH = param(op, F.CONV_IN_H), inW = param(op, F.CONV_IN_W), inC = param(op, F.CONV_IN_C);
  const outH = param(op, F.CONV_OUT_H), outW = param(op, F.CONV_OUT_W), outC = param(op, F.CONV_OUT_C);
  const kH = param(op, F.CONV_K_H), kW = param(op, F.CONV_K_W);
  if (!dimOk(inH) || !dimOk(inW) || !dimOk(inC) || !dimOk(outH) || !dimOk(outW) || !dimOk(outC)) return failAt(F.ERR_BAD_OP, index, "conv dimension out of range", 0);
  if (!windowOk(kH, 1) || !windowOk(kW, 1) || !windowOk(param(op, F.CONV_STRIDE_H), 1) || !windowOk(param(op, F.CONV_STRIDE_W), 1)
    || !windowOk(param(op, F.CONV_DIL_H), 1) || !windowOk(param(op, F.CONV_DIL_W), 1)
    || !windowOk(param(op, F.CONV_PAD_TOP), 0) || !windowOk(param(op, F.CONV_PAD_LEFT), 0)) return failAt(F.ERR_BAD_OP, index, "conv window parameter out of range", 0);
  if (!inArena(param(op, F.CONV_IN), <i64>inH * inW * inC)) return failAt(F.ERR_BAD_OP, index, "conv input outside the arena", param(op, F.CONV_IN));
  if (!inArena(param(op, F.CONV_OUT), <i64>outH * outW * outC)) return failAt(F.ERR_BAD_OP, index, "conv output outside the arena", param(op, F.CONV_OUT));
  if (!zeroPointOk(param(op, F.CONV_IN_ZP)) || !zeroPointOk(param(op, F.CONV_OUT_ZP))) return failAt(F.ERR_BAD_OP, index, "conv zero point out of range", 0);
  if (!rangeOk(param(op, F.CONV_ACT_MIN), param(op, F.CONV_ACT_MAX))) return failAt(F.ERR_BAD_OP, index, "conv activation range invalid", 0);
  let filterBytes: i64 = <i64>outC * kH * kW * inC;
  if (opcode == F.OP_DEPTHWISE) {
    if (outC % inC != 0) return failAt(F.ERR_BAD_OP, index, "depthwise output channels are not a multiple of input channels", outC);
    filterBytes = <i64>outC * kH * kW;
  }
  if (!inWeights(param(op, F.CONV_WEIGHTS), filterBytes)) return failAt(F.ERR_BAD_OP, index, "conv filter outside the weights", param(op, F.CONV_WEIGHTS));
  const inPlace = overlaps(param(op, F.CONV_IN), <i64>inH * inW * inC, param(op, F.CONV_OUT), <i64>outH * outW * outC);
  return validateChannelRecords(index, param(op, F.CONV_CHANNELS), outC, filterBytes, inPlace, outW * outC);
}

function validateDense(index: i32, op: usize, n: i32): i32 {
  if (n != F.DENSE_WORDS) return failAt(F.ERR_BAD_OP, index, "FULLY_CONNECTED has the wrong parameter count", n);
  const rows = param(op, F.DENSE_ROWS), depth = param(op, F.DENSE_DEPTH), outC = param(op, F.DENSE_OUT_C);
  if (!dimOk(rows) || !dimOk(depth) || !dimOk(outC)) return failAt(F.ERR_BAD_OP, index, "FULLY_CONNECTED dimension out of range", 0);
  if (!inArena(param(op, F.DENSE_IN), <i64>rows * depth) || !inArena(param(op, F.DENSE_OUT), <i64>rows * outC)) return failAt(F.ERR_BAD_OP, index, "FULLY_CONNECTED buffer outside the arena", 0);
  if (!zeroPointOk(param(op, F.DENSE_IN_ZP)) || !zeroPointOk(param(op, F.DENSE_OUT_ZP)) || !rangeOk(param(op, F.DENSE_ACT_MIN), param(op, F.DENSE_ACT_MAX))) return failAt(F.ERR_BAD_OP, index, "FULLY_CONNECTED zero point or output range invalid", 0);
  if (!inWeights(param(op, F.DENSE_WEIGHTS), <i64>outC * depth)) return failAt(F.ERR_BAD_OP, index, "FULLY_CONNECTED weights outside the weights section", param(op, F.DENSE_WEIGHTS));
  const inPlace = overlaps(param(op, F.DENSE_IN), <i64>rows * depth, param(op, F.DENSE_OUT), <i64>rows * outC);
  return validateChannelRecords(index, param(op, F.DENSE_CHANNELS), outC, <i64>outC * depth, inPlace, outC);
}

function validatePool(index: i32, op: usize, n: i32): i32 {
  if (n != F.POOL_WORDS) return failAt(F.ERR_BAD_OP, index, "pool has the wrong parameter count", n);
  const inH = param(op, F.POOL_IN_H), inW = param(op, F.POOL_IN_W), c = param(op, F.POOL_C);
  const outH = param(op, F.POOL_OUT_H), outW = param(op, F.POOL_OUT_W);
  const kH = param(op, F.POOL_K_H), kW = param(op, F.POOL_K_W);
  const strideH = param(op, F.POOL_STRIDE_H), strideW = param(op, F.POOL_STRIDE_W);
  const padTop = param(op, F.POOL_PAD_TOP), padLeft = param(op, F.POOL_PAD_LEFT);
  if (!dimOk(inH) || !dimOk(inW) || !dimOk(c) || !dimOk(outH) || !dimOk(outW)) return failAt(F.ERR_BAD_OP, index, "pool dimension out of range", 0);
  if (!windowOk(kH, 1) || !windowOk(kW, 1) || !windowOk(strideH, 1) || !windowOk(strideW, 1) || !windowOk(padTop, 0) || !windowOk(padLeft, 0)) return failAt(F.ERR_BAD_OP, index, "pool window parameter out of range", 0);
  // Every window must overlap the input, or an average would divide by zero.
  if (padTop >= kH || padLeft >= kW || (outH - 1) * strideH - padTop >= inH || (outW - 1) * strideW - padLeft >= inW) return failAt(F.ERR_BAD_OP, index, "pool window lies entirely in the padding", 0);
  if (!inArena(param(op, F.POOL_IN), <i64>inH * inW * c) || !inArena(param(op, F.POOL_OUT), <i64>outH * outW * c)) return failAt(F.ERR_BAD_OP, index, "pool buffer outside the arena", 0);
  if (!rangeOk(param(op, F.POOL_ACT_MIN), param(op, F.POOL_ACT_MAX))) return failAt(F.ERR_BAD_OP, index, "pool activation range invalid", 0);
  return F.ERR_NONE;
}
