// The official MLPerf Tiny runner (mlcommons/tiny benchmark/runner, with the
// wisp_dut.py shim of docs/mlperf-tiny-runner.md) against the DUT firmware on
// the emulated Cortex-M4: a short accuracy session for kws and ad, and the
// runner's kws performance script (counts raised for 10 s of DUT time) with
// the DUT's timer counting guest instructions. Runs when MLPERF_TINY_DIR
// names the runner's folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingTools } from "../host/boards/build";
import { parseResults, writeRunnerDataset } from "../host/boards/mlperf-dataset";
import { buildTaskDut, MLPERF_BOARD, RunnerTask } from "../host/boards/mlperf-dut";
import { runnerMissing, runRunnerSession } from "../host/boards/mlperf-runner";
import { findModelsDir } from "../host/node/models";
import { PACKAGE_ROOT } from "./helpers";

const RUNNER = process.env.MLPERF_TINY_DIR;
const tools = missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]);
const skip = tools.length ? `toolchain missing (${tools.join(", ")}): run host/c/install-toolchain.sh as root`
  : !findModelsDir() ? "MLPerf Tiny models not found" : runnerMissing(RUNNER) ?? false;

async function accuracySession(task: RunnerTask, files: number): Promise<void> {
  const models = findModelsDir()!;
  const work = mkdtempSync(join(tmpdir(), "wisp-mlperf-"));
  try {
    const dataset = writeRunnerDataset(task, models, join(work, "datasets"), files);
    const s = await runRunnerSession({ runnerDir: RUNNER!, elf: buildTaskDut(task, models), mode: "a", datasets: join(work, "datasets"), workDir: join(work, "run") });
    // The runner's verdict is the reference's: TFLM's golden outputs scored the runner's way.
    assert.match(s.results, new RegExp(`ulp-mlperf: Top 1% = ${dataset.reference.top1.replace(".", "\\.")}\\n`), s.results);
    assert.match(s.results, new RegExp(`ulp-mlperf: AUC = ${dataset.reference.auc.replace(".", "\\.")}\\n`), s.results);
    // And so is every result the DUT sent, window by window.
    const sent = s.json.map((r) => ({ file: r.file as string, results: (r.infer as { results: number[] }).results }));
    const expected = dataset.files.flatMap((f) => f.results.map((line) => ({ file: f.name, results: parseResults(line) })));
    assert.deepEqual(sent, expected);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

test("MLPerf Tiny runner, accuracy mode, kws01: 12 inputs, one per class label", { skip }, () => accuracySession("kws", 12));

test("MLPerf Tiny runner, accuracy mode, ad01: float32 windows quantized and scored by the DUT (2 files x 8 windows)", { skip }, () => accuracySession("ad", 2));

test("MLPerf Tiny runner, performance mode, kws01 (tests_performance_wisp.yaml): the DUT's timer counts the emulated M4's instructions", { skip }, async () => {
  const models = findModelsDir()!;
  const work = mkdtempSync(join(tmpdir(), "wisp-mlperf-"));
  try {
    writeRunnerDataset("kws", models, join(work, "datasets"));
    // -icount shift=0: QEMU's clock advances 1 ns per guest instruction. The
    // script's counts make each window last over 10 s of that clock (and the
    // loop over the runner's 10 s of host time on any host that emulates).
    const s = await runRunnerSession({
      runnerDir: RUNNER!, elf: buildTaskDut("kws", models), mode: "p", datasets: join(work, "datasets"), workDir: join(work, "run"), icountShift: 0,
      testScript: join(PACKAGE_ROOT, "host", "boards", "mlperf", "tests_performance_wisp.yaml"),
    });
    const windows = [...s.results.matchAll(/# Inferences : (\d+)\n\s+Runtime: ([\d.]+) sec\.\n\s+Throughput: ([\d.]+) inf\.\/sec\.\n\s+Runtime requirements have been met\./g)];
    assert.equal(windows.length, 5, s.results);
    // Per inference, the instructions the QEMU plugin counts for kws on this board (bench:boards' budget).
    const budget = JSON.parse(readFileSync(join(PACKAGE_ROOT, "bench", "instruction-budget.json"), "utf8"))[MLPERF_BOARD].kws as number;
    for (const [, n, runtime] of windows) {
      const perInference = (Number(runtime) * 1e9) / Number(n);
      assert.ok(Math.abs(perInference / budget - 1) < 0.05, `${perInference} instructions per inference by the DUT's timer, ${budget} counted`);
    }
    assert.match(s.results, /ulp-mlperf: Median throughput is\s+[\d.]+ inf\.\/sec\./, s.results);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
