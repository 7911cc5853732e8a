// The official MLPerf Tiny runner against Wisp's emulated DUT
// (docs/mlperf-tiny-runner.md):
//   node dist/bench-mlperf.js dut --task kws [--icount SHIFT]
//     builds the DUT firmware for the task, runs it in QEMU with its UART on
//     a pty, prints the pty and waits (Ctrl-C stops it);
//   node dist/bench-mlperf.js dataset [--out DIR] [--tasks kws,ic,vww,ad]
//     writes the runner's dataset folders (ad01, ic01, kws01, vww01) from the
//     golden vectors, and the accuracy the reference gets on them;
//   MLPERF_TINY_DIR=<runner> node dist/bench-mlperf.js session --task kws --mode a|p [--icount SHIFT] [--limit N] [--test-script YAML]
//     all of it: the dataset, the DUT, one runner session; prints the
//     runner's results file beside the reference's figures.
import { basename, join, resolve } from "node:path";
import { writeFileSync } from "node:fs";
import { writeRunnerDataset } from "../host/boards/mlperf-dataset";
import { buildTaskDut, RUNNER_MODELS, runnerTask, startPtyDut } from "../host/boards/mlperf-dut";
import { runRunnerSession } from "../host/boards/mlperf-runner";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { WispError } from "../host/errors";
import { findModelsDir, MISSING_MODELS_HINT } from "../host/node/models";

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<number> {
  const models = findModelsDir();
  if (!models) {
    console.error(MISSING_MODELS_HINT);
    return 1;
  }
  const command = process.argv[2];
  if (command === "dut") {
    const task = runnerTask(flag("--task") ?? "");
    const shift = flag("--icount");
    const dut = await startPtyDut(buildTaskDut(task, models), { icountShift: shift === undefined ? undefined : Number(shift) });
    console.log(`MLPerf Tiny DUT (${task}) on ${dut.port}`);
    console.log(`run the runner with: WISP_DUT_PORT=${dut.port} python3 wisp_dut.py -d <repo>/host/boards/mlperf/devices_wisp.yaml ...`);
    process.on("SIGINT", () => dut.close());
    process.on("SIGTERM", () => dut.close());
    const code = await dut.exited;
    return code === 0 || code === null ? 0 : 1;
  }
  if (command === "dataset") {
    const out = flag("--out") ?? join(PACKAGE_ROOT, "build", "mlperf", "datasets");
    const tasks = (flag("--tasks") ?? Object.keys(RUNNER_MODELS).join(",")).split(",").map(runnerTask);
    const limit = flag("--limit");
    const reference: Record<string, unknown> = {};
    for (const task of tasks) {
      const d = writeRunnerDataset(task, models, out, limit === undefined ? undefined : Number(limit));
      reference[d.model] = { files: d.files.length, top1: d.reference.top1, auc: d.reference.auc, source: d.source };
      console.log(`${d.dir}: ${d.files.length} files; the reference (TFLM) scores Top 1% = ${d.reference.top1}, AUC = ${d.reference.auc}`);
    }
    writeFileSync(join(out, "reference.json"), JSON.stringify(reference, null, 1) + "\n");
    return 0;
  }
  if (command === "session") {
    const task = runnerTask(flag("--task") ?? "");
    const mode = flag("--mode") ?? "a";
    if (mode !== "a" && mode !== "p") throw new WispError("USAGE", "--mode is a (accuracy) or p (performance)");
    const limit = flag("--limit");
    const shift = flag("--icount");
    const datasets = join(PACKAGE_ROOT, "build", "mlperf", "datasets");
    const script = flag("--test-script") && resolve(flag("--test-script")!); // the runner runs in its own folder
    const d = writeRunnerDataset(task, models, datasets, limit === undefined ? undefined : Number(limit));
    const s = await runRunnerSession({
      runnerDir: process.env.MLPERF_TINY_DIR ?? "", elf: buildTaskDut(task, models), mode, datasets,
      testScript: script, workDir: join(PACKAGE_ROOT, "build", "mlperf", "sessions", `${task}-${mode}${shift === undefined ? "" : `-icount${shift}`}${script ? `-${basename(script, ".yaml")}` : ""}`), icountShift: shift === undefined ? undefined : Number(shift),
    });
    process.stdout.write(s.results);
    console.log(`(runner session: ${s.seconds.toFixed(1)} s; DUT timer: ${shift === undefined ? "QEMU's virtual clock following host time" : `guest instructions, 2^${shift} ns each`})`);
    if (mode === "a") console.log(`reference (TFLM golden outputs, ${d.files.length} files): Top 1% = ${d.reference.top1}, AUC = ${d.reference.auc}`);
    return 0;
  }
  console.error("usage: bench-mlperf.js dut --task kws|ic|vww|ad [--icount SHIFT] | dataset [--out DIR] [--tasks kws,ic,vww,ad] [--limit N] | session --task T --mode a|p [--icount SHIFT] [--limit N] [--test-script YAML]");
  return 2;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e instanceof WispError ? `error (${e.code}): ${e.message}` : e);
  process.exit(1);
});
