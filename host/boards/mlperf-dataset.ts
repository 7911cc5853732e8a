// The MLPerf Tiny runner's dataset folders (ad01, ic01, kws01, vww01: the
// input files and y_labels.csv, as its datasets.py reads them) made from the
// golden vectors, and what the runner reports for the reference on them:
// TFLM's golden outputs put through the reference submissions' result
// format (firmware/dut.c prints the same) and the runner's own scoring
// (main.py summarize_result), so that the DUT's results file can be held
// to it.
//
// Labels: the golden sets have no recorded classes except by construction.
// vww's images put person figures in the odd rows (label 1, else 0); ad's
// normal windows are a real recording of a normal machine (label 0), its
// uniform random inputs are the anomalies (label 1). kws's and ic's inputs
// have no class; their labels cycle through the classes (row i: i mod
// classes) because the runner's AUC needs every class present, so their
// Top-1 says nothing about the model, only whether the DUT matches TFLM.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors";
import { RUNNER_MODELS, RunnerTask } from "./mlperf-dut";

const f32 = Math.fround;

interface Quant {
  scale: number;
  zero_point: number;
}

function meta(modelsDir: string, task: string): { input: Quant & { bytes: number }; output: Quant & { bytes: number } } {
  return JSON.parse(readFileSync(join(modelsDir, task, "meta.json"), "utf8"));
}

// The DUT's m-results- line for int8 class scores: 0.ddd per class, float32 math.
export function formatDutResults(output: Int8Array, scale: number, zeroPoint: number): string {
  return `m-results-[${Array.from(output, (q) => {
    const v = f32(f32(q - zeroPoint) * f32(scale));
    return `0.${Math.trunc(f32(v * 10))}${Math.trunc(f32(v * 100)) % 10}${Math.trunc(f32(v * 1000)) % 10}`;
  }).join(",")}]`;
}

// The ad01 reference's anomaly score for one window, in float32 without fused
// multiply-adds (as dut.c computes it), then printed as %0.3f.
export function formatAnomalyScore(output: Int8Array, features: Float32Array, out: Quant): string {
  let sum = 0;
  for (let i = 0; i < output.length; i++) {
    const diff = f32(f32(f32(output[i] - out.zero_point) * f32(out.scale)) - features[i]);
    sum = f32(sum + f32(diff * diff));
  }
  const milli = Math.floor(f32(sum / output.length) * 1000 + 0.5);
  return `m-results-[${Math.floor(milli / 1000)}.${String(milli % 1000).padStart(3, "0")}]`;
}

// QuantizeFloatToInt8 of the reference submissions: round half away from zero.
function quantize(x: number, q: Quant): number {
  const v = f32(x / f32(q.scale));
  return Math.min(127, Math.max(-128, Math.sign(v) * Math.floor(Math.abs(v) + 0.5) + q.zero_point));
}

export interface RunnerFile {
  name: string;
  label: number;
  results: string[]; // the reference's m-results- line for each segment the runner sends
}

export interface RunnerDataset {
  task: RunnerTask;
  model: string; // kws01, ...
  dir: string; // <out>/<model>
  classes: number;
  files: RunnerFile[];
  reference: { top1: string; auc: string }; // as the runner prints them
  source: string; // which golden set, and how the labels were made
}

function rows(bytes: Buffer, size: number): Buffer[] {
  return Array.from({ length: bytes.length / size }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

// ad01: the runner sends each file in 2560-byte windows (640 float32) every
// `stride` bytes, and all files must give the same number of windows.
const AD_WINDOWS_PER_FILE = 8;
const AD_MELS = 128;

interface AdFile {
  file: RunnerFile;
  bytes: Uint8Array;
  stride: number;
}

function adFiles(modelsDir: string, m: ReturnType<typeof meta>): AdFile[] {
  const window = m.input.bytes; // 640 elements
  const source = readFileSync(join(modelsDir, "samples", "normal_id_01_00000000_hist_librosa.bin"));
  const spectrogram = new Float32Array(source.buffer.slice(source.byteOffset, source.byteOffset + source.length));
  const realIn = new Int8Array(readFileSync(join(modelsDir, "ad", "real", "inputs.bin")));
  const realOut = new Int8Array(readFileSync(join(modelsDir, "ad", "real", "outputs.bin")));
  const noiseIn = new Int8Array(readFileSync(join(modelsDir, "ad", "public", "inputs.bin")));
  const noiseOut = new Int8Array(readFileSync(join(modelsDir, "ad", "public", "outputs.bin")));
  const check = (features: Float32Array, golden: Int8Array, what: string) => {
    for (let i = 0; i < window; i++) if (quantize(features[i], m.input) !== golden[i]) fail("BAD_INPUT", `${what}: features do not quantize to the golden input at ${i}`);
  };
  const normal: AdFile[] = [];
  // Normal file k: frames 8k .. 8k+11 of the recording, windows 8k .. 8k+7 (one frame apart).
  for (let k = 0; (k + 1) * AD_WINDOWS_PER_FILE <= realIn.length / window; k++) {
    const frames = spectrogram.slice(k * AD_WINDOWS_PER_FILE * AD_MELS, ((k + 1) * AD_WINDOWS_PER_FILE + window / AD_MELS - 1) * AD_MELS);
    const results = [];
    for (let w = 0; w < AD_WINDOWS_PER_FILE; w++) {
      const at = (k * AD_WINDOWS_PER_FILE + w) * window;
      const features = frames.subarray(w * AD_MELS, w * AD_MELS + window);
      check(features, realIn.subarray(at, at + window), `normal window ${k * AD_WINDOWS_PER_FILE + w}`);
      results.push(formatAnomalyScore(realOut.subarray(at, at + window), features, m.output));
    }
    normal.push({ file: { name: `normal_${String(k).padStart(2, "0")}.bin`, label: 0, results }, bytes: new Uint8Array(frames.buffer), stride: AD_MELS * 4 });
  }
  // Anomalous file j: random inputs 8j .. 8j+7, dequantized, side by side (no overlap).
  const noise: AdFile[] = [];
  for (let j = 0; (j + 1) * AD_WINDOWS_PER_FILE <= noiseIn.length / window; j++) {
    const features = new Float32Array(AD_WINDOWS_PER_FILE * window);
    const results = [];
    for (let w = 0; w < AD_WINDOWS_PER_FILE; w++) {
      const at = (j * AD_WINDOWS_PER_FILE + w) * window;
      const one = features.subarray(w * window, (w + 1) * window);
      for (let i = 0; i < window; i++) one[i] = f32(f32(noiseIn[at + i] - m.input.zero_point) * f32(m.input.scale));
      check(one, noiseIn.subarray(at, at + window), `random window ${j * AD_WINDOWS_PER_FILE + w}`);
      results.push(formatAnomalyScore(noiseOut.subarray(at, at + window), one, m.output));
    }
    noise.push({ file: { name: `noise_${String(j).padStart(2, "0")}.bin`, label: 1, results }, bytes: new Uint8Array(features.buffer), stride: window * 4 });
  }
  // Interleaved (an anomaly, then its share of normal files) so that the first two files hold both classes.
  const perNoise = Math.ceil(normal.length / noise.length);
  return noise.flatMap((x, j) => [x, ...normal.slice(j * perNoise, (j + 1) * perNoise)]);
}

const CLASSIFIERS: Record<Exclude<RunnerTask, "ad">, { set: string; label: (i: number, classes: number) => number; how: string }> = {
  kws: { set: "real", label: (i, n) => i % n, how: "kws/real (MFCC of real clips); labels cycle through the 12 classes (no recorded class)" },
  ic: { set: "images", label: (i, n) => i % n, how: "ic/images (synthetic images); labels cycle through the 10 classes (no recorded class)" },
  vww: { set: "images", label: (i) => i % 2, how: "vww/images (synthetic images, person figures in the odd rows); label 1 for the odd rows" },
};

// Writes <out>/<model>/ (input files, y_labels.csv) for the task and returns
// the reference's figures. `limit` keeps the first files only.
export function writeRunnerDataset(task: RunnerTask, modelsDir: string, out: string, limit?: number): RunnerDataset {
  const m = meta(modelsDir, task);
  const model = RUNNER_MODELS[task];
  const dir = join(out, model);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let files: RunnerFile[];
  let source: string;
  const csv: string[] = [];
  const classes = task === "ad" ? 2 : m.output.bytes;
  if (task === "ad") {
    const all = adFiles(modelsDir, m).slice(0, limit);
    for (const { file, bytes, stride } of all) {
      writeFileSync(join(dir, file.name), bytes);
      csv.push(`${file.name},2,${file.label},${m.input.bytes * 4},${stride}`);
    }
    files = all.map((a) => a.file);
    source = `ad/real (a normal machine's log-mel recording, ${AD_WINDOWS_PER_FILE} windows per file, label 0) and ad/public (uniform random inputs, label 1)`;
  } else {
    const c = CLASSIFIERS[task];
    const inputs = rows(readFileSync(join(modelsDir, task, c.set, "inputs.bin")), m.input.bytes).slice(0, limit);
    const outputs = rows(readFileSync(join(modelsDir, task, c.set, "outputs.bin")), m.output.bytes);
    files = inputs.map((input, i) => {
      const name = `${c.set}_${String(i).padStart(3, "0")}.bin`;
      const label = c.label(i, classes);
      writeFileSync(join(dir, name), input);
      csv.push(`${name},${classes},${label}`);
      return { name, label, results: [formatDutResults(new Int8Array(outputs[i].buffer, outputs[i].byteOffset, outputs[i].length), m.output.scale, m.output.zero_point)] };
    });
    source = c.how;
  }
  writeFileSync(join(dir, "y_labels.csv"), csv.join("\n") + "\n");
  return { task, model, dir, classes, files, reference: runnerScores(files, classes), source };
}

// The numbers of an m-results- line.
export function parseResults(line: string): number[] {
  const m = /^m-results-\[([^\]]*)\]$/.exec(line);
  if (!m) fail("BAD_INPUT", `not a results line: ${line}`);
  return m[1].split(",").filter((x) => x.trim()).map(Number);
}

// main.py summarize_result for accuracy mode: per file the mean of its
// (normalized) results, then Top-1 and AUC, printed as the runner prints them.
export function runnerScores(files: { label: number; results: string[] }[], classes: number): { top1: string; auc: string } {
  const predictions = files.map((f) => {
    const vectors = f.results.map(parseResults).map((r) => {
      if (r.length === 1) return r;
      const total = r.reduce((a, b) => a + b, 0);
      return r.map((x) => x / total);
    });
    return vectors[0].map((_, c) => vectors.reduce((a, v) => a + v[c], 0) / vectors.length);
  });
  const labels = files.map((f) => f.label);
  let top1: number;
  if (predictions[0].length === 1) {
    // Anomaly detection: the best (precision + recall) / 2 over 100 thresholds.
    const scores = predictions.map((p) => p[0]);
    const lo = Math.min(...scores), hi = Math.max(...scores);
    top1 = 0;
    for (let t = 0; t < 100; t++) {
      const threshold = lo + (t * 0.01) * (hi - lo);
      let tp = 0, fp = 0, fn = 0;
      scores.forEach((s, i) => {
        const positive = s > threshold;
        if (positive && labels[i] === 1) tp++;
        else if (positive) fp++;
        else if (labels[i] === 1) fn++;
      });
      top1 = Math.max(top1, (100 * (tp / (tp + fp + 1e-8) + tp / (tp + fn + 1e-8))) / 2);
    }
  } else {
    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    top1 = (100 * predictions.filter((p, i) => argmax(p) === labels[i]).length) / predictions.length;
  }
  let auc: number;
  if (predictions[0].length <= 2) {
    auc = binaryAuc(labels.map((l) => l === 1), predictions.map((p) => p[p.length - 1]));
  } else {
    if (new Set(labels).size !== classes) fail("USAGE", `the runner's AUC needs every one of the ${classes} classes among the labels`);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += binaryAuc(labels.map((l) => l === c), predictions.map((p) => p[c]));
    auc = sum / classes;
  }
  return { top1: pythonFixed(top1, 1), auc: pythonFixed(auc, 3) };
}

// ROC AUC: the chance that a positive outscores a negative, ties counting half.
function binaryAuc(positive: boolean[], scores: number[]): number {
  let wins = 0, pairs = 0;
  scores.forEach((p, i) => {
    if (!positive[i]) return;
    scores.forEach((n, j) => {
      if (positive[j]) return;
      pairs++;
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  if (pairs === 0) fail("USAGE", "the runner's AUC needs both classes among the labels");
  return wins / pairs;
}

// Python's f"{x:.{digits}f}": the exact binary value rounded half to even.
export function pythonFixed(x: number, digits: number): string {
  const exact = x.toFixed(100); // exact for the magnitudes scored here
  const [whole, fraction] = exact.split(".");
  const kept = BigInt(whole + fraction.slice(0, digits));
  const rest = fraction.slice(digits);
  const half = "5".padEnd(rest.length, "0");
  const up = rest > half || (rest === half && kept % 2n === 1n);
  const n = (kept + (up ? 1n : 0n)).toString().padStart(digits + 1, "0");
  return digits ? `${n.slice(0, -digits)}.${n.slice(-digits)}` : n;
}
