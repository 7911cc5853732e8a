// The MLPerf Tiny DUT firmware (firmware/dut.c) for one benchmark task in
// QEMU, with the board's UART on a pseudo-terminal, so that the official
// MLPerf Tiny runner (mlcommons/tiny benchmark/runner) opens it as it opens
// a USB-serial board. The runner finds boards by USB id, which a pty has
// not: docs/mlperf-tiny-runner.md gives the few-line shim that reports the
// pty to it under the ids of host/boards/mlperf/devices_wisp.yaml.
import { ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../convert";
import { fail } from "../errors";
import { BOARDS_DIR, buildGoldenFirmware, readBoard } from "./build";

// The runner's model names (the DUT's m-model- reply picks the test script).
export const RUNNER_MODELS = { kws: "kws01", ic: "ic01", vww: "vww01", ad: "ad01" } as const;
export type RunnerTask = keyof typeof RUNNER_MODELS;

export const MLPERF_BOARD = "mps2-an386"; // Cortex-M4F, the runner's reference boards' core
export const DEVICES_YAML = join(BOARDS_DIR, "mlperf", "devices_wisp.yaml");

export function isRunnerTask(task: string): task is RunnerTask {
  return Object.prototype.hasOwnProperty.call(RUNNER_MODELS, task);
}

// Builds the DUT firmware for a task's model (kept in flash, as on a board).
export function buildTaskDut(task: RunnerTask, modelsDir: string): string {
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(modelsDir, task, "model.tflite"))));
  return buildGoldenFirmware({
    board: MLPERF_BOARD, program: "dut", fromFlash: true, name: `mlperf-${task}`, modelVersion: RUNNER_MODELS[task], wisp, arenaBytes: info.arenaBytes,
    count: 0, inputs: new Uint8Array(0), outputs: new Uint8Array(0),
    inputScale: info.input.scale, inputZeroPoint: info.input.zeroPoint, outputScale: info.output.scale, outputZeroPoint: info.output.zeroPoint,
  }).elf;
}

export interface PtyDut {
  port: string; // the pty's slave, e.g. /dev/pts/3
  exited: Promise<number | null>;
  close(): void;
}

// Starts QEMU with the UART on a new pty. icountShift makes the DUT's timer
// count guest instructions (2^shift ns each) instead of host time.
export function startPtyDut(elf: string, options: { board?: string; icountShift?: number } = {}): Promise<PtyDut> {
  const qemu = readBoard(options.board ?? MLPERF_BOARD).qemu;
  const icount = options.icountShift === undefined ? [] : ["-icount", `shift=${options.icountShift}`];
  const child: ChildProcess = spawn(qemu[0], [...qemu.slice(1), "-nographic", "-monitor", "none", "-serial", "pty", ...icount,
    "-semihosting-config", "enable=on,target=native", "-kernel", elf], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let said = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`QEMU named no pty within 10 s: ${said.trim()}`));
    }, 10_000);
    const look = (chunk: Buffer) => {
      said += chunk.toString();
      // QEMU: "char device redirected to /dev/pts/3 (label serial0)"
      const m = /redirected to (\/dev\/\S+)/.exec(said);
      if (m) {
        clearTimeout(timer);
        resolve({ port: m[1], exited, close: () => child.kill() });
      }
    };
    child.stdout!.on("data", look);
    child.stderr!.on("data", look);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`QEMU exited (${code}) before naming its pty: ${said.trim()}`));
    });
  });
}

export function runnerTask(task: string): RunnerTask {
  if (!isRunnerTask(task)) fail("USAGE", `--task must be one of ${Object.keys(RUNNER_MODELS).join(", ")}`);
  return task;
}
