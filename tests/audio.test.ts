// The audio front ends against data made by the MLPerf Tiny reference code:
// sww/real (282 windows of short_wav_easy10s.wav), sww/marvin (the marvin clip
// padded with 0.5 s of silence each side) and kws/real (32 MFCC clips); then
// the streaming pipeline end to end against the reference's detections and
// scores (realistic.meta.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { logMelFrames, mfccClips } from "../host/audio/features";
import { listen, windowEndSec } from "../host/audio/listen";
import { scoreDetections } from "../host/audio/score";
import { readWav } from "../host/audio/wav";
import { WispError } from "../host/errors";
import * as A from "../assembly/frontend";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { loadSync } from "../host/node/api";
import { instantiate, lastError } from "../host/node/runtime";
import { Builtin, TensorType } from "../host/convert/tflite";
import { cli, modelsDir, prng } from "./helpers";
import { buildTflite, int8Bytes, scalar, table } from "./tflite-writer";

const dir = modelsDir();
const samples = (name: string) => readWav(new Uint8Array(readFileSync(join(dir, "samples", name)))).samples;
const meta = (task: string) => JSON.parse(readFileSync(join(dir, task, "realistic.meta.json"), "utf8"));

// Compares int8 feature sets; the bar: >= 99.9% identical, none off by more than 1.
function assertFeaturesMatch(actual: Int8Array, expected: Int8Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let identical = 0, worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d === 0) identical++;
    worst = Math.max(worst, d);
  }
  assert.ok(identical / actual.length >= 0.999, `${label}: ${identical}/${actual.length} identical`);
  assert.ok(worst <= 1, `${label}: a value is off by ${worst}`);
}

// Model inputs are 30-frame windows sliding by one frame.
function windows(frames: Int8Array, count: number): Int8Array {
  const out = new Int8Array(count * 1200);
  for (let i = 0; i < count; i++) out.set(frames.subarray(i * 40, i * 40 + 1200), i * 1200);
  return out;
}

test("sww: log-Mel features of short_wav_easy10s.wav reproduce the 282 reference windows", () => {
  const q = meta("sww").input;
  const frames = logMelFrames(samples("short_wav_easy10s.wav"), q.scale, q.zero_point);
  assert.equal(frames.length / 40, 311);
  assertFeaturesMatch(windows(frames, 282), new Int8Array(readFileSync(join(dir, "sww", "real", "inputs.bin"))), "sww/real");
});

test("sww: the marvin clip, padded with 8000 zero samples each side, reproduces sww/marvin", () => {
  const q = meta("sww").input;
  const clip = samples("marvin_617de221_0.wav");
  const padded = new Int16Array(clip.length + 16000);
  padded.set(clip, 8000);
  const frames = logMelFrames(padded, q.scale, q.zero_point);
  assertFeaturesMatch(windows(frames, 32), new Int8Array(readFileSync(join(dir, "sww", "marvin", "inputs.bin"))), "sww/marvin");
});

test("kws: MFCC of the 32 reference clips reproduce kws/real", () => {
  const m = meta("kws");
  const rows = m.sets.real_public.rows as { wav: string; start_sample: number }[];
  const out = new Int8Array(rows.length * 490);
  for (const wav of new Set(rows.map((r) => r.wav))) {
    const indices = rows.flatMap((r, i) => (r.wav === wav ? [i] : []));
    const features = mfccClips(samples(wav), indices.map((i) => rows[i].start_sample), m.input_quant.scale, m.input_quant.zero_point);
    indices.forEach((row, k) => out.set(features.subarray(k * 490, (k + 1) * 490), row * 490));
  }
  assertFeaturesMatch(out, new Int8Array(readFileSync(join(dir, "kws", "real", "inputs.bin"))), "kws/real");
});

test("streaming: scores, detections and MLPerf scoring equal the reference pipeline's", () => {
  const wav = readWav(new Uint8Array(readFileSync(join(dir, "samples", "short_wav_easy10s.wav"))));
  const result = listen(loadSync(new Uint8Array(readFileSync(join(dir, "sww", "model.tflite")))), wav);
  const reference = meta("sww").sets.real_public;
  assert.equal(result.windows, reference.n);
  // Every window's model output is TFLM's output for the reference features.
  const expected = new Int8Array(readFileSync(join(dir, "sww", "real", "outputs.bin")));
  const mismatched = result.scores.filter((s, i) => s.some((v, k) => v !== expected[i * 3 + k])).length;
  assert.ok(mismatched <= result.windows / 1000, `${mismatched} windows differ from TFLM's outputs`);
  // Windows above 0.95 are the reference's; the debounced detector fires once per run.
  const above = result.probabilities.flatMap((p, i) => (p > 0.95 ? [i] : []));
  assert.deepEqual(above, reference.detection.detected_window_indices);
  assert.deepEqual(result.detections.map((d) => d.window), reference.detection.detected_runs.map((r: { first_window: number }) => r.first_window));
  assert.deepEqual(result.detections.map((d) => d.time_s), reference.detection.detected_runs.map((r: { window_end_time_sec: number[] }) => r.window_end_time_sec[0]));
  const windowsSec = JSON.parse(readFileSync(join(dir, "samples", "sww_short_test.json"), "utf8"))[0].detection_windows;
  const score = scoreDetections(result.probabilities.map((p) => p > 0.95), wav.samples.length, windowsSec);
  const ref = reference.detection.evaluate_py_scoring;
  assert.deepEqual([score.truePositives, score.falsePositives, score.falseNegatives], [ref.true_detections, ref.false_detections, ref.false_rejections]);
  assert.deepEqual(score.missedStartsSec, ref.false_rejection_starts_sec);
});

test("streaming: incremental inference (cached sliding rows) equals the full re-run on every window", () => {
  const wav = readWav(new Uint8Array(readFileSync(join(dir, "samples", "short_wav_easy10s.wav"))));
  // One loaded model, two streams: the second restarts the front end and drops the cache.
  const model = loadSync(new Uint8Array(readFileSync(join(dir, "sww", "model.tflite"))));
  const incremental = listen(model, wav);
  const full = listen(model, wav, { incremental: false });
  // sww: all ops but the softmax slide along time (3 depthwise, 4 conv/dense over rows, the last dense).
  assert.equal(incremental.cachedOps, 9);
  assert.equal(full.cachedOps, 0);
  assert.equal(incremental.windows, full.windows);
  const differing = incremental.scores.filter((s, i) => s.some((v, k) => v !== full.scores[i][k])).length;
  assert.equal(differing, 0, `${differing} of ${full.windows} windows differ`);
  assert.deepEqual(incremental.detections, full.detections);
});

// A streaming model of another window shape: 12 frames of 16 bins, a 3-frame
// convolution sliding along time, then a dense layer over the whole window.
function smallStreamingModel(frames: number, bins: number): Uint8Array {
  const random = prng(14);
  const weights = (n: number) => int8Bytes(Array.from({ length: n }, () => random(255) - 127));
  const q = (shape: number[], scale: number, zeroPoint = 0) => ({ shape, type: TensorType.INT8, scale: [scale], zeroPoint: [zeroPoint] });
  const convOut = frames - 2;
  return buildTflite({
    tensors: [
      q([1, frames, 1, bins], 0.0037, -128),
      { shape: [4, 3, 1, bins], type: TensorType.INT8, scale: [0.01, 0.02, 0.01, 0.015], zeroPoint: [0, 0, 0, 0], data: weights(4 * 3 * bins) },
      q([1, convOut, 1, 4], 0.05),
      { shape: [3, convOut * 4], type: TensorType.INT8, scale: [0.01], data: weights(3 * convOut * 4) },
      q([1, 3], 0.2),
    ],
    ops: [
      { builtin: Builtin.CONV_2D, version: 3, inputs: [0, 1, -1], outputs: [2], options: table(scalar("i8", 1), scalar("i32", 1), scalar("i32", 1), scalar("i8", 0)) },
      { builtin: Builtin.FULLY_CONNECTED, version: 4, inputs: [2, 3, -1], outputs: [4], options: table(scalar("i8", 0)) },
    ],
    inputs: [0],
    outputs: [4],
  });
}

test("streaming: a model of another window shape (12 frames of 16 bins) gets every window of the front end's frames", () => {
  const wav = readWav(new Uint8Array(readFileSync(join(dir, "samples", "short_wav_easy10s.wav"))));
  const model = loadSync(smallStreamingModel(12, 16));
  const { scale, zeroPoint } = model.info.input;
  const frames = logMelFrames(wav.samples, scale, zeroPoint, 16);
  const expected = (i: number) => model.invoke(frames.slice(i * 16, (i + 12) * 16));
  for (const incremental of [true, false]) {
    const result = listen(model, wav, { incremental });
    assert.equal(result.windows, frames.length / 16 - 11);
    const differing = result.scores.filter((s, i) => s.some((v, k) => v !== expected(i)[k])).length;
    assert.equal(differing, 0, `incremental ${incremental}: ${differing} of ${result.windows} windows differ from invoking the model on them`);
  }
  assert.ok(Math.abs(windowEndSec(0, 12) - (11 * 512 + 1024) / 16000) < 1e-12);
});

test("front end: a window out of range is refused; initialized after a model, it follows the model until the next load", () => {
  const w = instantiate();
  assert.equal(w.wisp_lfbe_init(0.01, 0, 0, 40), F.ERR_BAD_ARGUMENT);
  assert.match(lastError(w), /out of range \(0 x 40\)/);
  assert.equal(w.wisp_lfbe_init(0.01, 0, 30, A.MAX_LFBE_BINS + 1), F.ERR_BAD_ARGUMENT);
  assert.equal(w.wisp_stream_hop_ptr(), 0);
  const { wisp } = convertTflite(smallStreamingModel(12, 16));
  const load = () => {
    const ptr = w.wisp_model_buffer(wisp.length);
    new Uint8Array(w.memory.buffer, ptr, wisp.length).set(wisp);
    return w.wisp_load(ptr, wisp.length);
  };
  assert.equal(load(), F.ERR_NONE);
  const modelEnd = w.wisp_memory_used();
  // A window that is not the model input's: refused at the first hop.
  assert.equal(w.wisp_lfbe_init(0.01, 0, 30, 40), F.ERR_NONE);
  assert.ok(w.wisp_stream_hop_ptr() >= modelEnd && w.wisp_memory_used() > modelEnd);
  assert.equal(w.wisp_stream_push(1, 0), -F.ERR_BAD_GRAPH);
  assert.match(lastError(w), /not one window .*\(30 x 40\)/);
  assert.equal(w.wisp_lfbe_init(0.01, 0, 12, 16), F.ERR_NONE);
  assert.equal(w.wisp_stream_push(1, 0), 0);
  // The next load takes that memory back: the front end is gone.
  assert.equal(load(), F.ERR_NONE);
  assert.equal(w.wisp_memory_used(), modelEnd);
  assert.equal(w.wisp_stream_hop_ptr(), 0);
  assert.equal(w.wisp_stream_push(1, 0), -F.ERR_NOT_LOADED);
});

test("scoring: false positives outside the wakeword windows are debounced over 1 s", () => {
  const windowsDetected = new Array(100).fill(false);
  // Two runs 0.5 s apart count once, a third 2 s later counts again; none near a wakeword.
  [10, 11, 25, 90].forEach((i) => (windowsDetected[i] = true));
  const s = scoreDetections(windowsDetected, 100 * 512, []);
  assert.equal(s.falsePositives, 2);
  assert.equal(s.truePositives + s.falseNegatives, 0);
  assert.ok(Math.abs(windowEndSec(0) - 0.992) < 1e-9);
});

test("listen CLI: --json prints detections with time_s", () => {
  const r = cli(["listen", join(dir, "sww", "model.tflite"), join(dir, "samples", "short_wav_easy10s.wav"), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const detections = JSON.parse(r.stdout);
  assert.deepEqual(detections.map((d: { time_s: number }) => d.time_s), [1.408, 5.024]);
});

test("WAV reader refuses what it cannot read, with coded errors", () => {
  const good = new Uint8Array(readFileSync(join(dir, "samples", "marvin_617de221_0.wav")));
  const expectBad = (bytes: Uint8Array, pattern: RegExp) => assert.throws(() => readWav(bytes), (e: unknown) => e instanceof WispError && e.code === "BAD_INPUT" && pattern.test(e.message));
  expectBad(new TextEncoder().encode("not audio at all"), /not a WAV file/);
  const eightBit = good.slice();
  new DataView(eightBit.buffer).setUint16(34, 8, true); // bits per sample
  expectBad(eightBit, /16-bit PCM/);
  expectBad(good.subarray(0, 30), /runs past the end|no data chunk|too short/);
  const r = cli(["listen", join(dir, "sww", "model.tflite"), join(dir, "sww", "model.tflite")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^wisp: BAD_INPUT: not a WAV file/);
});
