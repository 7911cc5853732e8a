// Audio in, keyword out: runs a streaming-wakeword model over a WAV file the
// way a device would, hop by hop, with the log-Mel front end, the ring of 30
// frames and the debounced detector all inside the Wisp module.
import * as F from "../../assembly/format";
import { convertTflite, ModelInfo } from "../convert";
import { fail, WispError } from "../errors";
import { detectFormat, loadSync } from "../node/api";
import { instantiate, lastError } from "../node/runtime";
import { Wav } from "./wav";

export const SAMPLE_RATE = 16000;
export const HOP_SAMPLES = 512;
const WINDOW_FRAMES = 30;
const FRAME_SAMPLES = 1024;

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

// Seconds at which window i ends: it covers samples [512 i, 512 i + 15872).
export function windowEndSec(i: number): number {
  return (HOP_SAMPLES * i + (WINDOW_FRAMES - 1) * HOP_SAMPLES + FRAME_SAMPLES) / SAMPLE_RATE;
}

function check(status: number, w: ReturnType<typeof instantiate>): void {
  if (status !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(w));
}

export function listen(modelBytes: Uint8Array, wav: Wav, options: ListenOptions = {}): ListenResult {
  if (wav.sampleRate !== SAMPLE_RATE) fail("BAD_INPUT", `the wakeword front end needs 16 kHz audio, this WAV is ${wav.sampleRate} Hz`);
  const wisp = detectFormat(modelBytes) === "tflite" ? convertTflite(modelBytes).wisp : modelBytes;
  const info: ModelInfo = loadSync(wisp).info; // validates the model and reads its quantization
  if (info.input.bytes !== WINDOW_FRAMES * 40) fail("BAD_INPUT", `the model takes ${info.input.bytes} input values; the wakeword front end makes 30 frames x 40 features`);
  const w = instantiate();
  check(w.wisp_lfbe_init(info.input.scale, info.input.zeroPoint), w);
  const ptr = w.wisp_model_buffer(wisp.length);
  if (ptr === 0) fail("OUT_OF_MEMORY", "cannot reserve memory for the model");
  new Uint8Array(w.memory.buffer, ptr, wisp.length).set(wisp);
  check(w.wisp_load(ptr, wisp.length), w);
  const cachedOps = options.incremental === false ? 0 : w.wisp_stream_incremental();
  if (cachedOps < 0) throw new WispError("RUNTIME", lastError(w));

  const result: ListenResult = { windows: 0, cachedOps, probabilities: [], scores: [], detections: [] };
  const { scale, zeroPoint } = info.output;
  for (let at = 0; at + HOP_SAMPLES <= wav.samples.length; at += HOP_SAMPLES) {
    new Int16Array(w.memory.buffer, w.wisp_stream_hop_ptr(), HOP_SAMPLES).set(wav.samples.subarray(at, at + HOP_SAMPLES));
    const status = w.wisp_stream_push(scale, zeroPoint);
    if (status < 0) throw new WispError("RUNTIME", lastError(w));
    if (status === 0) continue;
    const out = new Int8Array(w.memory.buffer, w.wisp_output_ptr(), info.output.bytes).slice();
    const probability = Math.fround((out[0] - zeroPoint) * scale);
    const window = result.windows++;
    result.scores.push(out);
    result.probabilities.push(probability);
    if (status === 2) result.detections.push({ window, time_s: windowEndSec(window), probability });
  }
  return result;
}
