// Builds and runs the golden-vector firmware for an emulated board: the
// module goes through wasm2c, the .wisp model and the vectors become const
// arrays in flash, and arm-none-eabi-gcc links them with the C host and the
// board's startup code. QEMU runs the image with semihosting.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "../node/package-root";
import { loadSync } from "../node/api";
import { instantiate, WispExports, wasmPath } from "../node/runtime";

export const BOARDS_DIR = join(PACKAGE_ROOT, "host", "boards");
const C_DIR = join(PACKAGE_ROOT, "host", "c");
const OUT_DIR = join(PACKAGE_ROOT, "build", "firmware");

export type Engine = "aot" | "wasm3";

export interface GoldenFirmware {
  board: string; // a folder of host/boards, e.g. "mps2-an386"
  engine?: Engine; // default "aot"; "wasm3" needs WASM3_DIR
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
  modelVersion?: string; // the DUT's m-model- reply, e.g. "kws01"
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

function run(command: string, args: string[], cwd?: string): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.error) fail("IO", `${command} is not available (${r.error.message}); run host/c/install-toolchain.sh`);
  if (r.status !== 0) fail("IO", `${command} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" | ")}`);
  return r.stdout;
}

function cArray(name: string, bytes: Uint8Array, type = "uint8_t"): string {
  const body: string[] = [];
  for (let i = 0; i < bytes.length; i += 24) body.push(`  ${Array.from(bytes.subarray(i, i + 24), (b) => (type === "int8_t" ? (b << 24) >> 24 : b)).join(", ")},`);
  return `const ${type} ${name}[${Math.max(1, bytes.length)}] __attribute__((aligned(16))) = {\n${body.join("\n") || "  0"}\n};\n`;
}

// wasm2c checks each access against mem->size and reads mem->data, both
// loaded from the instance (stores may alias them). With one static linear
// memory (wasm_rt_static.c) the bound and the base are link-time constants,
// so each check becomes one compare with an immediate: still a trap on any
// access outside the buffer. -DWISP_UNCHECKED drops the checks (only for
// models that validated at load; see README).
function withStaticMemoryChecks(c: string): string {
  const checks = "#define MEMCHECK(mem, a, t) RANGE_CHECK(mem, a, sizeof(t))";
  const reads = "&mem->data[addr]";
  const load = "wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1));";
  if (!c.includes(checks) || !c.includes(reads) || !c.includes(load) || !c.includes('#include "wisp_module.h"')) fail("IO", "unexpected wasm2c output: cannot apply the static memory checks");
  return c
    .replace(load, "WISP_LOAD(&result, addr, sizeof(t1));")
    .replace(checks, `#if WISP_UNCHECKED
#define MEMCHECK(mem, a, t)
#else
#define MEMCHECK(mem, a, t) if (UNLIKELY((a) > WISP_MEMORY_LIMIT - sizeof(t))) TRAP(OOB);
#endif`)
    .split(reads).join("&wisp_linear_memory[addr]")
    .replace('#include "wisp_module.h"', '#include "wisp_module.h"\n#include "wasm_rt_static.h"');
}

// wasm2c output of build/wisp.wasm, made once per build of the module.
function translatedModule(): string {
  const dir = join(PACKAGE_ROOT, "build", "c");
  mkdirSync(dir, { recursive: true });
  const source = join(dir, "wisp_module.c");
  const stamp = join(dir, "wisp_module.stamp");
  const wasm = readFileSync(wasmPath());
  // Remade when the module or the rewriting of wasm2c's output changes.
  const key = createHash("sha256").update(wasm).update(withStaticMemoryChecks.toString()).digest("hex");
  if (!existsSync(source) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== key) {
    run("wasm2c", [wasmPath(), "-n", "wisp", "-o", source]);
    writeFileSync(source, withStaticMemoryChecks(readFileSync(source, "utf8")));
    // The generated code includes wabt's wasm-rt.h; the cross compiler does
    // not search the host's /usr/include, so it is copied beside it.
    const header = ["/usr/include/wasm-rt.h", "/usr/share/wabt/wasm2c/wasm-rt.h"].find((h) => existsSync(h));
    if (!header) fail("IO", "wasm-rt.h from wabt not found; run host/c/install-toolchain.sh");
    writeFileSync(join(dir, "wasm-rt.h"), readFileSync(header));
    writeFileSync(stamp, key);
  }
  return dir;
}

// Linear memory the model needs, resident or from flash (and with the
// wakeword front end for the listen firmware): the module itself says, after
// loading the model the same way in Node. A model that does not load (a test
// of the refusal) gets room for its bytes.
function linearMemoryBytes(wisp: Uint8Array, fromFlash: boolean, frontEnd?: { scale: number; zeroPoint: number; incremental: boolean }, weightWindow = 0): number {
  let used: number;
  if (frontEnd) {
    const w = instantiate(wisp);
    if (w.wisp_lfbe_init(frontEnd.scale, frontEnd.zeroPoint) !== 0 || w.wisp_load_streamed(wisp.length, 0) !== 0) fail("BAD_MODEL", "the wakeword model does not load");
    if (frontEnd.incremental && w.wisp_stream_incremental() <= 0) fail("BAD_MODEL", "the wakeword model cannot run incrementally");
    used = w.wisp_memory_used();
  } else {
    try {
      used = (loadSync(wisp, { streamWeights: fromFlash, weightWindow }) as unknown as { wasm: WispExports }).wasm.wisp_memory_used();
    } catch {
      used = instantiate().wisp_model_buffer(0) + wisp.length + 4096;
    }
  }
  return Math.ceil(used / 16) * 16;
}

interface Board {
  name: string;
  cc: string;
  cpu: string[];
  startup: "cortex-m" | "picolibc";
  memory: string[]; // linker memory map flags (picolibc boards)
  ldflags: string[]; // extra link flags (e.g. newlib-nano)
  qemu: string[];
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
  return { name, cc: vars.CC, cpu: words(vars.CPU_FLAGS), startup: vars.STARTUP as Board["startup"], memory: words(vars.MEMORY), ldflags: words(vars.LDFLAGS), qemu: words(vars.QEMU) };
}

// wasm2c's checks must stay on: the static runtime has no signal handler.
const COMMON_FLAGS = ["-O2", "-g", "-ffunction-sections", "-fdata-sections", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0"];

// The translated module and the C host compiled once per board (and per
// checking mode: WISP_UNCHECKED=1 in the environment builds without checks).
function engineObjects(board: Board): string[] {
  const moduleDir = translatedModule();
  const unchecked = process.env.WISP_UNCHECKED === "1";
  const dir = join(PACKAGE_ROOT, "build", "c", board.name + (unchecked ? "-unchecked" : ""));
  mkdirSync(dir, { recursive: true });
  const sources = [join(moduleDir, "wisp_module.c"), join(C_DIR, "aot", "wisp_aot.c"), join(C_DIR, "wisp_host.c")];
  return sources.map((source) => {
    const object = join(dir, source.split("/").pop()!.replace(/\.c$/, ".o"));
    const inputs = [source, join(C_DIR, "wisp.h"), join(C_DIR, "engine.h"), join(C_DIR, "aot", "wasm_rt_static.h")];
    const stale = !existsSync(object) || statSync(object).mtimeMs < Math.max(...inputs.map((f) => statSync(f).mtimeMs));
    const flags = unchecked ? ["-DWISP_UNCHECKED=1"] : [];
    if (stale) run(board.cc, [...board.cpu, ...COMMON_FLAGS, ...flags, "-I", C_DIR, "-I", join(C_DIR, "aot"), "-I", moduleDir, "-c", source, "-o", object]);
    return object;
  });
}

// The model and the vectors as const arrays (golden_data.c) for golden.c.
function writeGoldenData(out: string, f: GoldenFirmware): void {
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
`);
  writeFileSync(join(out, "golden_data.c"), `#include "golden_data.h"
const char golden_name[] = ${JSON.stringify(f.name)};
const char golden_model_version[] = ${JSON.stringify(f.modelVersion ?? f.name)};
const char golden_model_path[] = ${JSON.stringify(f.modelFile ? modelPath : "")};
const float golden_output_scale = (float)(${f.outputScale ?? 1});
const int golden_output_zero_point = ${f.outputZeroPoint ?? 0};
const float golden_input_scale = (float)(${f.inputScale ?? 1});
const int golden_input_zero_point = ${f.inputZeroPoint ?? 0};
const unsigned golden_model_size = ${f.wisp.length}, golden_count = ${f.count}, golden_input_bytes = ${inputBytes}, golden_output_bytes = ${outputBytes};
${cArray("golden_model", f.modelFile ? new Uint8Array(0) : f.wisp)}${cArray("golden_inputs", f.inputs, "int8_t")}${cArray("golden_outputs", f.outputs, "int8_t")}`);
}

// wasm3's core sources (its optional WASI, libc and tracer bindings are not needed).
function wasm3Sources(wasm3Dir: string | undefined): string[] {
  if (!wasm3Dir || !existsSync(join(wasm3Dir, "wasm3.h"))) fail("USAGE", "WASM3_DIR must point at wasm3's source folder (the one with wasm3.h)");
  return readdirSync(wasm3Dir).filter((n) => /^m3_.*\.c$/.test(n) && !n.startsWith("m3_api_")).map((n) => join(wasm3Dir, n));
}

// build/wisp.wasm as a C array, for the wasm3 engine.
function embeddedModule(out: string): string {
  const file = join(out, "wisp_wasm.c");
  const wasm = readFileSync(wasmPath());
  writeFileSync(file, `#include <stdint.h>\nconst uint32_t wisp_wasm_size = ${wasm.length};\n${cArray("wisp_wasm", wasm)}`);
  return file;
}

// The engine's objects for a board, compiled once (wasm3 from WASM3_DIR).
function wasm3Objects(board: Board): string[] {
  const wasm3Dir = process.env.WASM3_DIR;
  const dir = join(PACKAGE_ROOT, "build", "c", `${board.name}-wasm3`);
  mkdirSync(dir, { recursive: true });
  return [...wasm3Sources(wasm3Dir), join(C_DIR, "wasm3", "wisp_wasm3.c"), join(C_DIR, "wisp_host.c")].map((source) => {
    const object = join(dir, source.split("/").pop()!.replace(/\.c$/, ".o"));
    if (!existsSync(object) || statSync(object).mtimeMs < statSync(source).mtimeMs) {
      run(board.cc, [...board.cpu, ...COMMON_FLAGS, "-I", C_DIR, "-I", wasm3Dir!, "-c", source, "-o", object]);
    }
    return object;
  });
}

export function buildGoldenFirmware(f: GoldenFirmware): { elf: string; memoryBytes: number } {
  const board = readBoard(f.board);
  const engine = f.engine ?? "aot";
  const program = f.program ?? "golden";
  const out = join(OUT_DIR, `${f.board}-${engine}${f.fromFlash ? "-flash" : ""}${f.weightWindow ? `-w${f.weightWindow}` : ""}${f.modelFile ? "-file" : ""}${f.incremental ? "-incremental" : ""}-${program}-${f.name}`);
  writeGoldenData(out, f);
  const frontEnd = program === "listen" ? { scale: f.inputScale ?? 1, zeroPoint: f.inputZeroPoint ?? 0, incremental: f.incremental ?? false } : undefined;
  const memoryBytes = linearMemoryBytes(f.wisp, f.fromFlash ?? false, frontEnd, f.weightWindow);
  const elf = join(out, "firmware.elf");
  const startup = board.startup === "cortex-m"
    ? [join(BOARDS_DIR, "cortex-m", "startup.c"), "--specs=rdimon.specs", "-nostartfiles", "-L", join(BOARDS_DIR, "cortex-m"), "-T", join(BOARDS_DIR, board.name, "board.ld")]
    : ["--oslib=semihost", "--crt0=semihost", ...board.memory];
  const engineFiles = engine === "aot"
    ? [join(C_DIR, "aot", "wasm_rt_static.c"), ...engineObjects(board), `-Wl,--defsym=wisp_memory_limit=${memoryBytes}`]
    : [embeddedModule(out), ...wasm3Objects(board)];
  run(board.cc, [
    ...board.cpu, ...COMMON_FLAGS, "-DWISP_PAINT_STACK=1", `-DWISP_FROM_FLASH=${f.fromFlash ? 1 : 0}`, `-DWISP_WEIGHT_WINDOW=${f.weightWindow ?? 0}`, `-DWISP_MODEL_FILE=${f.modelFile ? 1 : 0}`, `-DWISP_INCREMENTAL=${f.incremental ? 1 : 0}`, `-DWISP_MEMORY_BYTES=${memoryBytes}`, "-I", C_DIR, "-I", join(C_DIR, "aot"), "-I", translatedModule(), "-I", out,
    join(BOARDS_DIR, "firmware", `${program}.c`), join(out, "golden_data.c"), ...engineFiles,
    ...startup, ...board.ldflags, "-Wl,--gc-sections", "-lm", "-o", elf,
  ]);
  return { elf, memoryBytes };
}

// The same golden firmware as a native program on this machine, over either
// engine: "aot" (wasm2c) or "wasm3" (the wasm3 sources in wasm3Dir, with
// build/wisp.wasm embedded). Returns the executable.
export function buildNativeGolden(engine: "aot" | "wasm3", f: Omit<GoldenFirmware, "board">, wasm3Dir?: string): string {
  const out = join(OUT_DIR, `native-${engine}-${f.name}`);
  writeGoldenData(out, { ...f, board: "native" });
  const common = ["-O2", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0", "-I", C_DIR, "-I", out, join(BOARDS_DIR, "firmware", "golden.c"), join(out, "golden_data.c"), join(C_DIR, "wisp_host.c")];
  const exe = join(out, "golden");
  if (engine === "aot") {
    const memoryBytes = linearMemoryBytes(f.wisp, false);
    run("gcc", [...common, `-DWISP_MEMORY_BYTES=${memoryBytes}`, "-I", join(C_DIR, "aot"), "-I", translatedModule(),
      join(C_DIR, "aot", "wasm_rt_static.c"), join(C_DIR, "aot", "wisp_aot.c"), join(translatedModule(), "wisp_module.c"),
      `-Wl,--defsym=wisp_memory_limit=${memoryBytes}`, "-lm", "-o", exe]);
  } else {
    const core = wasm3Sources(wasm3Dir);
    run("gcc", [...common, "-I", wasm3Dir!, join(C_DIR, "wasm3", "wisp_wasm3.c"), embeddedModule(out), ...core, "-lm", "-o", exe]);
  }
  return exe;
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
