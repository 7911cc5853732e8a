// `npm run bench:boards` (and the second half of `npm run bench`): every
// model on every emulated target, with the wasm2c AOT engine and, when
// WASM3_DIR is set, the wasm3 interpreter: guest instructions per inference,
// instructions per MAC, flash and RAM. `--update-budget` rewrites the AOT
// instruction budget the tests hold to; `--if-available` skips, with a note,
// on a machine without the toolchain.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Engine, missingTools } from "../host/boards/build";
import { measureListenOnBoard } from "../host/boards/listen";
import { measureOnBoard } from "../host/boards/measure";
import { BUDGET_FILE, TARGETS, targetMatrix, ZOO2_BOARD, ZOO2_FIRMWARE_MODELS, ZOO2_PLACEMENT } from "../host/boards/matrix";
import { findModelsDir, findZoo2Dir, MISSING_MODELS_HINT } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { printTable } from "./measure";

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
  const rows = [["target", "core", "model", "engine", "model in", "exact", "instructions/inference", "instr/MAC", "flash bytes", "runtime flash", "RAM bytes", "linear memory", "heap", "peak stack"]];
  const budget: Record<string, Record<string, number>> = {};
  const engines: Engine[] = process.env.WASM3_DIR ? ["aot", "wasm3"] : ["aot"];
  // Every target with the model where the matrix puts it (RAM, except on the
  // micro:bit); the M4 also with it in flash.
  // (wasm3's heap alone exceeds the micro:bit's RAM.)
  const runs = targetMatrix().flatMap(({ board, task, placement }) => engines.filter((e) => e === "aot" || board !== "microbit").flatMap((engine) => [
    { board, task, modelDir: join(dir, task), engine, placement, budgeted: true },
    ...(board === "mps2-an386" ? [{ board, task, modelDir: join(dir, task), engine, placement: { fromFlash: true }, budgeted: false }] : []),
  ]));
  const zoo2 = findZoo2Dir();
  if (zoo2) for (const name of ZOO2_FIRMWARE_MODELS) runs.push({ board: ZOO2_BOARD, task: name as never, modelDir: join(zoo2, name), engine: "aot", placement: ZOO2_PLACEMENT, budgeted: true });
  for (const { board, task, modelDir, engine, placement, budgeted } of runs) {
    {
      const m = measureOnBoard(board, task, modelDir, VECTORS, engine, placement);
      if (engine === "aot" && budgeted) (budget[board] ??= {})[task] = m.instructionsPerInference;
      const where = !placement.fromFlash ? "RAM" : `${placement.modelFile ? "file" : "flash"}${placement.weightWindow ? ` (${placement.weightWindow} B window)` : ""}`;
      rows.push([board, TARGETS[board], task, engine, where, `${m.exact}/${m.vectors}`, m.instructionsPerInference.toLocaleString("en-US"), m.instructionsPerMac.toFixed(2),
        m.flashBytes.toLocaleString("en-US"), m.runtimeFlashBytes.toLocaleString("en-US"), m.ramBytes.toLocaleString("en-US"),
        m.linearMemoryBytes.toLocaleString("en-US"), m.heapBytes.toLocaleString("en-US"), String(m.peakStackBytes)]);
    }
  }
  printTable(rows, [0, 1, 2, 3, 4]);

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
    writeFileSync(join(PACKAGE_ROOT, BUDGET_FILE), JSON.stringify(budget, null, 2) + "\n");
    console.log(`\nwrote ${BUDGET_FILE}`);
  }
  return 0;
}

process.exitCode = main();
