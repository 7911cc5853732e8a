// `npm run bench`: Wisp in V8 (the scalar build/wisp.wasm and the SIMD
// build/wisp-simd.wasm) against native TensorFlow Lite (tfjs-tflite-node,
// libtensorflowlite_c 2.9, one thread) in the same process, on the same inputs.
// Native TFLite is a speed peer, not an oracle: it rounds once, so it differs
// from TFLM on some vectors; its agreement is printed for information.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSync } from "../host/node/api";
import { findModelsDir, goldenSets, MISSING_MODELS_HINT, TASKS } from "../host/node/models";
import { wasmBytes } from "../host/node/runtime";
import { medianLatency, printTable, runMain, vectors } from "./measure";

const RUNS = Number(process.env.WISP_RUNS ?? 200);

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

function main(): number {
  const dir = findModelsDir();
  if (!dir) {
    console.error(MISSING_MODELS_HINT);
    return 1;
  }
  const native = loadNative();
  console.log(`Wisp (build/wisp.wasm, ${wasmBytes()} bytes; Wisp SIMD: build/wisp-simd.wasm, ${wasmBytes("simd")} bytes; Node ${process.version}) vs native TFLite; median of ${RUNS} invokes, same inputs (public set)\n`);
  const header = ["model", "MACs", "Wisp ms", "Wisp SIMD ms", "TFLite ms", "Wisp/TFLite", "SIMD/TFLite", "SIMD MMAC/s", "TFLite = TFLM"];
  const rows: string[][] = [header];
  for (const task of TASKS) {
    const bytes = readFileSync(join(dir, task, "model.tflite"));
    const model = loadSync(new Uint8Array(bytes), { simd: false });
    const simd = loadSync(new Uint8Array(bytes), { simd: true });
    const set = goldenSets(join(dir, task)).find((s) => s.name === "public");
    const inputs = set ? vectors(set.inputs, model.inputBytes) : [new Int8Array(model.inputBytes)];
    const wispMs = medianLatency((x) => model.invoke(x), inputs, RUNS);
    const simdMs = simd.info.module === "simd" ? medianLatency((x) => simd.invoke(x), inputs, RUNS) : NaN;
    let nativeMs = NaN;
    let agreement = "n/a";
    if (native) {
      const runner = native(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      const input = runner.getInputs()[0];
      const run = (x: Int8Array) => {
        input.data().set(x);
        runner.infer();
        return runner.getOutputs()[0].data();
      };
      nativeMs = medianLatency(run, inputs, RUNS);
      if (set) {
        const expected = vectors(set.outputs, model.outputBytes);
        const same = inputs.filter((x, i) => run(x).every((v, k) => v === expected[i][k])).length;
        agreement = `${same}/${inputs.length}`;
      }
    }
    const ms = (v: number) => (Number.isNaN(v) ? "n/a" : v.toFixed(3));
    const ratio = (v: number) => (Number.isNaN(v) || Number.isNaN(nativeMs) ? "n/a" : `${(v / nativeMs).toFixed(2)}x`);
    rows.push([
      task, model.info.macs.toLocaleString("en-US"), ms(wispMs), ms(simdMs), ms(nativeMs),
      ratio(wispMs), ratio(simdMs), Number.isNaN(simdMs) ? "n/a" : (model.info.macs / simdMs / 1000).toFixed(0), agreement,
    ]);
  }
  printTable(rows, [0]);
  return 0;
}

runMain(main);
