// `wisp bench`: one model's latency in Node, its memory, and, where the board
// toolchain and the C sources are here (a checkout, not the npm package),
// guest instructions per inference on the emulated Cortex-M4, model in flash.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { convertTflite, ModelInfo } from "../convert";
import { fail } from "../errors";
import { progressBar } from "../progress";
import { detectFormat, loadSync } from "./api";
import { Latency, measureLatency } from "./bench";
import { PACKAGE_ROOT } from "./package-root";
import { wasmBytes } from "./runtime";

const BOARD = "mps2-an386";
const BOARD_VECTORS = 3;
const BOARD_TOOLS = ["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c", "gcc"];

export interface BenchReport {
  ops: number;
  macs: number;
  arenaBytes: number;
  weightsBytes: number;
  memoryBytes: number; // the linear memory the model uses in Node
  moduleBytes: number;
  node: Latency;
  board: { board: string; core: string; exact: string; instructionsPerInference: number; flashBytes: number; ramBytes: number } | { board: string; skipped: string };
}

// Inputs for timing: the given file's vectors, else a fixed pseudo-random one.
function benchInputs(info: ModelInfo, input?: Uint8Array): Int8Array[] {
  const size = info.input.bytes;
  if (input) {
    if (input.length === 0 || input.length % size !== 0) fail("BAD_INPUT", `the input file holds ${input.length} bytes, not a multiple of the input size ${size}`);
    return Array.from({ length: input.length / size }, (_, i) => new Int8Array(input.buffer, input.byteOffset + i * size, size).slice());
  }
  let x = 12345;
  return Array.from({ length: BOARD_VECTORS }, () => Int8Array.from({ length: size }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) - 128));
}

export function benchModel(bytes: Uint8Array, options: { runs: number; input?: Uint8Array; board: boolean }): BenchReport {
  const converted = detectFormat(bytes) === "tflite" ? convertTflite(bytes) : undefined;
  const model = loadSync(converted ? converted.wisp : bytes);
  const info = model.info;
  const inputs = benchInputs(info, options.input);
  const bar = progressBar("Node invokes", options.runs);
  const node = measureLatency((x) => model.invoke(x), inputs, options.runs, (n) => bar.update(n));
  bar.done();
  return {
    ops: info.ops.length, macs: info.macs, arenaBytes: info.arenaBytes, weightsBytes: info.weightsBytes, memoryBytes: model.memoryBytes, moduleBytes: wasmBytes(), node,
    board: options.board ? benchOnBoard(converted?.wisp ?? bytes, info, inputs, (x) => model.invoke(x)) : { board: BOARD, skipped: "--no-board" },
  };
}

function benchOnBoard(wisp: Uint8Array, info: ModelInfo, inputs: Int8Array[], invoke: (x: Int8Array) => Int8Array): BenchReport["board"] {
  if (!existsSync(join(PACKAGE_ROOT, "host", "c", "Makefile"))) return { board: BOARD, skipped: "the C sources are not here (run it from a checkout of the repository)" };
  // Loaded lazily: the board code spawns compilers and is not needed otherwise.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { missingTools } = require("../boards/build") as typeof import("../boards/build");
  const missing = missingTools(BOARD_TOOLS);
  if (missing.length) return { board: BOARD, skipped: `toolchain missing (${missing.join(", ")}); run host/c/install-toolchain.sh as root` };
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { measureModelOnBoard } = require("../boards/measure") as typeof import("../boards/measure");
  const { TARGETS } = require("../boards/matrix") as typeof import("../boards/matrix");
  const vectors = Array.from({ length: BOARD_VECTORS }, (_, i) => inputs[i % inputs.length]);
  const concat = (parts: Int8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  const bar = progressBar(`${BOARD} build + run`, 4);
  const m = measureModelOnBoard(BOARD, "bench", { wisp, info }, concat(vectors), concat(vectors.map(invoke)), BOARD_VECTORS, "aot", { fromFlash: true }, (n) => bar.update(n));
  bar.done();
  return { board: BOARD, core: TARGETS[BOARD], exact: `${m.exact}/${m.vectors}`, instructionsPerInference: m.instructionsPerInference, flashBytes: m.flashBytes, ramBytes: m.ramBytes };
}

export function formatBench(name: string, r: BenchReport): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const ms = (v: number) => v.toFixed(v < 1 ? 3 : 2);
  const lines = [
    `${name}: ${r.ops} ops, ${n(r.macs)} MACs, arena ${n(r.arenaBytes)} bytes, weights ${n(r.weightsBytes)} bytes, linear memory ${n(r.memoryBytes)} bytes`,
    `Node ${process.version} (build/wisp.wasm, ${n(r.moduleBytes)} bytes): median ${ms(r.node.medianMs)} ms per invoke over ${r.node.runs} runs (p10 ${ms(r.node.p10Ms)}, p90 ${ms(r.node.p90Ms)}, min ${ms(r.node.minMs)}, max ${ms(r.node.maxMs)})`,
  ];
  const b = r.board;
  lines.push("skipped" in b
    ? `${b.board}: skipped, ${b.skipped}`
    : `${b.board} (${b.core}, AOT, model in flash): ${n(b.instructionsPerInference)} instructions per inference, ${b.exact} outputs equal Node's, flash ${n(b.flashBytes)} bytes, RAM ${n(b.ramBytes)} bytes`);
  return lines.join("\n");
}
