// The exports of build/wisp.wasm (declared, with their signatures, in
// abi.json, from which the hosts' copies are generated) and where each
// region of linear memory goes. Every host (Node, wasm2c, wasm3) drives the
// module through these functions:
//   1. ptr = wisp_model_buffer(n)   room for n model bytes; 0 if memory is short
//   2. copy the .wisp bytes to ptr, then wisp_load(ptr, n)   0 or an error code
//      (or, with the model left in the host's flash, wisp_load_streamed(n, w):
//      the module reads it through the import env.wisp_read(dst, offset, n)
//      into a weights window of w bytes; 0 sizes it for the largest op)
//   3. write the input at wisp_input_ptr(), wisp_invoke(), read wisp_output_ptr()
//   (wisp_invoke_op(i) runs a single op, for per-layer debugging;
//   wisp_reset() starts a stateful model's variables afresh)
// On an error, wisp_error_ptr()/wisp_error_length() hold an ASCII message.
import * as F from "./format";
import { alignUp, arenaBaseAfter, ensureMemory, modelBase, reserveFrontEnd } from "./arena";
import * as A from "./frontend";
import { lfbeFeatures, lfbeFrame, lfbeInit, lfbeRegionBytes, lfbeSamples } from "./dsp/lfbe";
import { MFCC_FEATURES, MFCC_REGION_BYTES, MFCC_SAMPLES, mfccClip, mfccInit } from "./dsp/mfcc";
import {
  streamBins, streamCopyWindow, streamDetect, streamFrames, streamHopPtr, streamInit, streamPushHop, streamRegionBytes, streamSetOutputQuantization, streamWindowBytes,
} from "./dsp/stream";
import { clearError, errorCode, errorMessageLength, errorMessagePtr, fail, failAt, failShape } from "./errors";
import {
  arenaBytes, CONTAINER_PREFIX_BYTES, graphBytes, graphOffset, inputBytes, inputOffset, maxFilterWindow, maxInPlaceRow, minWeightWindow, maxRecordWindow, opCount,
  outputBytes, outputOffset, placeSections, readContainer, readGraph, STREAM_SCRATCH_BYTES, weightsOffset,
} from "./model";
import { CRC32_INITIAL, crc32Final, crc32Update } from "./crc32";
import { hostRead, useResidentWeights, useStreamedWeights, WINDOW_SLACK } from "./weights";
import { restartState, runGraph, runOps } from "./interpreter";
import { reserveScratch } from "./kernels/simd";
import { fillPrepared, placePrepared } from "./kernels/prepared";
import { askHostKernels } from "./kernels/host";
import { incrementalActive, incrementalCacheBytes, incrementalFirstInputRow, incrementalInputSteps, incrementalOps, planIncremental, runIncremental, stopIncremental, useIncrementalCache } from "./incremental";

let loaded = false;
let arenaBase: usize = 0;
let memoryEnd: usize = 0; // end of everything the loaded model uses

export function wisp_model_buffer(bytes: u32): usize {
  const base = modelBase();
  return ensureMemory(<u64>base + <u64>bytes) ? base : 0;
}

// Either load, whether it succeeds or not, ends the front ends placed after
// the previous model (its memory now belongs to the new one). They are
// dropped last, which also keeps the model's globals first in the module,
// where wasm2c's instance struct reaches them with short offsets.
export function wisp_load(ptr: usize, length: usize): i32 {
  askHostKernels();
  const status = loadResident(ptr, length);
  dropFrontEndsAfterModel();
  return status;
}

export function wisp_load_streamed(length: usize, windowBytes: u32): i32 {
  askHostKernels();
  const status = loadStreamed(length, windowBytes);
  dropFrontEndsAfterModel();
  return status;
}

// Resident mode: the whole .wisp is in linear memory at ptr.
function loadResident(ptr: usize, length: usize): i32 {
  loaded = false;
  clearError();
  if (<u64>ptr + <u64>length > <u64>memory.size() << 16) return fail(F.ERR_BAD_HEADER, "model bytes lie outside linear memory");
  const header = <usize>F.HEADER_BYTES;
  const crc = length < header ? 0 : crc32Final(crc32Update(CRC32_INITIAL, ptr + header, length - header));
  let status = readContainer(ptr, length, crc);
  if (status != F.ERR_NONE) return status;
  placeSections(ptr + graphOffset, ptr + weightsOffset, 0);
  useResidentWeights();
  status = readGraph();
  if (status != F.ERR_NONE) return status;
  return placeArena(arenaBaseAfter(ptr, length), 0);
}

// Streamed mode: the .wisp (`length` bytes) stays with the host, which serves
// reads through env.wisp_read. Only the graph words, the arena and a weights
// window of `windowBytes` live in linear memory; the whole file is still
// validated. Window 0 holds the largest op whole (fastest); a smaller one
// makes ops fetch their channels in blocks, and must hold one channel.
const CRC_CHUNK: usize = 256;

function loadStreamed(length: usize, windowBytes: u32): i32 {
  loaded = false;
  clearError();
  const base = modelBase();
  if (!ensureMemory(<u64>base + <u64>CONTAINER_PREFIX_BYTES + <u64>CRC_CHUNK)) return fail(F.ERR_OUT_OF_MEMORY, "not enough memory to read the model");
  hostRead(base, 0, <u32>min(length, CONTAINER_PREFIX_BYTES));
  let crc = CRC32_INITIAL;
  const chunk = base + CONTAINER_PREFIX_BYTES;
  for (let at = <usize>F.HEADER_BYTES; at < length; at += CRC_CHUNK) {
    const n = min(CRC_CHUNK, length - at);
    hostRead(chunk, <u32>at, <u32>n);
    crc = crc32Update(crc, chunk, n);
  }
  let status = readContainer(base, length, crc32Final(crc));
  if (status != F.ERR_NONE) return status;
  const scratch = alignUp(base + graphBytes, 16);
  if (!ensureMemory(<u64>scratch + <u64>STREAM_SCRATCH_BYTES)) return fail(F.ERR_OUT_OF_MEMORY, "not enough memory for the graph");
  hostRead(base, <u32>graphOffset, <u32>graphBytes);
  placeSections(base, weightsOffset, scratch);
  status = readGraph();
  if (status != F.ERR_NONE) return status;
  const whole = <u32>(alignUp(<usize>maxFilterWindow, 16) + <usize>maxRecordWindow + <usize>WINDOW_SLACK);
  if (windowBytes == 0 || windowBytes > whole) windowBytes = whole;
  if (windowBytes < <u32>minWeightWindow) return failAt(F.ERR_OUT_OF_MEMORY, -1, "weights window smaller than one channel's filter and record", minWeightWindow);
  // The window follows the arena; then, when the window cannot hold an
  // in-place op whole, its row buffer.
  const window = alignUp(scratch + <usize>arenaBytes, 16);
  const rowBuffer = alignUp(window + <usize>windowBytes, 16);
  const rows = windowBytes < whole ? <usize>maxInPlaceRow : 0;
  useStreamedWeights(window, <i32>windowBytes, rowBuffer);
  // Loading touched the CRC chunk and the validation scratch too: a device
  // must give them room even when the model itself needs less.
  return placeArena(scratch, max(rowBuffer + rows, max(chunk + CRC_CHUNK, scratch + STREAM_SCRATCH_BYTES)));
}

// Sizes the arena at `base` (and anything the model needs up to `end`).
function placeArena(base: usize, end: usize): i32 {
  stopIncremental();
  arenaBase = base;
  memoryEnd = max(end, arenaBase + <usize>arenaBytes);
  if (ASC_FEATURE_SIMD) memoryEnd = placePrepared(reserveScratch(memoryEnd)); // the SIMD kernels' (kernels/simd.ts, prepared.ts)
  if (!ensureMemory(<u64>memoryEnd)) return fail(F.ERR_OUT_OF_MEMORY, "not enough memory for the arena");
  if (ASC_FEATURE_SIMD) fillPrepared();
  memory.fill(arenaBase, 0, <usize>arenaBytes);
  restartState();
  loaded = true;
  return F.ERR_NONE;
}

// Starts the model's state afresh, as a new load would: the next invoke
// fills the resource variables and runs the CALL_ONCE init graphs again.
export function wisp_reset(): i32 {
  if (!loaded) return fail(F.ERR_NOT_LOADED, "no model is loaded");
  restartState();
  return F.ERR_NONE;
}

// End of the linear memory the loaded model uses (static data, front ends,
// model or graph, arena, weights window): what a device must provide.
export function wisp_memory_used(): usize {
  return loaded ? memoryEnd : 0;
}

export function wisp_invoke(): i32 {
  if (!loaded) return fail(F.ERR_NOT_LOADED, "no model is loaded");
  runGraph(arenaBase);
  return F.ERR_NONE;
}

// Runs op `index` alone, so a host can read each intermediate tensor (the
// per-layer comparison with TFLM's debug dumps). Ops must run in order.
export function wisp_invoke_op(index: i32): i32 {
  if (!loaded) return fail(F.ERR_NOT_LOADED, "no model is loaded");
  if (index < 0 || index >= opCount) return fail(F.ERR_KERNEL, "op index out of range");
  runOps(arenaBase, index, index + 1);
  return F.ERR_NONE;
}

export function wisp_arena_ptr(): usize {
  return loaded ? arenaBase : 0;
}

export function wisp_input_ptr(): usize {
  return loaded ? arenaBase + <usize>inputOffset : 0;
}

export function wisp_input_bytes(): i32 {
  return loaded ? inputBytes : 0;
}

export function wisp_output_ptr(): usize {
  return loaded ? arenaBase + <usize>outputOffset : 0;
}

export function wisp_output_bytes(): i32 {
  return loaded ? outputBytes : 0;
}

export function wisp_arena_bytes(): i32 {
  return loaded ? arenaBytes : 0;
}

export function wisp_error_ptr(): usize {
  return errorMessagePtr();
}

export function wisp_error_length(): i32 {
  return errorMessageLength();
}

// The audio front ends. Each reserves its region when it initializes:
// before a model loads, ahead of the model (the layout firmware uses, kept
// across loads); once a model is loaded, after everything it uses, until the
// next load.
let lfbeRegion: usize = 0;
let mfccRegion: usize = 0;

// A front end's region; 0, with the error set, when memory is short.
function frontEndRegion(bytes: usize): usize {
  let region: usize = 0;
  if (!loaded) {
    region = reserveFrontEnd(bytes);
  } else {
    const after = alignUp(memoryEnd, 16);
    if (ensureMemory(<u64>after + <u64>bytes)) {
      region = after;
      memoryEnd = after + bytes;
    }
  }
  if (region == 0) fail(F.ERR_OUT_OF_MEMORY, "not enough memory for the front end");
  return region;
}

// Forgets the front ends placed after a model, where the next one will go.
function dropFrontEndsAfterModel(): void {
  if (lfbeRegion >= modelBase()) lfbeRegion = 0;
  if (mfccRegion >= modelBase()) mfccRegion = 0;
}

// An address inside a front end's region, or 0 when it is not initialized.
@inline
function inRegion(region: usize, address: usize): usize {
  return region == 0 ? 0 : address;
}

// The streaming-wakeword log-Mel front end and its stream: windows of
// `frames` frames of `bins` features, the model input's shape (sww: 30 x 40).
// Restarts the stream (and stops incremental inference, whose cache belongs
// to the old one). Returns 0 or an error code.
export function wisp_lfbe_init(scale: f32, zeroPoint: i32, frames: i32, bins: i32): i32 {
  if (frames < 1 || frames > A.MAX_STREAM_FRAMES || bins < 1 || bins > A.MAX_LFBE_BINS) {
    return failShape(F.ERR_BAD_ARGUMENT, "window (frames x bins) out of range", frames, bins);
  }
  const region = frontEndRegion(lfbeRegionBytes(bins) + streamRegionBytes(frames, bins));
  if (region == 0) return errorCode();
  lfbeRegion = region;
  stopIncremental();
  lfbeInit(region, scale, zeroPoint, bins);
  streamInit(region + lfbeRegionBytes(bins), frames, bins);
  return F.ERR_NONE;
}

// Where the host writes 1025 int16 samples (the one before the frame, then
// the frame), and where its int8 features appear after wisp_lfbe_frame().
export function wisp_lfbe_samples_ptr(): usize {
  return inRegion(lfbeRegion, lfbeSamples());
}

export function wisp_lfbe_features_ptr(): usize {
  return inRegion(lfbeRegion, lfbeFeatures());
}

export function wisp_lfbe_frame(): i32 {
  if (lfbeRegion == 0) return fail(F.ERR_NOT_LOADED, "the front end is not initialized");
  lfbeFrame(lfbeSamples(), lfbeFeatures());
  return F.ERR_NONE;
}

// The keyword-spotting MFCC front end, for whole 1-s clips.
export function wisp_mfcc_init(scale: f32, zeroPoint: i32): i32 {
  const region = frontEndRegion(MFCC_REGION_BYTES);
  if (region == 0) return errorCode();
  mfccRegion = region;
  mfccInit(region, scale, zeroPoint);
  return F.ERR_NONE;
}

// Where the host writes a 16000-sample int16 clip, and where the 49 x 10
// int8 features appear after wisp_mfcc_clip().
export function wisp_mfcc_samples_ptr(): usize {
  return inRegion(mfccRegion, mfccRegion + MFCC_SAMPLES);
}

export function wisp_mfcc_features_ptr(): usize {
  return inRegion(mfccRegion, mfccRegion + MFCC_FEATURES);
}

export function wisp_mfcc_clip(): i32 {
  if (mfccRegion == 0) return fail(F.ERR_NOT_LOADED, "the front end is not initialized");
  mfccClip(mfccRegion + MFCC_SAMPLES, mfccRegion + MFCC_FEATURES);
  return F.ERR_NONE;
}

// Streaming wakeword: after wisp_lfbe_init and wisp_load of the model, the
// host writes 512 samples at wisp_stream_hop_ptr() and calls
// wisp_stream_push() once per 32 ms hop. It returns 0 while the first window
// fills, 1 when the model ran on a new window, 2 when that window also fired
// a debounced detection, or -code on an error. The window's scores are at
// wisp_output_ptr().
export function wisp_stream_hop_ptr(): usize {
  return lfbeRegion == 0 ? 0 : streamHopPtr();
}

export function wisp_stream_push(outputScale: f32, outputZeroPoint: i32): i32 {
  if (lfbeRegion == 0) return -fail(F.ERR_NOT_LOADED, "the front end is not initialized");
  if (!loaded) return -fail(F.ERR_NOT_LOADED, "no model is loaded");
  if (inputBytes != streamWindowBytes()) return -failShape(F.ERR_BAD_GRAPH, "model input is not one window (frames x bins)", streamFrames(), streamBins());
  streamSetOutputQuantization(outputScale, outputZeroPoint);
  if (!streamPushHop(lfbeFeatures())) return 0;
  // An incremental hop copies only the frames its first op reads.
  const incremental = incrementalActive();
  streamCopyWindow(arenaBase + <usize>inputOffset, incremental ? incrementalFirstInputRow() : 0);
  if (incremental) runIncremental(arenaBase);
  else runGraph(arenaBase);
  return streamDetect(<i32>load<i8>(arenaBase + <usize>outputOffset)) ? 2 : 1;
}

// Incremental streaming, after wisp_lfbe_init and loading the model: when the
// model is causal along time (sww is), its sliding ops keep their outputs in
// a cache past the arena and each hop computes one new row of each, byte-
// identical to a full run. Returns the number of cached ops, 0 when the model
// is not causal that way (hops then re-run it whole), or -code.
export function wisp_stream_incremental(): i32 {
  if (lfbeRegion == 0) return -fail(F.ERR_NOT_LOADED, "the front end is not initialized");
  if (!loaded) return -fail(F.ERR_NOT_LOADED, "no model is loaded");
  if (incrementalActive()) return incrementalOps();
  const ops = planIncremental();
  if (ops == 0 || incrementalInputSteps() != streamFrames()) {
    stopIncremental();
    return 0;
  }
  const base = alignUp(memoryEnd, 16);
  const end = <u64>base + <u64>incrementalCacheBytes();
  if (!ensureMemory(end)) return -fail(F.ERR_OUT_OF_MEMORY, "not enough memory for the incremental cache");
  memory.fill(base, 0, <usize>incrementalCacheBytes());
  useIncrementalCache(base);
  memoryEnd = <usize>end;
  return ops;
}
