// `npm run bench:planner`: how the arena planner's time grows with the model.
// Planning time (median of a few runs) and work units against op count, for
// a chain (two tensors live at a time) and a fan-out (half the tensors live
// at once), then the issue-16 targets end to end, then every real model that
// converts: arena bytes and planning time. With WISP_BASELINE set to another
// build's dist/index.js (e.g. git main's), its arena is printed beside ours.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertTflite } from "../host/convert";
import { Graph } from "../host/convert/graph";
import { lower } from "../host/convert/lower";
import { planArena } from "../host/convert/plan";
import { readTflite } from "../host/convert/tflite";
import { WispError } from "../host/errors";
import { findKernelZooDir, findModelsDir, TASKS } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { chainModel, fanOutModel } from "../tests/hostile-models";
import { median, printTable, runMain } from "./measure";

const SIZES = [10, 30, 100, 300, 1000, 3000, 10000];

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function timePlan(graph: Graph): { ms: number; plan: ReturnType<typeof planArena> } {
  const runs = graph.ops.length <= 300 ? 5 : graph.ops.length <= 1000 ? 3 : 1;
  const times: number[] = [];
  let plan = planArena(graph); // warm-up, and the plan reported
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    plan = planArena(graph);
    times.push(ms(start));
  }
  return { ms: median(times), plan };
}

function growthTable(name: string, build: (ops: number) => Uint8Array): void {
  console.log(`\n${name}`);
  const rows = [["ops", "plan ms", "work units", "budget", "search steps", "arena bytes", "growth (ms ~ ops^k)"]];
  let previous: { ops: number; ms: number } | null = null;
  let first: { ops: number; ms: number } | null = null;
  for (const size of SIZES) {
    const graph = lower(readTflite(build(size)));
    const ops = graph.ops.length;
    try {
      const { ms: t, plan } = timePlan(graph);
      const w = plan.work!;
      const k = previous ? (Math.log(t / previous.ms) / Math.log(ops / previous.ops)).toFixed(2) : "";
      rows.push([String(ops), t.toFixed(1), String(w.units), String(w.budget), String(w.steps), String(plan.arenaBytes), k]);
      previous = { ops, ms: t };
      first ??= previous;
    } catch (e) {
      if (!(e instanceof WispError)) throw e;
      rows.push([String(ops), `refused: ${e.code}`, "", "", "", "", ""]);
    }
  }
  printTable(rows, []);
  if (first && previous && previous !== first) {
    const k = Math.log(previous.ms / first.ms) / Math.log(previous.ops / first.ops);
    console.log(`${first.ops} to ${previous.ops} ops: ${(previous.ops / first.ops).toFixed(0)}x the ops, ${(previous.ms / first.ms).toFixed(1)}x the time (k = ${k.toFixed(2)})`);
  }
}

function targets(): void {
  console.log("\nissue 16 targets, convert end to end (read, lower, plan, emit)");
  const rows = [["model", "ops", "convert ms", "target", "arena bytes"]];
  for (const [name, tflite, target] of [["10,000-op chain", chainModel(10000), 5000], ["400 tensors, 201 live", fanOutModel(200), 1000]] as const) {
    const start = process.hrtime.bigint();
    const { info } = convertTflite(tflite);
    const t = ms(start);
    rows.push([name, String(info.ops.length), t.toFixed(0), `< ${target} ms: ${t < target ? "met" : "MISSED"}`, String(info.arenaBytes)]);
  }
  printTable(rows, [0, 3]);
}

function realModels(): void {
  const files: [string, string][] = [];
  const mlperf = findModelsDir();
  if (mlperf) for (const t of TASKS) files.push([t, join(mlperf, t, "model.tflite")]);
  const zoo = findKernelZooDir();
  const zoo2 = resolve(PACKAGE_ROOT, "..", "shared", "zoo2");
  for (const [prefix, dir] of [["zoo", zoo], ["zoo2", zoo2]] as const) {
    if (!dir || !existsSync(dir)) continue;
    for (const d of readdirSync(dir).sort()) if (existsSync(join(dir, d, "model.tflite"))) files.push([`${prefix}/${d}`, join(dir, d, "model.tflite")]);
  }
  const baselinePath = process.env.WISP_BASELINE;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const baseline: typeof convertTflite | null = baselinePath ? require(resolve(baselinePath)).convertTflite : null;
  console.log(`\nreal models that convert (${files.length} tried)${baseline ? `; baseline: ${baselinePath}` : ""}`);
  const rows = [["model", "ops", "arena bytes", ...(baseline ? ["baseline arena", "change"] : []), "plan ms", "search steps"]];
  let worse = 0;
  for (const [name, path] of files) {
    const bytes = new Uint8Array(readFileSync(path));
    let graph: Graph;
    try {
      graph = lower(readTflite(bytes));
    } catch {
      continue; // an op or type Wisp does not run yet
    }
    const { ms: t, plan } = timePlan(graph);
    const row = [name, String(graph.ops.length), String(plan.arenaBytes)];
    if (baseline) {
      const before = baseline(bytes).info.arenaBytes;
      if (plan.arenaBytes > before) worse++;
      row.push(String(before), plan.arenaBytes === before ? "same" : String(plan.arenaBytes - before));
    }
    rows.push([...row, t.toFixed(1), String(plan.work!.steps)]);
  }
  printTable(rows, [0]);
  if (baseline) console.log(`${worse} models with a bigger arena than the baseline`);
}

runMain(() => {
  console.log(`Arena planner, Node ${process.version}; plan ms is the median of 5 runs (1000 ops: 3; more: 1)`);
  const warm = lower(readTflite(fanOutModel(50)));
  for (let i = 0; i < 5; i++) planArena(warm); // let V8 compile the planner first
  growthTable("chain of QUANTIZE ops (2 tensors live at a time)", chainModel);
  growthTable("fan-out then ADD chain (half the tensors live at once)", (ops) => fanOutModel(Math.ceil((ops + 1) / 2)));
  targets();
  realModels();
});
