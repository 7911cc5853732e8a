// The main job (`npm start`): each MLPerf Tiny model in Wisp, with its op
// count, MACs, arena next to TFLM's, module size, median latency in Node and
// whether every golden vector is byte-exact.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSync } from "../host/node/api";
import { findModelsDir, goldenSets, MISSING_MODELS_HINT, TASKS, tflmArenaBytes } from "../host/node/models";
import { wasmBytes } from "../host/node/runtime";
import { medianLatency, printTable, runGolden, runMain, vectors } from "./measure";

const RUNS = Number(process.env.WISP_RUNS ?? 50);

function main(): number {
  const dir = findModelsDir();
  if (!dir) {
    console.error(MISSING_MODELS_HINT);
    return 1;
  }
  const wasm = wasmBytes();
  console.log(`Wisp on the MLPerf Tiny reference models (${dir})`);
  console.log(`build/wisp.wasm: ${wasm} bytes (the device module; build/wisp-simd.wasm: ${wasmBytes("simd")}); latency is the median of ${RUNS} invokes in Node ${process.version}, through the module load() picks\n`);
  const header = ["model", "ops", "MACs", "Wisp arena", "TFLM arena", "ratio", ".wasm bytes", "module", "median ms", "byte-exact"];
  const rows: string[][] = [header];
  let allExact = true;
  for (const task of TASKS) {
    const model = loadSync(new Uint8Array(readFileSync(join(dir, task, "model.tflite"))));
    const sets = goldenSets(join(dir, task));
    const results = sets.map((s) => runGolden(model, s));
    const exact = results.reduce((a, r) => a + r.exact, 0);
    const total = results.reduce((a, r) => a + r.vectors, 0);
    allExact &&= exact === total;
    const inputs = sets.length ? vectors(sets[0].inputs, model.inputBytes) : [new Int8Array(model.inputBytes)];
    const ms = medianLatency((x) => model.invoke(x), inputs, RUNS);
    const info = model.info;
    const tflm = tflmArenaBytes(dir, task);
    rows.push([
      task, String(info.ops.length), info.macs.toLocaleString("en-US"), String(info.arenaBytes), String(tflm),
      (info.arenaBytes / tflm).toFixed(2), String(wasm), info.module, ms.toFixed(3),
      total ? `${exact === total ? "yes" : "NO"} ${exact}/${total} (${results.map((r) => r.set).join(", ")})` : "no golden vectors",
    ]);
  }
  printTable(rows, [0, header.length - 1]);
  return allExact ? 0 : 1;
}

runMain(main);
