// The emulated targets and which models each runs in the tests and the
// benchmark: kws, ad and sww on every board with the RAM for them; ic and vww
// on the M4 and the M55; ad alone on the 16 KiB micro:bit.
import { TASKS, Task } from "../node/models";

export const TARGETS: Record<string, string> = {
  "mps2-an386": "Cortex-M4",
  "mps2-an500": "Cortex-M7",
  "mps2-an505": "Cortex-M33",
  "mps3-an547": "Cortex-M55",
  "virt-rv32": "rv32imc",
  microbit: "Cortex-M0",
};

// Where a firmware keeps the model: copied to RAM (the default), or left in
// flash and streamed through a weights window, optionally from a file read
// over semihosting (an external flash on a real board).
export interface ModelPlacement {
  fromFlash?: boolean;
  weightWindow?: number; // bytes; 0 or absent: room for the largest op
  modelFile?: boolean;
}

// The micro:bit has 16 KiB of RAM and 256 KiB of flash. ad's linear memory
// there is the module's static data, its graph, its 768-byte arena and a
// 1 KiB weights window; its 264 KB of weights exceed the flash, so they come
// from a file. kws (10.5 KB arena) and sww (an in-place op needs a 17.9 KB
// window) need more RAM than the board has.
export const BOARD_PLACEMENT: Record<string, ModelPlacement> = {
  microbit: { fromFlash: true, weightWindow: 1024, modelFile: true },
};

export function targetMatrix(): { board: string; task: Task; placement: ModelPlacement }[] {
  return Object.keys(TARGETS).flatMap((board) =>
    TASKS.filter((t) => board === "microbit" ? t === "ad" : ["kws", "ad", "sww"].includes(t) || board === "mps2-an386" || board === "mps3-an547")
      .map((task) => ({ board, task, placement: BOARD_PLACEMENT[board] ?? {} })));
}

// RAM goals (bytes: .data + .bss + heap + peak stack) with the model left in
// flash, checked on the Cortex-M4; ad's is the micro:bit's whole RAM, checked
// there by the matrix (the link fails beyond it).
export const RAM_GOALS: Record<string, number> = { kws: 64 * 1024, vww: 256 * 1024 };

// Committed instruction counts per inference; the tests fail when a count
// grows more than 2% over its budget.
export const BUDGET_FILE = "bench/instruction-budget.json";
export const BUDGET_TOLERANCE = 0.02;
