// Builds and runs the golden-vector firmware for an emulated board: the
// module goes through wasm2c, the .wisp model and the vectors become const
// arrays in flash, and arm-none-eabi-gcc links them with the C host and the
// board's startup code. QEMU runs the image with semihosting.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "../node/package-root";
import { instantiate, wasmPath } from "../node/runtime";

export const BOARDS_DIR = join(PACKAGE_ROOT, "host", "boards");
const C_DIR = join(PACKAGE_ROOT, "host", "c");
const OUT_DIR = join(PACKAGE_ROOT, "build", "firmware");

export interface GoldenFirmware {
  board: string; // a folder of host/boards, e.g. "mps2-an386"
  name: string;
  wisp: Uint8Array;
  inputs: Uint8Array; // count x input bytes
  outputs: Uint8Array; // count x output bytes
  count: number;
  arenaBytes: number;
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

// wasm2c output of build/wisp.wasm, made once per build of the module.
function translatedModule(): string {
  const dir = join(PACKAGE_ROOT, "build", "c");
  mkdirSync(dir, { recursive: true });
  const source = join(dir, "wisp_module.c");
  const stamp = join(dir, "wisp_module.stamp");
  const wasm = readFileSync(wasmPath());
  const key = String(wasm.length) + ":" + wasm.subarray(0, 64).toString("hex") + wasm.subarray(-64).toString("hex");
  if (!existsSync(source) || !existsSync(stamp) || readFileSync(stamp, "utf8") !== key) {
    run("wasm2c", [wasmPath(), "-n", "wisp", "-o", source]);
    // The generated code includes wabt's wasm-rt.h; the cross compiler does
    // not search the host's /usr/include, so it is copied beside it.
    const header = ["/usr/include/wasm-rt.h", "/usr/share/wabt/wasm2c/wasm-rt.h"].find((h) => existsSync(h));
    if (!header) fail("IO", "wasm-rt.h from wabt not found; run host/c/install-toolchain.sh");
    writeFileSync(join(dir, "wasm-rt.h"), readFileSync(header));
    writeFileSync(stamp, key);
  }
  return dir;
}

// Linear memory the model needs: static data, the model, the arena.
function linearMemoryBytes(wisp: Uint8Array, arenaBytes: number): number {
  const modelBase = instantiate().wisp_model_buffer(0);
  return Math.ceil((modelBase + wisp.length + 16 + arenaBytes) / 16) * 16;
}

export function buildGoldenFirmware(f: GoldenFirmware): { elf: string; memoryBytes: number } {
  const boardDir = join(BOARDS_DIR, f.board);
  if (!existsSync(join(boardDir, "board.mk"))) fail("USAGE", `unknown board ${f.board}`);
  const out = join(OUT_DIR, `${f.board}-${f.name}`);
  mkdirSync(out, { recursive: true });
  const inputBytes = f.inputs.length / f.count, outputBytes = f.outputs.length / f.count;
  writeFileSync(join(out, "golden_data.h"), `#include <stdint.h>
extern const uint8_t golden_model[];
extern const unsigned golden_model_size, golden_count, golden_input_bytes, golden_output_bytes;
extern const int8_t golden_inputs[], golden_outputs[];
extern const char golden_name[];
`);
  writeFileSync(join(out, "golden_data.c"), `#include "golden_data.h"
const char golden_name[] = ${JSON.stringify(f.name)};
const unsigned golden_model_size = ${f.wisp.length}, golden_count = ${f.count}, golden_input_bytes = ${inputBytes}, golden_output_bytes = ${outputBytes};
${cArray("golden_model", f.wisp)}${cArray("golden_inputs", f.inputs, "int8_t")}${cArray("golden_outputs", f.outputs, "int8_t")}`);
  const memoryBytes = linearMemoryBytes(f.wisp, f.arenaBytes);
  const cpu = /CPU_FLAGS\s*=\s*(.*)/.exec(readFileSync(join(boardDir, "board.mk"), "utf8"))![1].trim().split(/\s+/);
  const elf = join(out, "firmware.elf");
  run("arm-none-eabi-gcc", [
    ...cpu, "-O2", "-g", "-ffunction-sections", "-fdata-sections", "-fshort-enums",
    `-DWISP_MEMORY_BYTES=${memoryBytes}`, "-I", C_DIR, "-I", translatedModule(), "-I", out,
    join(BOARDS_DIR, "cortex-m", "startup.c"), join(BOARDS_DIR, "firmware", "golden.c"), join(out, "golden_data.c"),
    join(C_DIR, "aot", "wisp_aot.c"), join(C_DIR, "aot", "wasm_rt_static.c"), join(translatedModule(), "wisp_module.c"),
    "--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections", "-L", join(BOARDS_DIR, "cortex-m"),
    "-T", join(boardDir, "board.ld"), "-lm", "-o", elf,
  ]);
  return { elf, memoryBytes };
}

export function runFirmware(board: string, elf: string, timeoutMs = 300_000): { status: number | null; stdout: string } {
  const qemu = /QEMU\s*=\s*(.*)/.exec(readFileSync(join(BOARDS_DIR, board, "board.mk"), "utf8"))![1].trim().split(/\s+/);
  const r = spawnSync(qemu[0], [...qemu.slice(1), "-nographic", "-monitor", "none", "-serial", "none",
    "-semihosting-config", "enable=on,target=native", "-kernel", elf], { encoding: "utf8", timeout: timeoutMs });
  if (r.error) fail("IO", `${qemu[0]} failed to run (${r.error.message})`);
  return { status: r.status, stdout: r.stdout };
}
