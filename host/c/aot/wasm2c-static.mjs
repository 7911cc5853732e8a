// Post-processes wasm2c's translation of a Wisp module for the static
// runtime (wasm_rt_static.c):
//   node host/c/aot/wasm2c-static.mjs <wisp_module.c> [memory]   (rewritten in place)
// wasm2c checks each access against mem->size and reads mem->data, both
// loaded from the instance (stores may alias them). With one static linear
// memory the bound and the base are link-time constants, so each check
// becomes one compare with an immediate: still a trap on any access outside
// the buffer. -DWISP_UNCHECKED=1 drops the checks (only for models that
// validated at load; see the README). `memory` names the module's buffer,
// <memory>_linear_memory, sized by the link symbol <memory>_memory_limit
// (default "wisp": build/wisp.wasm's; the trainer's is "wisp_train"), so two
// modules link side by side, each in its own memory. Checked against wabt
// 1.0.32's output; anything else is refused rather than half rewritten.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const CHECKS = "#define MEMCHECK(mem, a, t) RANGE_CHECK(mem, a, sizeof(t))";
const READS = "&mem->data[addr]";
const LOAD = "wasm_rt_memcpy(&result, &mem->data[addr], sizeof(t1));";
// The load and store helpers, which GCC may stop inlining in a large module
// on cores where WISP_LOAD is a branch (Armv6-M, RISC-V): a call per access.
const HELPERS = ["static inline t3 name(wasm_rt_memory_t* mem, u64 addr)", "static inline void name(wasm_rt_memory_t* mem, u64 addr, t2 value)"];
// Memory management, pointed at the module's own buffer.
const ALLOCATE = "wasm_rt_allocate_memory(";
const GROW = "wasm_rt_grow_memory(";

function withStaticMemoryChecks(c, include, memory) {
  if (![CHECKS, READS, LOAD, include, ALLOCATE, ...HELPERS].every((s) => c.includes(s))) throw new Error("unexpected wasm2c output: cannot apply the static memory checks");
  for (const h of HELPERS) c = c.split(h).join(h.replace("static inline", "static inline __attribute__((always_inline))"));
  return c
    .replace(LOAD, "WISP_LOAD(&result, addr, sizeof(t1));")
    .replace(CHECKS, `#if WISP_UNCHECKED
#define MEMCHECK(mem, a, t)
#else
#define MEMCHECK(mem, a, t) if (UNLIKELY((a) > WISP_MEMORY_LIMIT - sizeof(t))) TRAP(OOB);
#endif`)
    .split(READS).join(`&${memory}_linear_memory[addr]`)
    .split(ALLOCATE).join("WISP_ALLOCATE_MEMORY(")
    .split(GROW).join("WISP_GROW_MEMORY(")
    .replace(include, `${include}\n#define WISP_LINEAR_MEMORY ${memory}_linear_memory\n#define WISP_MEMORY_LIMIT_SYMBOL ${memory}_memory_limit\n#include "wasm_rt_static.h"`);
}

const [file, memory = "wisp"] = process.argv.slice(2);
if (!file || !/^[a-z_][a-z0-9_]*$/.test(memory)) {
  console.error("usage: node host/c/aot/wasm2c-static.mjs <wisp_module.c> [memory name, default wisp]");
  process.exit(2);
}
try {
  writeFileSync(file, withStaticMemoryChecks(readFileSync(file, "utf8"), `#include "${basename(file, ".c")}.h"`, memory));
} catch (e) {
  console.error(`wasm2c-static: ${file}: ${e.message}`);
  process.exit(1);
}
