// `wisp build-module`: a Wisp module holding only the kernels one model
// uses. The AssemblyScript source is copied to a temporary folder, the op
// dispatch is generated there for the model's opcodes (the other kernels and
// their validators then compile away), and asc builds it with the release
// settings of build/wisp.wasm. Without `audio`, the entry exports the model
// ABI only, so the front ends and incremental streaming drop out too.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as F from "../../assembly/format";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "./package-root";

// The opcodes of every op record in a .wisp file's graph section.
export function opcodesOf(wisp: Uint8Array): number[] {
  const v = new DataView(wisp.buffer, wisp.byteOffset, wisp.byteLength);
  const sections = v.getUint32(F.HEADER_BYTES, true);
  for (let i = 0; i < sections; i++) {
    const entry = F.HEADER_BYTES + 4 + i * F.SECTION_ENTRY_BYTES;
    if (v.getUint32(entry, true) !== F.SECTION_GRAPH) continue;
    const at = v.getUint32(entry + 4, true), end = at + v.getUint32(entry + 8, true);
    const ops = v.getInt32(at + 4 * F.GRAPH_OP_COUNT, true);
    const found = new Set<number>();
    let word = at + 4 * F.GRAPH_HEADER_WORDS;
    for (let k = 0; k < ops && word + 8 <= end; k++) {
      found.add(v.getInt32(word, true));
      word += 4 * Math.max(F.OP_HEADER_WORDS, v.getInt32(word + 4, true));
    }
    return [...found].sort((a, b) => a - b);
  }
  return fail("BAD_WISP", "the .wisp file has no graph section");
}

// The exports of assembly/index.ts that serve audio streaming.
const AUDIO_EXPORT = /^wisp_(lfbe|mfcc|stream)_/;

export function buildModule(wisp: Uint8Array, options: { audio?: boolean } = {}): { wasm: Uint8Array; opcodes: number[] } {
  const opcodes = opcodesOf(wisp);
  // The package's exports hide bin/, so look for it in the usual places.
  const asc = [PACKAGE_ROOT, join(PACKAGE_ROOT, "..", "..")].map((d) => join(d, "node_modules", "assemblyscript", "bin", "asc.js")).find(existsSync);
  if (!asc) return fail("IO", "build-module needs the AssemblyScript compiler: npm install --save-dev assemblyscript@0.27.37");
  const tmp = mkdtempSync(join(tmpdir(), "wisp-module-"));
  try {
    cpSync(join(PACKAGE_ROOT, "assembly"), join(tmp, "assembly"), { recursive: true });
    symlinkSync(dirname(dirname(dirname(asc))), join(tmp, "node_modules")); // for the build's transform
    const gen = spawnSync(process.execPath, [join(tmp, "assembly", "ops", "generate.mjs"), "--opcodes", opcodes.join(","), "--assembly-out", join(tmp, "assembly", "ops", "dispatch.ts")], { encoding: "utf8" });
    if (gen.status !== 0) fail("RUNTIME", `the op generator failed: ${gen.stderr.trim()}`);
    let entry = join(tmp, "assembly", "index.ts");
    if (!options.audio) {
      const names = [...readFileSync(entry, "utf8").matchAll(/^export function (wisp_\w+)/gm)].map((m) => m[1]).filter((n) => !AUDIO_EXPORT.test(n));
      entry = join(tmp, "assembly", "model-module.ts");
      writeFileSync(entry, `// The model ABI of index.ts without the audio front ends.\nexport { ${names.join(", ")} } from "./index";\n`);
    }
    const out = join(tmp, "module.wasm");
    const config = JSON.parse(readFileSync(join(PACKAGE_ROOT, "asconfig.json"), "utf8"));
    delete config.entries; // the entry is the one given on the command line
    writeFileSync(join(tmp, "asconfig.json"), JSON.stringify(config));
    const r = spawnSync(process.execPath, [asc, entry, "--config", join(tmp, "asconfig.json"), "--target", "release", "--transform", "./assembly/ascii-errors.mjs", "--outFile", out, "--textFile", join(tmp, "module.wat")], { encoding: "utf8", cwd: tmp });
    if (r.status !== 0) fail("RUNTIME", `asc failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" ")}`);
    return { wasm: new Uint8Array(readFileSync(out)), opcodes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
