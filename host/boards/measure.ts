// Measures a model on an emulated board: byte-exactness, guest instructions
// per inference (two runs, with 1 and with N vectors, counted by the QEMU
// plugin: the difference over N - 1 leaves out startup and model loading),
// flash (code and constants, with and without the model) and RAM.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite, ModelInfo } from "../convert";
import { fail } from "../errors";
import { buildGoldenFirmware, DoesNotFit, Engine, perModelModule, readBoard, runFirmware, sectionSizes } from "./build";
import { ModelPlacement } from "./matrix";

export interface BoardMeasurement {
  board: string;
  engine: Engine;
  ownModule: boolean;
  placement: ModelPlacement;
  task: string;
  vectors: number;
  exact: number;
  instructionsPerInference: number;
  instructionsPerMac: number;
  flashBytes: number; // .text + .data of the firmware, model (unless read from a file) and vectors included
  runtimeFlashBytes: number; // the same without the model and the vectors
  ramBytes: number; // .data + .bss (the static linear memory included) + heap + peak stack
  linearMemoryBytes: number;
  heapBytes: number;
  peakStackBytes: number;
  hostKernels: number; // the mask the firmware's host offered (host/c/host_kernels.h)
}


// `ownModule` (wasm3): embed a module with only the model's kernels.
// `hostKernels`: with or without the native host kernels (default: the board's).
export function measureOnBoard(board: string, task: string, modelDir: string, vectors: number, engine: Engine = "aot", placement: ModelPlacement = {}, ownModule = false, hostKernels?: boolean): BoardMeasurement {
  const tflite = new Uint8Array(readFileSync(join(modelDir, "model.tflite")));
  const inputs = readFileSync(join(modelDir, "public", "inputs.bin"));
  const outputs = readFileSync(join(modelDir, "public", "outputs.bin"));
  return measureModelOnBoard(board, task, convertTflite(tflite), inputs, outputs, vectors, engine, placement, undefined, ownModule, hostKernels);
}

// The same for any converted model: `vectors` inputs and the outputs they
// must give; onStep sees the four builds and runs done.
export function measureModelOnBoard(board: string, task: string, model: { wisp: Uint8Array; info: ModelInfo }, inputs: Uint8Array, outputs: Uint8Array, vectors: number,
  engine: Engine = "aot", placement: ModelPlacement = {}, onStep?: (done: number) => void, ownModule = false, hostKernels?: boolean): BoardMeasurement {
  const { wisp, info } = model;
  const module = ownModule ? perModelModule(wisp) : undefined;
  const build = (count: number) => buildGoldenFirmware({
    board, engine, ...placement, module, hostKernels, name: `${task}-${count}`, wisp, count, arenaBytes: info.arenaBytes,
    inputs: inputs.subarray(0, count * info.input.bytes), outputs: outputs.subarray(0, count * info.output.bytes),
  });
  const one = build(1);
  onStep?.(1);
  const many = build(vectors);
  onStep?.(2);
  const first = runFirmware(board, one.elf, { countInstructions: true });
  onStep?.(3);
  const all = runFirmware(board, many.elf, { countInstructions: true });
  onStep?.(4);
  const report = /(\d+)\/(\d+) byte-exact, arena \d+ bytes, linear memory (\d+) bytes, heap (\d+) bytes, peak stack (\d+) bytes/.exec(all.stdout);
  const refused = /heap (\d+) bytes in use, a request for (\d+) more refused/.exec(all.stdout);
  if (all.status !== 0 && !report && refused) {
    const sizes = sectionSizes(board, many.elf);
    throw new DoesNotFit(`${board} ${engine} ${task}`, sizes.data + sizes.bss + Number(refused[1]) + Number(refused[2]), readBoard(board).ramBytes);
  }
  if (all.status !== 0 && !report) fail("IO", `${board} ${task}: firmware failed: ${all.stdout.trim()}`);
  if (!report || first.instructions === undefined || all.instructions === undefined) fail("IO", `${board} ${task}: no report from the firmware`);
  const perInference = Math.round((all.instructions - first.instructions) / (vectors - 1));
  const sizes = sectionSizes(board, many.elf);
  const heap = Number(report[4]);
  const peakStack = Number(report[5]);
  const mask = /host kernels (\d+)/.exec(all.stdout);
  const flash = sizes.text + sizes.data;
  return {
    board, engine, ownModule, placement, task, vectors, exact: Number(report[1]),
    instructionsPerInference: perInference,
    instructionsPerMac: perInference / info.macs,
    flashBytes: flash,
    runtimeFlashBytes: flash - (placement.modelFile ? 0 : wisp.length) - vectors * (info.input.bytes + info.output.bytes),
    ramBytes: sizes.data + sizes.bss + heap + peakStack,
    linearMemoryBytes: Number(report[3]),
    heapBytes: heap,
    peakStackBytes: peakStack,
    hostKernels: mask ? Number(mask[1]) : 0,
  };
}
