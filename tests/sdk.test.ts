// The exported C library (npm run build:c-sdk) as firmware build systems
// take it: its manifests, a CMake build natively with both engines and for
// the Cortex-M4 under QEMU, and a PlatformIO/Arduino-style build that
// compiles every file of src/ with no linker options of ours.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { loadSync } from "../host/node/api";
import { missingTools, readBoard, runFirmware, writeGoldenData } from "../host/boards/build";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { modelsDir, PACKAGE_ROOT } from "./helpers";

const tmp = mkdtempSync(join(tmpdir(), "wisp-sdk-"));
const sdk = join(tmp, "wisp-c");
const missing = missingTools(["gcc", "wasm2c", "cmake"]);
const skip = missing.length ? `toolchain missing (${missing.join(", ")}); run host/c/install-toolchain.sh as root` : false;
const armMissing = missingTools(["arm-none-eabi-gcc", "qemu-system-arm"]);
const wasm3Dir = findWasm3Dir() ?? "";
const version = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")).version;
const BOARD = "mps2-an386";

function run(command: string, args: string[], cwd = tmp): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${command} ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

// A model's golden data (first `count` public vectors) and the linear memory it needs.
function golden(task: string, count: number): { dir: string; memoryBytes: number } {
  const dir = join(modelsDir(), task);
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
  const out = join(tmp, `golden-${task}`);
  writeGoldenData(out, {
    board: "native", name: task, wisp, count, arenaBytes: info.arenaBytes,
    inputs: readFileSync(join(dir, "public", "inputs.bin")).subarray(0, count * info.input.bytes),
    outputs: readFileSync(join(dir, "public", "outputs.bin")).subarray(0, count * info.output.bytes),
  });
  return { dir: out, memoryBytes: Math.ceil(loadSync(wisp).memoryBytes / 16) * 16 };
}

function cmakeBuild(name: string, defines: Record<string, string | number>): string {
  const build = join(tmp, `cmake-${name}`);
  run("cmake", ["-S", join(PACKAGE_ROOT, "host", "boards", "cmake"), "-B", build, "-DCMAKE_BUILD_TYPE=Release", `-DWISP_SDK_DIR=${sdk}`,
    ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)]);
  run("cmake", ["--build", build, "-j", "2"]);
  return join(build, "golden");
}

test("the C library exports with every build system's manifest", { skip }, () => {
  run(process.execPath, [join(PACKAGE_ROOT, "host", "c", "sdk", "export.mjs"), sdk]);
  const pio = JSON.parse(readFileSync(join(sdk, "library.json"), "utf8"));
  assert.equal(pio.version, version);
  assert.ok(existsSync(join(sdk, pio.build.srcDir, "wisp.h")));
  const arduino = Object.fromEntries(readFileSync(join(sdk, "library.properties"), "utf8").trim().split("\n").map((l) => l.split(/=(.*)/s).slice(0, 2)));
  assert.equal(arduino.version, version);
  assert.ok(existsSync(join(sdk, "src", arduino.includes)));
  assert.match(readFileSync(join(sdk, "idf_component.yml"), "utf8"), new RegExp(`^version: "${version}"$`, "m"));
  assert.match(readFileSync(join(sdk, "CMakeLists.txt"), "utf8"), /idf_component_register\(SRCS/);
  assert.match(readFileSync(join(sdk, "zephyr", "module.yml"), "utf8"), /cmake: zephyr/);
  assert.match(readFileSync(join(sdk, "zephyr", "Kconfig"), "utf8"), /^config WISP$/m);
  // Every source compiles under one engine only: both in one folder must not clash.
  const sources = readdirSync(join(sdk, "src")).filter((f) => f.endsWith(".c"));
  assert.ok(sources.includes("wisp_module.c") && sources.includes("wisp_wasm.c") && sources.includes("wisp_host.c"));
});

test("CMake, native, AOT engine: kws byte-exact", { skip }, () => {
  const g = golden("kws", 4);
  const out = run(cmakeBuild("native-aot", { GOLDEN_DIR: g.dir, WISP_MEMORY_BYTES: g.memoryBytes }), []);
  assert.match(out, /4\/4 byte-exact/);
});

test("CMake, native, wasm3 engine: ad byte-exact", { skip: skip || (wasm3Dir ? false : MISSING_WASM3_HINT) }, () => {
  const g = golden("ad", 4);
  const out = run(cmakeBuild("native-wasm3", { GOLDEN_DIR: g.dir, WISP_ENGINE: "wasm3", WISP_WASM3_DIR: wasm3Dir }), []);
  assert.match(out, /4\/4 byte-exact/);
});

const armSkip = skip || (armMissing.length ? `toolchain missing (${armMissing.join(", ")})` : false);

test(`CMake, ${BOARD} (Cortex-M4) firmware under QEMU: kws byte-exact`, { skip: armSkip }, () => {
  const g = golden("kws", 3);
  const elf = cmakeBuild(BOARD, {
    GOLDEN_DIR: g.dir, WISP_MEMORY_BYTES: g.memoryBytes, BOARD, CMAKE_TOOLCHAIN_FILE: join(PACKAGE_ROOT, "host", "boards", "cmake", "arm-none-eabi.cmake"),
    CMAKE_C_FLAGS: readBoard(BOARD).cpu.join(" "),
  });
  const r = runFirmware(BOARD, elf);
  assert.match(r.stdout, /3\/3 byte-exact/, r.stdout);
});

// PlatformIO and Arduino compile every .c of src/ with the board's flags
// and link without our --defsym: the memory size comes from src/ itself.
test(`PlatformIO/Arduino-style build for ${BOARD}: every src/ file, no linker options; ad byte-exact`, { skip: armSkip }, () => {
  const g = golden("ad", 3);
  const board = readBoard(BOARD);
  const src = join(sdk, "src");
  const boards = join(PACKAGE_ROOT, "host", "boards");
  const elf = join(tmp, "pio-style.elf");
  run(board.cc, [...board.cpu, "-O2", "-ffunction-sections", "-fdata-sections", `-DWISP_MEMORY_BYTES=${g.memoryBytes}`, "-DWISP_PAINT_STACK=1", "-I", src, "-I", g.dir,
    ...readdirSync(src).filter((f) => f.endsWith(".c")).map((f) => join(src, f)), join(boards, "firmware", "golden.c"), join(g.dir, "golden_data.c"), join(boards, "cortex-m", "startup.c"),
    "--specs=rdimon.specs", "-nostartfiles", "-L", join(boards, "cortex-m"), "-T", join(boards, BOARD, "board.ld"), "-Wl,--gc-sections",
    "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free", "-lm", "-o", elf]); // golden.c's heap counting
  const r = runFirmware(BOARD, elf);
  assert.match(r.stdout, /3\/3 byte-exact/, r.stdout);
});
