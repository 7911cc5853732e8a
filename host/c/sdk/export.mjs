// `npm run build:c-sdk`: the C library as one self-contained folder
// (build/wisp-c/) that ESP-IDF, PlatformIO, Arduino, Zephyr, the Pico SDK
// and plain CMake pick up in one step. The translated module (wasm2c) and
// the module as a C array (wasm3) are generated here, so a firmware build
// needs neither Node nor wabt. Both engines' sources sit in src/; each is
// compiled only under its engine (WISP_ENGINE_WASM3 selects wasm3).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SDK = dirname(fileURLToPath(import.meta.url));
const C_DIR = dirname(SDK);
const ROOT = dirname(dirname(C_DIR));
const GEN = join(ROOT, "build", "c");
const out = process.argv[2] ?? join(ROOT, "build", "wisp-c");
const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

// The generated C: the ABI headers and wasm2c's module (make), and the
// .wasm as a C array for wasm3.
execFileSync("make", ["-s", "-C", C_DIR, "headers", join(GEN, "wisp_module.c")], { stdio: "inherit" });
const embedded = join(GEN, "sdk-wisp_wasm.c");
execFileSync(process.execPath, [join(C_DIR, "wasm3", "embed-wasm.mjs"), join(ROOT, "build", "wisp-wasm3.wasm"), embedded], { stdio: "inherit" });

const AOT = "#ifndef WISP_ENGINE_WASM3";
const WASM3 = "#ifdef WISP_ENGINE_WASM3";
// [source, engine guard or null]
const SOURCES = [
  [join(C_DIR, "wisp.h"), null], [join(C_DIR, "engine.h"), null], [join(C_DIR, "wisp_host.c"), null],
  [join(C_DIR, "host_kernels.c"), null], [join(C_DIR, "host_kernels.h"), null],
  [join(GEN, "wisp_codes.h"), null], [join(GEN, "wisp_exports.h"), null],
  [join(C_DIR, "aot", "wisp_aot.c"), AOT], [join(C_DIR, "aot", "wasm_rt_static.c"), AOT], [join(C_DIR, "aot", "wasm_rt_static.h"), null],
  [join(GEN, "wisp_module.c"), AOT], [join(GEN, "wisp_module.h"), null], [join(GEN, "wasm-rt.h"), null],
  [join(C_DIR, "wasm3", "wisp_wasm3.c"), WASM3], [embedded, WASM3, "wisp_wasm.c"], [join(C_DIR, "wasm3", "wasm3_small_ram.h"), null],
];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "src"), { recursive: true });
for (const [file, guard, as] of SOURCES) {
  const text = readFileSync(file, "utf8");
  const name = as ?? file.split("/").pop();
  writeFileSync(join(out, "src", name), guard
    ? `/* From ${relative(ROOT, file)}; compiled for its engine only. */\n${guard}\n#ifndef WASM_RT_MEMCHECK_SIGNAL_HANDLER\n#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 0\n#endif\n${text}\n#endif\n`
    : text);
}
// The AOT runtime's linear memory size as an absolute symbol, for build
// systems that cannot pass the linker --defsym (Arduino, PlatformIO). CMake
// passes --defsym instead, which also links position-independent programs.
writeFileSync(join(out, "src", "wisp_memory_limit.c"), `/* wasm_rt_static.h reads the linear memory's size from the symbol
 * wisp_memory_limit; defined here from WISP_MEMORY_BYTES unless the link
 * defines it (WISP_MEMORY_LIMIT_LINKED). */
#if !defined(WISP_ENGINE_WASM3) && !defined(WISP_MEMORY_LIMIT_LINKED)
#ifndef WISP_MEMORY_BYTES
#define WISP_MEMORY_BYTES 262144 /* wasm_rt_static.c's default; a plain number, for the assembler */
#endif
#define WISP_STR2(x) #x
#define WISP_STR(x) WISP_STR2(x)
__asm__(".globl wisp_memory_limit\\n.set wisp_memory_limit, " WISP_STR(WISP_MEMORY_BYTES));
#endif
`);
// The manifests, with the package's version.
for (const file of ["CMakeLists.txt", "idf_component.yml", "library.json", "library.properties", "zephyr/module.yml", "zephyr/CMakeLists.txt", "zephyr/Kconfig", "README.md"]) {
  mkdirSync(dirname(join(out, file)), { recursive: true });
  writeFileSync(join(out, file), readFileSync(join(SDK, file), "utf8").replaceAll("@VERSION@", version));
}
console.log(`wrote ${relative(process.cwd(), out) || out} (Wisp ${version} C library: CMake, ESP-IDF, PlatformIO, Arduino, Zephyr)`);
