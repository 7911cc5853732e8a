// The emulated targets and which models each runs in the tests and the
// benchmark: kws, ad and sww on every board with the RAM for them; ic and vww
// on the M4 and the M55; ad and sww on the 16 KiB micro:bit.
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

// The micro:bit has 16 KiB of RAM and 256 KiB of flash, so its models
// stream their weights through a small window: ad's 264 KB exceed the
// flash and come from a file; sww's stay in flash, through a 300-byte
// window (its linear memory is then 13,136 bytes, and RAM 15,620 in all).
// kws's 10.5 KB arena does not fit beside the module's static data.
export const SMALL_BOARD_PLACEMENT: Record<string, Partial<Record<Task, ModelPlacement>>> = {
  microbit: {
    ad: { fromFlash: true, weightWindow: 1024, modelFile: true },
    sww: { fromFlash: true, weightWindow: 300 },
  },
};

export function targetMatrix(): { board: string; task: Task; placement: ModelPlacement }[] {
  return Object.keys(TARGETS).flatMap((board) => {
    const small = SMALL_BOARD_PLACEMENT[board];
    if (small) return TASKS.filter((t) => small[t]).map((task) => ({ board, task, placement: small[task]! }));
    return TASKS.filter((t) => ["kws", "ad", "sww"].includes(t) || board === "mps2-an386" || board === "mps3-an547").map((task) => ({ board, task, placement: {} }));
  });
}

// Whole architectures from ../shared/zoo2 (models for the ops beyond MLPerf
// Tiny's) on the Cortex-M4, model in flash: a MobileNetV2, a FOMO detector,
// a conv + unrolled-LSTM keyword model, and TFLM's stateful examples (the
// LSTM keyword model, DTLN's two LSTMs, the SVDF keyword model: their
// vectors run in sequence after one load, so the state carries), budgeted
// like the rest.
export const ZOO2_BOARD = "mps2-an386";
export const ZOO2_FIRMWARE_MODELS = ["net_mobilenetv2_035_96", "net_fomo_96", "net_dscnn_kws_lstm", "real_micro_speech_lstm", "real_dtln_noise_suppression", "real_keyword_scrambled"];
export const ZOO2_PLACEMENT: ModelPlacement = { fromFlash: true };

// RAM goals (bytes: .data + .bss + heap + peak stack) with the model left in
// flash, checked on the Cortex-M4; ad's is the micro:bit's whole RAM, checked
// there by the matrix (the link fails beyond it).
export const RAM_GOALS: Record<string, number> = { kws: 64 * 1024, vww: 256 * 1024 };

// wasm3 on the Cortex-M4 as a small device runs it: the model in flash
// through an 8 KiB weights window, a module with only the model's kernels
// (perModelModule), wasm3 sized by host/c/wasm3/wasm3_small_ram.h. RAM goals
// (bytes: .data + .bss + the heap's high-water mark + peak stack), checked by
// the tests for WASM3_FIRMWARE_MODELS and printed by the benchmark for all.
export const WASM3_BOARD = "mps2-an386";
export const WASM3_PLACEMENT: ModelPlacement = { fromFlash: true, weightWindow: 8192 };
export const WASM3_RAM_GOALS: Record<Task, number> = { kws: 96 * 1024, ic: 160 * 1024, vww: 160 * 1024, ad: 160 * 1024, sww: 160 * 1024 };
export const WASM3_FIRMWARE_MODELS: Task[] = ["kws", "ad"];
// Their instruction budgets' entry in BUDGET_FILE.
export const WASM3_BUDGET_KEY = "mps2-an386 wasm3";

// Committed instruction counts per inference; the tests fail when a count
// grows more than 2% over its budget.
export const BUDGET_FILE = "bench/instruction-budget.json";
export const BUDGET_TOLERANCE = 0.02;

// The M4 with and without the host kernels (host/c/host_kernels.c), each
// engine, model in RAM, next to TFLM's instructions per inference measured
// on the same QEMU M4: with CMSIS-NN, and with its reference kernels.
export const HOST_KERNEL_BOARD = "mps2-an386";
export const TFLM_CMSIS_NN: Record<Task, number> = { kws: 7.70e6, ic: 29.9e6, vww: 24.1e6, ad: 0.583e6, sww: 2.23e6 };
export const TFLM_REFERENCE: Record<Task, number> = { kws: 198.6e6, ic: 824.1e6, vww: 552.4e6, ad: 1.95e6, sww: 59.2e6 };
// Their budgets' entries in BUDGET_FILE: the pure paths (the board's own
// entry and WASM3_BUDGET_KEY hold the default, host kernels on).
export const PURE_BUDGET_KEY = "mps2-an386 pure";
export const WASM3_HOST_BUDGET_KEY = "mps2-an386 wasm3 ram";
