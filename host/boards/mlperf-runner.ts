// One session of the official MLPerf Tiny runner (main.py, through the
// wisp_dut.py shim of docs/mlperf-tiny-runner.md) against the emulated DUT:
// start the DUT on a pty, run the runner in a fresh folder (it writes
// sessions/<time>/results.txt under its working directory), stop the DUT.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors";
import { DEVICES_YAML, startPtyDut } from "./mlperf-dut";

export const SHIM = "wisp_dut.py";
const RUNNER_MODULES = "import serial, yaml, numpy, sklearn, matplotlib, usb";

// A Python with the runner's packages: $MLPERF_PYTHON, python3, or Debian's
// /usr/bin/python3 (where apt-get puts them when another python3 comes first).
export function runnerPython(): string | null {
  for (const python of [process.env.MLPERF_PYTHON, "python3", "/usr/bin/python3"]) {
    if (python && spawnSync(python, ["-c", RUNNER_MODULES]).status === 0) return python;
  }
  return null;
}

// Why the runner cannot run here, or null when it can.
export function runnerMissing(runnerDir: string | undefined): string | null {
  if (!runnerDir) return "MLPERF_TINY_DIR is not set (the folder of mlcommons/tiny's benchmark/runner)";
  if (!existsSync(join(runnerDir, "main.py"))) return `no main.py in MLPERF_TINY_DIR=${runnerDir}`;
  if (!existsSync(join(runnerDir, SHIM))) return `no ${SHIM} in ${runnerDir}: create it as docs/mlperf-tiny-runner.md shows`;
  if (!runnerPython()) return `no Python with the runner's packages (${RUNNER_MODULES}); see docs/mlperf-tiny-runner.md`;
  return null;
}

export interface RunnerSession {
  results: string; // sessions/<time>/results.txt
  log: string; // the runner's console output
  json: Record<string, unknown>[]; // sessions/<time>/results.json
  seconds: number; // wall time of the runner
}

export async function runRunnerSession(options: {
  runnerDir: string;
  elf: string; // the task's DUT firmware (buildTaskDut)
  mode: "a" | "p";
  datasets: string; // the folder holding kws01/, ic01/, ...
  workDir: string; // emptied, then the runner's working directory
  testScript?: string; // default: the runner's own tests_accuracy.yaml / tests_performance.yaml
  icountShift?: number;
  timeoutMs?: number;
}): Promise<RunnerSession> {
  const missing = runnerMissing(options.runnerDir);
  if (missing) fail("USAGE", missing);
  rmSync(options.workDir, { recursive: true, force: true });
  mkdirSync(options.workDir, { recursive: true });
  const script = options.testScript ?? join(options.runnerDir, options.mode === "a" ? "tests_accuracy.yaml" : "tests_performance.yaml");
  const dut = await startPtyDut(options.elf, { icountShift: options.icountShift });
  const started = Date.now();
  try {
    const runner = spawn(runnerPython()!, [join(options.runnerDir, SHIM), "-d", DEVICES_YAML, "-t", script, "-s", options.datasets, "-m", options.mode],
      { cwd: options.workDir, env: { ...process.env, WISP_DUT_PORT: dut.port }, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    runner.stdout.on("data", (c) => (log += c));
    runner.stderr.on("data", (c) => (log += c));
    const timer = setTimeout(() => runner.kill(), options.timeoutMs ?? 1_800_000);
    const code = await new Promise<number | null>((resolve) => runner.once("exit", resolve));
    clearTimeout(timer);
    const seconds = (Date.now() - started) / 1000;
    const m = /Session logged in file (\S+)log\.txt/.exec(log);
    if (code !== 0 || !m) fail("IO", `the MLPerf Tiny runner failed (exit ${code}): ${log.trim().split("\n").filter((l) => /\w/.test(l)).slice(-6).join(" | ")}`);
    const session = join(options.workDir, m[1]);
    return { results: readFileSync(join(session, "results.txt"), "utf8"), log, json: JSON.parse(readFileSync(join(session, "results.json"), "utf8")), seconds };
  } finally {
    dut.close();
  }
}
