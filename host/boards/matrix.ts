// The emulated targets and which models each runs in the tests and the
// benchmark: kws, ad and sww everywhere; ic and vww on the M4 and the M55.
import { TASKS, Task } from "../node/models";

export const TARGETS: Record<string, string> = {
  "mps2-an386": "Cortex-M4",
  "mps2-an500": "Cortex-M7",
  "mps2-an505": "Cortex-M33",
  "mps3-an547": "Cortex-M55",
  "virt-rv32": "rv32imc",
};

export function targetMatrix(): { board: string; task: Task }[] {
  return Object.keys(TARGETS).flatMap((board) =>
    TASKS.filter((t) => ["kws", "ad", "sww"].includes(t) || board === "mps2-an386" || board === "mps3-an547").map((task) => ({ board, task })));
}

// RAM goals (bytes: .data + .bss + heap + peak stack) with the model left in
// flash, checked on the Cortex-M4.
export const RAM_GOALS: Record<string, number> = { kws: 64 * 1024, vww: 256 * 1024 };

// Committed instruction counts per inference; the tests fail when a count
// grows more than 2% over its budget.
export const BUDGET_FILE = "bench/instruction-budget.json";
export const BUDGET_TOLERANCE = 0.02;
