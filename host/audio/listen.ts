// Audio in, keyword out: runs a loaded streaming-wakeword model over a WAV
// file the way a device would, hop by hop, with the log-Mel front end, the
// ring of frames and the debounced detector all inside the model's own Wisp
// instance.
import * as A from "../../assembly/frontend";
import * as F from "../../assembly/format";
import { TensorInfo } from "../convert";
import { fail, WispError } from "../errors";
import { Model } from "../node/api";
import { lastError } from "../node/runtime";
import { Wav } from "./wav";

export interface Detection {
  window: number;
  time_s: number; // end of the window that fired, in seconds of audio
  probability: number;
}

export interface ListenOptions {
  // Cache the causal model's sliding activations and compute one new row per
  // hop (default); false re-runs the whole model on every window.
  incremental?: boolean;
}

export interface ListenResult {
  windows: number;
  cachedOps: number; // ops computed incrementally (0: full re-runs)
  probabilities: number[]; // wakeword probability per window (output 0, dequantized)
  scores: Int8Array[]; // raw int8 output per window
  detections: Detection[];
}

// The front end's window for a model input [1, frames, ...]: `frames` rows
// of `bins` features (sww: [1, 30, 1, 40], 30 frames of 40 bins).
export function streamWindow(input: TensorInfo): { frames: number; bins: number } {
  const [batch, frames, ...rest] = input.shape;
  const bins = rest.reduce((a, b) => a * b, 1);
  if (batch !== 1 || !(frames >= 1) || frames * bins !== input.bytes || bins > A.MAX_LFBE_BINS || frames > A.MAX_STREAM_FRAMES) {
    fail("BAD_INPUT", `the model input [${input.shape.join(", ")}] is not a window of log-Mel frames [1, frames, ..., bins] (at most ${A.MAX_STREAM_FRAMES} frames of ${A.MAX_LFBE_BINS} bins)`);
  }
  return { frames, bins };
}

// Seconds at which window i of `frames` frames ends (sww: it covers samples
// [512 i, 512 i + 15872)).
export function windowEndSec(i: number, frames: number = A.SWW_FRAMES): number {
  return (A.HOP_SAMPLES * i + (frames - 1) * A.HOP_SAMPLES + A.FRAME_SAMPLES) / A.SAMPLE_RATE;
}

// Each call starts a new stream on the model (and a new incremental cache).
export function listen(model: Model, wav: Wav, options: ListenOptions = {}): ListenResult {
  if (wav.sampleRate !== A.SAMPLE_RATE) fail("BAD_INPUT", `the wakeword front end needs ${A.SAMPLE_RATE / 1000} kHz audio, this WAV is ${wav.sampleRate} Hz`);
  const { input, output } = model.info;
  const { frames, bins } = streamWindow(input);
  const w = model.wasm;
  if (w.wisp_lfbe_init(input.scale, input.zeroPoint, frames, bins) !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(w));
  const cachedOps = options.incremental === false ? 0 : w.wisp_stream_incremental();
  if (cachedOps < 0) throw new WispError("RUNTIME", lastError(w));

  const result: ListenResult = { windows: 0, cachedOps, probabilities: [], scores: [], detections: [] };
  const { scale, zeroPoint } = output;
  const hop = A.HOP_SAMPLES;
  for (let at = 0; at + hop <= wav.samples.length; at += hop) {
    new Int16Array(w.memory.buffer, w.wisp_stream_hop_ptr(), hop).set(wav.samples.subarray(at, at + hop));
    const status = w.wisp_stream_push(scale, zeroPoint);
    if (status < 0) throw new WispError("RUNTIME", lastError(w));
    if (status === 0) continue;
    const out = new Int8Array(w.memory.buffer, w.wisp_output_ptr(), output.bytes).slice();
    const probability = Math.fround((out[0] - zeroPoint) * scale);
    const window = result.windows++;
    result.scores.push(out);
    result.probabilities.push(probability);
    if (status === 2) result.detections.push({ window, time_s: windowEndSec(window, frames), probability });
  }
  return result;
}
