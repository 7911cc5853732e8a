// Builds and runs the golden-vector firmware for an emulated board: the C
// library comes from host/c/Makefile (wasm2c or wasm3, for the board), the
// .wisp model and the vectors become const arrays in flash, and the board's
// compiler links them with a firmware program and the startup code. QEMU
// runs the image with semihosting.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fail, WispError } from "../errors";
import { PACKAGE_ROOT } from "../node/package-root";
import { loadSync } from "../node/api";
import { buildModule } from "../node/build-module";
import { instantiate, wasmPath } from "../node/runtime";
import { wasm3Dir as findWasm3 } from "../node/wasm3-source";

export const BOARDS_DIR = join(PACKAGE_ROOT, "host", "boards");
const C_DIR = join(PACKAGE_ROOT, "host", "c");
const GEN_DIR = join(PACKAGE_ROOT, "build", "c"); // what the Makefile generates
const OUT_DIR = join(PACKAGE_ROOT, "build", "firmware");

export type Engine = "aot" | "wasm3";

export interface GoldenFirmware {
  board: string; // a folder of host/boards, e.g. "mps2-an386"
  engine?: Engine; // default "aot"; "wasm3" needs wasm3's source (host/node/wasm3-source.ts)
  fromFlash?: boolean; // leave the model in flash (streamed) instead of copying it to RAM
  weightWindow?: number; // with fromFlash: the weights window in bytes (0: room for the largest op)
  modelFile?: boolean; // with fromFlash: read the model from a file over semihosting, as from an external flash (too big for the board's own)
  program?: "golden" | "dut" | "listen"; // firmware/golden.c (default), the MLPerf Tiny DUT, or streaming wakeword
  outputScale?: number; // for the DUT's results and the wakeword detector
  outputZeroPoint?: number;
  outputBytes?: number; // per expected output when not outputs.length / count (listen: per window)
  incremental?: boolean; // listen: compute only each hop's new rows (wisp_listen_incremental)
  inputScale?: number; // for the wakeword front end's features
  inputZeroPoint?: number;
  window?: { frames: number; bins: number }; // listen: the front end's window, the model input's shape
  modelVersion?: string; // the DUT's m-model- reply, e.g. "kws01"
  resetEvery?: number; // golden: wisp_reset() before every n-th vector after the first (a stateful model's sequence again)
  module?: Uint8Array; // wasm3: the Wisp module to embed instead of build/wisp.wasm (a per-model one, perModelModule)
  hostKernels?: boolean; // the native host kernels (host/c/host_kernels.c); default: the board's HOST_KERNELS
  name: string;
  wisp: Uint8Array;
  inputs: Uint8Array; // count x input bytes
  outputs: Uint8Array; // count x output bytes
  count: number;
  arenaBytes: number;
}

// The tools the emulated boards need, and which of them this machine lacks.
export const BOARD_TOOLS = ["arm-none-eabi-gcc", "riscv64-unknown-elf-gcc", "qemu-system-arm", "qemu-system-riscv32", "wasm2c", "gcc"];

export function missingTools(tools: string[] = BOARD_TOOLS): string[] {
  return tools.filter((t) => spawnSync(t, ["--version"]).error);
}

export function run(command: string, args: string[], cwd?: string): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.error) fail("IO", `${command} is not available (${r.error.message}); run host/c/install-toolchain.sh`);
  if (r.status !== 0) fail("IO", `${command} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" | ")}`);
  return r.stdout;
}

export function cArray(name: string, bytes: Uint8Array, type = "uint8_t"): string {
  const body: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) body.push(`  ${Array.from(bytes.subarray(i, i + 24), (b) => (type === "int8_t" ? (b << 24) >> 24 : b)).join(", ")},`);
  return `const ${type} ${name}[${Math.max(1, bytes.length)}] __attribute__((aligned(16))) = {\n${body.join("\n") || "  0"}\n};\n`;
}

// Linear memory the model needs, resident or from flash (and with the
// wakeword front end for the listen firmware): the module itself says, after
// loading the model the same way in Node. A model that does not load (a test
// of the refusal) gets room for its bytes.
function linearMemoryBytes(wisp: Uint8Array, fromFlash: boolean, frontEnd?: { scale: number; zeroPoint: number; frames: number; bins: number; incremental: boolean }, weightWindow = 0, module?: Uint8Array): number {
  let used: number;
  if (frontEnd) {
    // As firmware/listen.c does it: the front end first, then the model from flash.
    const w = instantiate(wisp, module);
    if (w.wisp_lfbe_init(frontEnd.scale, frontEnd.zeroPoint, frontEnd.frames, frontEnd.bins) !== 0 || w.wisp_load_streamed(wisp.length, 0) !== 0) fail("BAD_MODEL", "the wakeword model does not load");
    if (frontEnd.incremental && w.wisp_stream_incremental() <= 0) fail("BAD_MODEL", "the wakeword model cannot run incrementally");
    used = w.wisp_memory_used();
  } else {
    try {
      used = loadSync(wisp, { streamWeights: fromFlash, weightWindow, module, simd: false }).memoryBytes; // devices run the scalar or the wasm3 module
    } catch {
      used = instantiate(undefined, module).wisp_model_buffer(0) + wisp.length + 4096;
    }
  }
  return Math.ceil(used / 16) * 16;
}

// The module an engine embeds when not given one, for sizing its linear
// memory: wasm3's own build; undefined (build/wisp.wasm) for AOT.
function engineModule(engine: Engine): Uint8Array | undefined {
  return engine === "wasm3" ? new Uint8Array(readFileSync(wasmPath("wasm3"))) : undefined;
}

interface Board {
  name: string;
  ramBytes: number; // the RAM region the linker gives the firmware
  cc: string;
  cpu: string[];
  startup: "cortex-m" | "picolibc";
  memory: string[]; // linker memory map flags (picolibc boards)
  ldflags: string[]; // extra link flags (e.g. newlib-nano)
  qemu: string[];
  hostKernels: boolean; // board.mk's HOST_KERNELS: the firmware's default
}

// The RAM region's size: the board's linker script (Cortex-M), else its
// MEMORY flags (picolibc's __ram_size).
function ramBytesOf(name: string, memoryFlags?: string): number {
  const size = /__ram_size=(0x[0-9a-f]+|\d+)/i.exec(memoryFlags ?? "");
  if (size) return Number(size[1]);
  const script = join(BOARDS_DIR, name, "board.ld");
  const m = existsSync(script) ? /RAM\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*\w+\s*,\s*LENGTH\s*=\s*(\d+)\s*([KM]?)/.exec(readFileSync(script, "utf8")) : null;
  return m ? Number(m[1]) * (m[2] === "M" ? 1 << 20 : m[2] === "K" ? 1024 : 1) : 0;
}

// A firmware that needs more RAM than its board has: at least `needed`
// bytes (what the link or the heap was refused beyond what it held).
export class DoesNotFit extends WispError {
  constructor(readonly what: string, readonly needed: number, readonly available: number, readonly memory: "RAM" | "flash" = "RAM") {
    super("OUT_OF_MEMORY", `${what}: does not fit: needs at least ${needed.toLocaleString("en-US")} bytes of ${memory}, the board has ${available.toLocaleString("en-US")}`);
  }
}

// The FLASH region's size from the board's linker script (0 if it has none).
function flashBytesOf(name: string): number {
  const script = join(BOARDS_DIR, name, "board.ld");
  const m = existsSync(script) ? /FLASH\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*\w+\s*,\s*LENGTH\s*=\s*(\d+)\s*([KM]?)/.exec(readFileSync(script, "utf8")) : null;
  return m ? Number(m[1]) * (m[2] === "M" ? 1 << 20 : m[2] === "K" ? 1024 : 1) : 0;
}

// host/boards/<name>/board.mk: "KEY = value" lines.
export function readBoard(name: string): Board {
  const file = join(BOARDS_DIR, name, "board.mk");
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) fail("USAGE", `unknown board ${name}`);
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_]+)\s*=\s*(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2].trim();
  }
  const words = (v?: string) => (v ? v.split(/\s+/) : []);
  return { name, ramBytes: ramBytesOf(name, vars.MEMORY), cc: vars.CC, cpu: words(vars.CPU_FLAGS), startup: vars.STARTUP as Board["startup"], memory: words(vars.MEMORY), ldflags: words(vars.LDFLAGS), qemu: words(vars.QEMU), hostKernels: vars.HOST_KERNELS !== "0" };
}

// .text, .data and .bss of a firmware image, from the board's binutils.
export function sectionSizes(board: string, elf: string): { text: number; data: number; bss: number } {
  const size = readBoard(board).cc.replace(/gcc$/, "size");
  const r = spawnSync(size, [elf], { encoding: "utf8" });
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)/m.exec(r.stdout ?? "");
  if (!m) fail("IO", `${size} failed on ${elf}`);
  return { text: Number(m[1]), data: Number(m[2]), bss: Number(m[3]) };
}

// The firmware programs' flags, as host/c/Makefile compiles the library.
const COMMON_FLAGS = ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"];

// The C library for a board ("native": this machine's cc) and engine, made by
// host/c/Makefile once per board, engine and checking mode (WISP_UNCHECKED=1
// in the environment builds AOT without checks). Returns libwisp.a.
// `hostKernels`: with the native host kernels (host/c/host_kernels.c), else HOST_KERNELS=0.
export function cLibrary(board: string, engine: Engine, hostKernels = true): string {
  const wasm3Dir = engine === "wasm3" ? findWasm3() : "";
  const unchecked = engine === "aot" && process.env.WISP_UNCHECKED === "1";
  const out = join(GEN_DIR, `${board}${engine === "wasm3" ? "-wasm3" : ""}${unchecked ? "-unchecked" : ""}${hostKernels ? "" : "-pure"}`);
  run("make", ["-s", "-C", C_DIR, `OUT=${out}`, `ENGINE=${engine}`, `WASM=${wasmPath(engine === "wasm3" ? "wasm3" : "scalar")}`, `HOST_KERNELS=${hostKernels ? 1 : 0}`,
    ...(board === "native" ? [] : [`BOARD=${board}`]), ...(unchecked ? ["UNCHECKED=1"] : []), ...(engine === "wasm3" ? [`WASM3_DIR=${wasm3Dir}`] : [])]);
  return join(out, "libwisp.a");
}

// The model and the vectors as const arrays (golden_data.c) for golden.c.
export function writeGoldenData(out: string, f: GoldenFirmware): void {
  mkdirSync(out, { recursive: true });
  const modelPath = join(out, "model.wisp");
  if (f.modelFile) writeFileSync(modelPath, f.wisp);
  const inputBytes = f.count ? f.inputs.length / f.count : 0;
  const outputBytes = f.outputBytes ?? (f.count ? f.outputs.length / f.count : 0);
  writeFileSync(join(out, "golden_data.h"), `#include <stdint.h>
extern const uint8_t golden_model[];
extern const unsigned golden_model_size, golden_count, golden_input_bytes, golden_output_bytes;
extern const int8_t golden_inputs[], golden_outputs[];
extern const char golden_name[], golden_model_version[], golden_model_path[];
extern const float golden_output_scale, golden_input_scale;
extern const int golden_output_zero_point, golden_input_zero_point;
extern const int golden_window_frames, golden_window_bins;
`);
  writeFileSync(join(out, "golden_data.c"), `#include "golden_data.h"
const char golden_name[] = ${JSON.stringify(f.name)};
const char golden_model_version[] = ${JSON.stringify(f.modelVersion ?? f.name)};
const char golden_model_path[] = ${JSON.stringify(f.modelFile ? modelPath : "")};
const float golden_output_scale = (float)(${f.outputScale ?? 1});
const int golden_output_zero_point = ${f.outputZeroPoint ?? 0};
const float golden_input_scale = (float)(${f.inputScale ?? 1});
const int golden_input_zero_point = ${f.inputZeroPoint ?? 0};
const int golden_window_frames = ${f.window?.frames ?? 0}, golden_window_bins = ${f.window?.bins ?? 0};
const unsigned golden_model_size = ${f.wisp.length}, golden_count = ${f.count}, golden_input_bytes = ${inputBytes}, golden_output_bytes = ${outputBytes};
${cArray("golden_model", f.modelFile ? new Uint8Array(0) : f.wisp)}${cArray("golden_inputs", f.inputs, "int8_t")}${cArray("golden_outputs", f.outputs, "int8_t")}`);
}

// A module of its own as a C array (wisp_wasm[]) for the wasm3 engine: it
// defines what the library's own copy of build/wisp.wasm would, so the
// linker leaves that copy out and the library serves every module.
function embeddedModule(out: string, module: Uint8Array): string {
  const wasm = join(out, "module.wasm"), source = join(out, "module_wasm.c");
  writeFileSync(wasm, module);
  run(process.execPath, [join(C_DIR, "wasm3", "embed-wasm.mjs"), wasm, source]);
  return source;
}

// golden.c counts the heap through wrappers around the allocator.
const HEAP_COUNTING = "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free";

// Links a firmware; a RAM region too small for its static data is a
// DoesNotFit with the linker's count.
function linkFirmware(board: Board, what: string, args: string[]): void {
  try {
    run(board.cc, args);
  } catch (e) {
    const over = /region .RAM. overflowed by (\d+) bytes/.exec((e as Error).message);
    if (over) throw new DoesNotFit(what, board.ramBytes + Number(over[1]), board.ramBytes);
    const flash = /region .FLASH. overflowed by (\d+) bytes/.exec((e as Error).message);
    if (flash && flashBytesOf(board.name)) throw new DoesNotFit(what, flashBytesOf(board.name) + Number(flash[1]), flashBytesOf(board.name), "flash");
    throw e;
  }
}

export function buildGoldenFirmware(f: GoldenFirmware): { elf: string; memoryBytes: number } {
  const board = readBoard(f.board);
  const engine = f.engine ?? "aot";
  const program = f.program ?? "golden";
  const hostKernels = f.hostKernels ?? board.hostKernels;
  const out = join(OUT_DIR, `${f.board}-${engine}${hostKernels ? "" : "-pure"}${f.module ? "-own" : ""}${f.fromFlash ? "-flash" : ""}${f.weightWindow ? `-w${f.weightWindow}` : ""}${f.modelFile ? "-file" : ""}${f.incremental ? "-incremental" : ""}-${program}-${f.name}`);
  writeGoldenData(out, f);
  if (program === "listen" && !f.window) fail("USAGE", "the listen firmware needs the front end's window");
  const frontEnd = program === "listen" ? { scale: f.inputScale ?? 1, zeroPoint: f.inputZeroPoint ?? 0, ...f.window!, incremental: f.incremental ?? false } : undefined;
  if (f.module && engine !== "wasm3") fail("USAGE", "a module of its own is for the wasm3 engine (the AOT build translates build/wisp.wasm)");
  const memoryBytes = linearMemoryBytes(f.wisp, f.fromFlash ?? false, frontEnd, f.weightWindow, f.module ?? engineModule(engine));
  const elf = join(out, "firmware.elf");
  const startup = board.startup === "cortex-m"
    ? [join(BOARDS_DIR, "cortex-m", "startup.c"), "--specs=rdimon.specs", "-nostartfiles", "-L", join(BOARDS_DIR, "cortex-m"), "-T", join(BOARDS_DIR, board.name, "board.ld")]
    : ["--oslib=semihost", "--crt0=semihost", ...board.memory];
  // The DUT talks over the board's UART (<board>/board.c); the other programs use semihosting alone.
  const boardFiles = program === "dut" ? [join(BOARDS_DIR, board.name, "board.c"), "-I", join(BOARDS_DIR, "firmware"), "-I", join(BOARDS_DIR, "cortex-m")] : [];
  const engineFiles = engine === "aot"
    ? [join(C_DIR, "aot", "wasm_rt_static.c"), cLibrary(board.name, "aot", hostKernels), `-Wl,--defsym=wisp_memory_limit=${memoryBytes}`]
    : [...(f.module ? [embeddedModule(out, f.module)] : []), cLibrary(board.name, "wasm3", hostKernels), `-Wl,--defsym=wisp_memory_limit=${memoryBytes}`];
  linkFirmware(board, `${f.board} ${engine} ${f.name}`, [
    ...board.cpu, ...COMMON_FLAGS, "-DWISP_PAINT_STACK=1", `-DWISP_FROM_FLASH=${f.fromFlash ? 1 : 0}`, `-DWISP_WEIGHT_WINDOW=${f.weightWindow ?? 0}`, `-DWISP_MODEL_FILE=${f.modelFile ? 1 : 0}`, `-DWISP_INCREMENTAL=${f.incremental ? 1 : 0}`, `-DWISP_MEMORY_BYTES=${memoryBytes}`, "-I", C_DIR, "-I", join(C_DIR, "aot"), "-I", GEN_DIR, "-I", out,
    join(BOARDS_DIR, "firmware", `${program}.c`), join(out, "golden_data.c"), ...boardFiles, ...engineFiles,
    ...startup, ...board.ldflags, ...(program === "golden" ? [HEAP_COUNTING] : []), "-Wl,--gc-sections", "-lm", "-o", elf,
  ]);
  return { elf, memoryBytes };
}

// host/c/test/host_kernels_test.c as firmware for a Cortex-M board: the
// board's own build of host_kernels.c (with the DSP extension's SMLAD where
// the core has it) against the plain reference, under QEMU.
export function buildHostKernelTest(boardName: string): string {
  const board = readBoard(boardName);
  if (board.startup !== "cortex-m") fail("USAGE", `${boardName}: the host-kernel test firmware is for the Cortex-M boards`);
  const out = join(OUT_DIR, `${boardName}-host-kernels-test`);
  mkdirSync(out, { recursive: true });
  const elf = join(out, "firmware.elf");
  run(board.cc, [...board.cpu, ...COMMON_FLAGS, "-I", C_DIR, join(C_DIR, "host_kernels.c"), join(C_DIR, "test", "host_kernels_test.c"),
    join(BOARDS_DIR, "cortex-m", "startup.c"), "--specs=rdimon.specs", "-nostartfiles", "-L", join(BOARDS_DIR, "cortex-m"), "-T", join(BOARDS_DIR, board.name, "board.ld"),
    ...board.ldflags, "-Wl,--gc-sections", "-o", elf]);
  return elf;
}

// The same golden firmware as a native program on this machine, over either
// engine: "aot" (wasm2c) or "wasm3" (wasm3's sources, with build/wisp.wasm
// embedded). Returns the executable.
export function buildNativeGolden(engine: "aot" | "wasm3", f: Omit<GoldenFirmware, "board">): string {
  const out = join(OUT_DIR, `native-${engine}-${f.name}`);
  writeGoldenData(out, { ...f, board: "native" });
  const common = ["-O2", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", `-DWISP_RESET_EVERY=${f.resetEvery ?? 0}`, "-I", C_DIR, "-I", GEN_DIR, "-I", out, join(BOARDS_DIR, "firmware", "golden.c"), join(out, "golden_data.c")];
  const exe = join(out, "golden");
  if (engine === "aot") {
    const memoryBytes = linearMemoryBytes(f.wisp, false);
    run("gcc", [...common, `-DWISP_MEMORY_BYTES=${memoryBytes}`, "-I", join(C_DIR, "aot"), join(C_DIR, "aot", "wasm_rt_static.c"), cLibrary("native", "aot"),
      `-Wl,--defsym=wisp_memory_limit=${memoryBytes}`, "-lm", "-o", exe]);
  } else {
    run("gcc", [...common, cLibrary("native", "wasm3"), `-Wl,--defsym=wisp_memory_limit=${linearMemoryBytes(f.wisp, false, undefined, 0, engineModule("wasm3"))}`, "-lm", "-o", exe]);
  }
  return exe;
}

// A module with only the kernels this model uses (`wisp build-module`),
// made once per model and build/wisp-wasm3.wasm, kept in build/c/modules/.
export function perModelModule(wisp: Uint8Array): Uint8Array {
  const key = createHash("sha256").update(wisp).update(readFileSync(wasmPath("wasm3"))).digest("hex").slice(0, 16);
  const file = join(GEN_DIR, "modules", `model-${key}.wasm`);
  if (existsSync(file)) return new Uint8Array(readFileSync(file));
  const { wasm } = buildModule(wisp);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.${process.pid}`, wasm);
  renameSync(`${file}.${process.pid}`, file);
  return wasm;
}

// The instruction-counting TCG plugin, built for the host once.
function countingPlugin(): string {
  const source = join(BOARDS_DIR, "plugin", "insn_count.c");
  const plugin = join(PACKAGE_ROOT, "build", "plugins", "libinsn_count.so");
  if (!existsSync(plugin) || statSync(plugin).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(join(PACKAGE_ROOT, "build", "plugins"), { recursive: true });
    run("gcc", ["-shared", "-fPIC", "-O2", "-o", plugin, source]);
  }
  return plugin;
}

export interface FirmwareRun {
  status: number | null;
  stdout: string;
  instructions?: number; // guest instructions of the whole run, when counted
}

export function runFirmware(boardName: string, elf: string, options: { countInstructions?: boolean; timeoutMs?: number } = {}): FirmwareRun {
  const qemu = readBoard(boardName).qemu;
  const plugin = options.countInstructions ? ["-plugin", countingPlugin()] : [];
  const r = spawnSync(qemu[0], [...qemu.slice(1), "-nographic", "-monitor", "none", "-serial", "none", ...plugin,
    "-semihosting-config", "enable=on,target=native", "-kernel", elf], { encoding: "utf8", timeout: options.timeoutMs ?? 300_000 });
  if (r.error) fail("IO", `${qemu[0]} failed to run (${r.error.message})`);
  // Semihosted console output lands on QEMU's stdout (Arm) or stderr (RISC-V picolibc).
  const out = r.stdout + r.stderr;
  const counted = /wisp-insns: (\d+)/.exec(out);
  return { status: r.status, stdout: out.replace(/wisp-insns: \d+\n?/, ""), instructions: counted ? Number(counted[1]) : undefined };
}
