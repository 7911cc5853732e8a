// Writes build/wisp.wasm as a C array for the wasm3 engine (wisp_wasm3.c):
//   node host/c/wasm3/embed-wasm.mjs <wisp.wasm> <wisp_wasm.c>
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node host/c/wasm3/embed-wasm.mjs <wisp.wasm> <wisp_wasm.c>");
  process.exit(2);
}
const wasm = readFileSync(input);
const rows = [];
for (let i = 0; i < wasm.length; i += 24) rows.push(`  ${Array.from(wasm.subarray(i, i + 24)).join(", ")},`);
writeFileSync(output, `/* ${input}, embedded by host/c/wasm3/embed-wasm.mjs. */
#include <stdint.h>
const uint32_t wisp_wasm_size = ${wasm.length};
const uint8_t wisp_wasm[${wasm.length}] __attribute__((aligned(16))) = {
${rows.join("\n")}
};
`);
