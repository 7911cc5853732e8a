// `npm run bench`: Wisp in V8 (the scalar build/wisp.wasm and the SIMD
// build/wisp-simd.wasm) against native TensorFlow Lite (tfjs-tflite-node,
// libtensorflowlite_c 2.9, one thread) in the same process, on the same inputs.
// Native TFLite is a speed peer, not an oracle: it rounds once, so it differs
// from TFLM on some vectors; its agreement is printed for information.
// tfjs-tflite (TFLite's WebAssembly build) is timed too where installed, and
// then the host workloads that run Wisp in Node: `wisp listen` and the fleet
// experiment's backbone features, through each module.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSync } from "../host/node/api";
import { findModelsDir, goldenSets, MISSING_MODELS_HINT, TASKS } from "../host/node/models";
import { wasmBytes } from "../host/node/runtime";
import { backboneInput } from "../host/fl/fashion-mnist";
import { listen } from "../host/audio/listen";
import { readWav } from "../host/audio/wav";
import { interleavedLatency, median, printTable, runMain, vectors } from "./measure";
import { tfjsTflite } from "./tfjs-tflite";

const RUNS = Number(process.env.WISP_RUNS ?? 400);
const BLOCK = 10; // invokes per turn in the side-by-side timing

interface NativeRunner {
  getInputs(): { data(): Int8Array }[];
  getOutputs(): { data(): Int8Array }[];
  infer(): boolean;
}

function loadNative(): ((model: ArrayBuffer) => NativeRunner) | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { TFLiteNodeModelRunner } = require("tfjs-tflite-node");
    return (model) => new TFLiteNodeModelRunner(model, { threads: 1 }) as NativeRunner;
  } catch (e) {
    console.log(`native TFLite unavailable (${(e as Error).message.split("\n")[0]}); timing Wisp only`);
    return null;
  }
}

async function main(): Promise<number> {
  const dir = findModelsDir();
  if (!dir) {
    console.error(MISSING_MODELS_HINT);
    return 1;
  }
  const native = loadNative();
  const tfjs = tfjsTflite();
  if (typeof tfjs === "string") console.log(`tfjs-tflite ${tfjs}; timing without it`);
  console.log(`Wisp (build/wisp.wasm, ${wasmBytes()} bytes; Wisp SIMD: build/wisp-simd.wasm, ${wasmBytes("simd")} bytes; Node ${process.version}) vs native TFLite; ${RUNS} invokes each, timed side by side in turns of ${BLOCK}: medians, and ratios as the median of the turns' ratios; same inputs (public set)\n`);
  const header = ["model", "MACs", "Wisp ms", "Wisp SIMD ms", "TFLite ms", "tfjs-tflite ms", "Wisp/TFLite", "SIMD/TFLite", "SIMD/tfjs-tflite", "SIMD MMAC/s", "TFLite = TFLM"];
  const rows: string[][] = [header];
  for (const task of TASKS) {
    const bytes = readFileSync(join(dir, task, "model.tflite"));
    const model = loadSync(new Uint8Array(bytes), { simd: false });
    const simd = loadSync(new Uint8Array(bytes), { simd: true });
    const set = goldenSets(join(dir, task)).find((s) => s.name === "public");
    const inputs = set ? vectors(set.inputs, model.inputBytes) : [new Int8Array(model.inputBytes)];
    // Wisp scalar, Wisp SIMD, native TFLite and tfjs-tflite side by side (measure.ts).
    const invokes: ((x: Int8Array) => unknown)[] = [(x) => model.invoke(x)];
    const simdAt = simd.info.module === "simd" ? invokes.push((x) => simd.invoke(x)) - 1 : -1;
    let nativeAt = -1;
    let agreement = "n/a";
    if (native) {
      const runner = native(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      const input = runner.getInputs()[0];
      const run = (x: Int8Array) => {
        input.data().set(x);
        runner.infer();
        return runner.getOutputs()[0].data();
      };
      nativeAt = invokes.push(run) - 1;
      if (set) {
        const expected = vectors(set.outputs, model.outputBytes);
        const same = inputs.filter((x, i) => run(x).every((v, k) => v === expected[i][k])).length;
        agreement = `${same}/${inputs.length}`;
      }
    }
    let tfjsAt = -1;
    if (typeof tfjs !== "string") {
      const runner = await tfjs(bytes);
      const input = runner.getInputs()[0];
      tfjsAt = invokes.push((x) => {
        input.data().set(x);
        runner.infer();
      }) - 1;
    }
    const timed = interleavedLatency(invokes, inputs, Math.max(1, Math.round(RUNS / BLOCK)), BLOCK);
    const msOf = (at: number) => (at < 0 ? NaN : timed.medianMs[at]);
    const ratioOf = (a: number, b: number) => (a < 0 || b < 0 ? NaN : timed.ratio(a, b));
    const wispMs = msOf(0), simdMs = msOf(simdAt), nativeMs = msOf(nativeAt), tfjsMs = msOf(tfjsAt);
    const ms = (v: number) => (Number.isNaN(v) ? "n/a" : v.toFixed(3));
    const ratio = (v: number) => (Number.isNaN(v) ? "n/a" : `${v.toFixed(2)}x`);
    rows.push([
      task, model.info.macs.toLocaleString("en-US"), ms(wispMs), ms(simdMs), ms(nativeMs), ms(tfjsMs),
      ratio(ratioOf(0, nativeAt)), ratio(ratioOf(simdAt, nativeAt)), ratio(ratioOf(simdAt, tfjsAt)), Number.isNaN(simdMs) ? "n/a" : (model.info.macs / simdMs / 1000).toFixed(0), agreement,
    ]);
  }
  printTable(rows, [0]);
  hostWorkloads(dir);
  return 0;
}

// `wisp listen` over the sample WAV (sww, incremental streaming) and one
// backbone feature vector of the fleet experiment (ic traced to its pool),
// scalar module against SIMD module.
function hostWorkloads(dir: string): void {
  const wavPath = join(dir, "samples", "short_wav_easy10s.wav");
  const ic = new Uint8Array(readFileSync(join(dir, "ic", "model.tflite")));
  const sww = new Uint8Array(readFileSync(join(dir, "sww", "model.tflite")));
  const timed = (run: () => unknown, n: number) => {
    run();
    return median(Array.from({ length: n }, () => {
      const t = process.hrtime.bigint();
      run();
      return Number(process.hrtime.bigint() - t) / 1e6;
    }));
  };
  const rows = [["host workload", "scalar ms", "SIMD ms", "speed-up"]];
  const add = (name: string, scalarMs: number, simdMs: number) => rows.push([name, scalarMs.toFixed(2), simdMs.toFixed(2), `${(scalarMs / simdMs).toFixed(2)}x`]);
  try {
    const wav = readWav(readFileSync(wavPath));
    const run = (simd: boolean) => {
      const model = loadSync(sww, { simd });
      return timed(() => listen(model, wav), 5);
    };
    add(`wisp listen sww, ${(wav.samples.length / wav.sampleRate).toFixed(1)} s WAV`, run(false), run(true));
  } catch (e) {
    console.log(`wisp listen not timed: ${(e as Error).message}`);
  }
  const image = new Uint8Array(28 * 28).map((_, i) => (i * 29) & 255);
  const features = (simd: boolean) => {
    const model = loadSync(ic, { simd });
    const pool = model.info.ops.findIndex((o) => o.op === "AVERAGE_POOL_2D" || o.op === "MEAN");
    return timed(() => model.trace(backboneInput(image))[pool], RUNS);
  };
  add("fleet backbone features, one image (ic)", features(false), features(true));
  console.log("");
  printTable(rows, [0]);
}

runMain(main);
