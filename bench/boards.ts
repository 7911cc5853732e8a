// `npm run bench:boards` (and the second half of `npm run bench`): every
// model on every emulated target, with the wasm2c AOT engine and, when
// wasm3's source is found (host/node/wasm3-source.ts), the wasm3
// interpreter: guest instructions per inference, instructions per MAC, flash
// and RAM; a combination that does not fit says so with the bytes.
// `--host-kernels` prints only the M4 table of the host kernels (AOT and
// wasm3, each pure and with them, against TFLM); `--models kws,ad` limits it.
// `--update-budget` rewrites the AOT and wasm3 (small-device configuration)
// instruction budgets the tests hold to; `--if-available` skips, with a
// note, on a machine without the toolchain.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DoesNotFit, Engine, missingTools } from "../host/boards/build";
import { measureListenOnBoard } from "../host/boards/listen";
import { BoardMeasurement, measureOnBoard } from "../host/boards/measure";
import { HOST_KERNEL_BOARD, PURE_BUDGET_KEY, TFLM_CMSIS_NN, TFLM_REFERENCE, WASM3_HOST_BUDGET_KEY } from "../host/boards/matrix";
import { BUDGET_FILE, ModelPlacement, WASM3_BUDGET_KEY, TARGETS, targetMatrix, WASM3_BOARD, WASM3_PLACEMENT, WASM3_RAM_GOALS, ZOO2_BOARD, ZOO2_FIRMWARE_MODELS, ZOO2_PLACEMENT } from "../host/boards/matrix";
import { findModelsDir, findZoo2Dir, MISSING_MODELS_HINT, Task, TASKS } from "../host/node/models";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { printTable, runMain } from "./measure";

const VECTORS = 3;

function main(): number {
  const dir = findModelsDir();
  if (!dir) {
    console.error(MISSING_MODELS_HINT);
    return 1;
  }
  const missing = missingTools();
  if (missing.length && process.argv.includes("--if-available")) {
    console.log(`\nEmulated boards: skipped, toolchain missing (${missing.join(", ")}); run host/c/install-toolchain.sh as root.`);
    return 0;
  }
  if (process.argv.includes("--host-kernels")) return hostKernelTable(dir);
  const rows = [["target", "core", "model", "engine", "model in", "exact", "instructions/inference", "instr/MAC", "flash bytes", "runtime flash", "RAM bytes", "linear memory", "heap", "peak stack"]];
  const budget: Record<string, Record<string, number>> = {};
  const engines: Engine[] = findWasm3Dir() ? ["aot", "wasm3"] : ["aot"];
  if (engines.length === 1) console.log(`wasm3 rows skipped: ${MISSING_WASM3_HINT}`);
  // Every target with the model where the matrix puts it (RAM, except on the
  // micro:bit); the M4 also with it in flash, and for wasm3 as a small device
  // runs it (WASM3_PLACEMENT, the model's own module).
  // (wasm3's heap alone exceeds the micro:bit's RAM.)
  const runs = targetMatrix().flatMap(({ board, task, placement }) => engines.filter((e) => e === "aot" || board !== "microbit").flatMap((engine) => [
    { board, task, modelDir: join(dir, task), engine, placement, budgeted: true, ownModule: false },
    ...(board === "mps2-an386" ? [{ board, task, modelDir: join(dir, task), engine, placement: { fromFlash: true } as ModelPlacement, budgeted: false, ownModule: false }] : []),
    ...(board === WASM3_BOARD && engine === "wasm3" ? [{ board, task, modelDir: join(dir, task), engine, placement: WASM3_PLACEMENT, budgeted: false, ownModule: true }] : []),
  ]));
  const zoo2 = findZoo2Dir();
  if (zoo2) for (const name of ZOO2_FIRMWARE_MODELS) runs.push({ board: ZOO2_BOARD, task: name as never, modelDir: join(zoo2, name), engine: "aot", placement: ZOO2_PLACEMENT, budgeted: true, ownModule: false });
  const small: { task: string; ram: number }[] = [];
  let failures = 0;
  for (const { board, task, modelDir, engine, placement, budgeted, ownModule } of runs) {
    const where = !placement.fromFlash ? "RAM" : `${placement.modelFile ? "file" : "flash"}${placement.weightWindow ? ` (${placement.weightWindow} B window)` : ""}`;
    const label = [board, TARGETS[board], task, ownModule ? `${engine}, own module` : engine, where];
    const m = measureOrRow(rows, label, () => measureOnBoard(board, task, modelDir, VECTORS, engine, placement, ownModule));
    if (typeof m === "string") {
      if (m === "failed") failures++;
      continue;
    }
    if (engine === "aot" && budgeted) (budget[board] ??= {})[task] = m.instructionsPerInference;
    if (ownModule) (budget[WASM3_BUDGET_KEY] ??= {})[task] = m.instructionsPerInference;
    if (ownModule) small.push({ task, ram: m.ramBytes });
    rows.push([...label, `${m.exact}/${m.vectors}`, m.instructionsPerInference.toLocaleString("en-US"), m.instructionsPerMac.toFixed(2),
      m.flashBytes.toLocaleString("en-US"), m.runtimeFlashBytes.toLocaleString("en-US"), m.ramBytes.toLocaleString("en-US"),
      m.linearMemoryBytes.toLocaleString("en-US"), m.heapBytes.toLocaleString("en-US"), String(m.peakStackBytes)]);
  }
  printTable(rows, [0, 1, 2, 3, 4]);
  if (small.length) {
    console.log(`\nwasm3 RAM on ${WASM3_BOARD} (model in flash, ${WASM3_PLACEMENT.weightWindow} B window, own module): .data + .bss + heap high-water mark + peak stack`);
    printTable([["model", "RAM bytes", "goal", "within"], ...small.map(({ task, ram }) => {
      const goal = WASM3_RAM_GOALS[task as Task];
      return [task, ram.toLocaleString("en-US"), goal.toLocaleString("en-US"), ram <= goal ? "yes" : "no"];
    })], [0]);
  }

  // Streaming wakeword on the M4: 32 ms hops at 120 MHz and one instruction
  // per cycle leave 3.84 M instructions per hop.
  const listen = measureListenOnBoard("mps2-an386", dir);
  const budgetPerHop = 120e6 * 0.032;
  const n = (v: number) => v.toLocaleString("en-US");
  console.log(`\nsww streaming on mps2-an386 (AOT, model in flash), instructions per 32 ms hop and duty cycle at 120 MHz, 1 instruction per cycle:`);
  printTable([
    ["pipeline", "windows byte-exact", "instructions/hop", "duty", "linear memory"],
    ["front end only", "", n(listen.featuresInstructionsPerHop), (listen.featuresInstructionsPerHop / budgetPerHop).toFixed(3), ""],
    ["front end + full re-run", `${listen.exact}/${listen.windows}`, n(listen.instructionsPerHop), (listen.instructionsPerHop / budgetPerHop).toFixed(3), n(listen.linearMemoryBytes)],
    ["front end + incremental", `${listen.incrementalExact}/${listen.windows}`, n(listen.incrementalInstructionsPerHop), (listen.incrementalInstructionsPerHop / budgetPerHop).toFixed(3), n(listen.incrementalLinearMemoryBytes)],
  ], [0]);
  if (process.argv.includes("--update-budget")) {
    // Entries this run does not measure (wasm3 without WASM3_DIR here, the
    // --host-kernels table's) stay as they were.
    const file = join(PACKAGE_ROOT, BUDGET_FILE);
    const previous: Record<string, Record<string, number>> = JSON.parse(readFileSync(file, "utf8"));
    for (const key of Object.keys(previous)) budget[key] ??= previous[key];
    writeFileSync(file, JSON.stringify(budget, null, 2) + "\n");
    console.log(`\nwrote ${BUDGET_FILE}`);
  }
  if (failures) console.error(`\n${failures} measurements failed`);
  return failures ? 1 : 0;
}

// Per model on the M4, model in RAM: AOT and wasm3, pure and with the host
// kernels; instructions per inference against TFLM+CMSIS-NN and TFLM's
// reference kernels on the same emulated M4, RAM and flash.
function hostKernelTable(dir: string): number {
  const at = process.argv.indexOf("--models");
  const tasks = at > 0 ? (process.argv[at + 1] ?? "").split(",") as Task[] : TASKS;
  const engines: Engine[] = findWasm3Dir() ? ["aot", "wasm3"] : ["aot"];
  if (engines.length === 1) console.log(`wasm3 rows skipped: ${MISSING_WASM3_HINT}`);
  const rows = [["model", "engine", "host kernels", "exact", "instructions/inference", "x TFLM+CMSIS-NN", "x TFLM reference", "RAM bytes", "flash bytes", "runtime flash"]];
  const file = join(PACKAGE_ROOT, BUDGET_FILE);
  const budget: Record<string, Record<string, number>> = JSON.parse(readFileSync(file, "utf8"));
  let failures = 0;
  for (const task of tasks) {
    for (const engine of engines) {
      for (const hostKernels of [false, true]) {
        const label = [task, engine, hostKernels ? "yes" : "no"];
        const m = measureOrRow(rows, label, () => measureOnBoard(HOST_KERNEL_BOARD, task, join(dir, task), VECTORS, engine, {}, false, hostKernels));
        if (typeof m === "string") {
          if (m === "failed") failures++;
          continue;
        }
        const n = m.instructionsPerInference;
        if (engine === "aot") (budget[hostKernels ? HOST_KERNEL_BOARD : PURE_BUDGET_KEY] ??= {})[task] = n;
        else if (hostKernels) (budget[WASM3_HOST_BUDGET_KEY] ??= {})[task] = n;
        rows.push([...label, `${m.exact}/${m.vectors}`, n.toLocaleString("en-US"), (n / TFLM_CMSIS_NN[task]).toFixed(2), (n / TFLM_REFERENCE[task]).toFixed(3),
          m.ramBytes.toLocaleString("en-US"), m.flashBytes.toLocaleString("en-US"), m.runtimeFlashBytes.toLocaleString("en-US")]);
      }
    }
  }
  console.log(`\nHost kernels on ${HOST_KERNEL_BOARD} (${TARGETS[HOST_KERNEL_BOARD]}), model in RAM, guest instructions per inference; TFLM measured on the same QEMU M4`);
  printTable(rows, [0, 1, 2]);
  if (process.argv.includes("--update-budget")) {
    writeFileSync(file, JSON.stringify(budget, null, 2) + "\n");
    console.log(`\nwrote ${BUDGET_FILE} (${HOST_KERNEL_BOARD}, ${PURE_BUDGET_KEY}, ${WASM3_HOST_BUDGET_KEY})`);
  }
  return failures ? 1 : 0;
}

// One combination measured, or its row: a combination that does not fit is a
// finding ("does not fit"), anything else that throws a failure of the run.
function measureOrRow(rows: string[][], label: string[], measure: () => BoardMeasurement): BoardMeasurement | "does not fit" | "failed" {
  try {
    return measure();
  } catch (e) {
    if (e instanceof DoesNotFit) {
      rows.push([...label, `does not fit: needs at least ${e.needed.toLocaleString("en-US")} bytes of ${e.memory}, the board has ${e.available.toLocaleString("en-US")}`]);
      return "does not fit";
    }
    rows.push([...label, `failed: ${(e as Error).message}`]);
    return "failed";
  }
}

runMain(main);
