// `wisp build-module`: a Wisp module holding only the kernels one model
// uses. The AssemblyScript source is copied to a temporary folder, the op
// dispatch is generated there for the model's opcodes (the other kernels and
// their validators then compile away), and asc builds it with the settings
// of build/wisp-wasm3.wasm: such a module is for wasm3 (the AOT build
// translates build/wisp.wasm, V8 runs the SIMD build). Without `audio`, the entry exports the model
// ABI only, so the front ends and incremental streaming drop out too.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as F from "../../assembly/format";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "./package-root";
import { opRecords, sections } from "./wisp-file";

// The opcodes of every op record in a .wisp file's graph section.
export function opcodesOf(wisp: Uint8Array): number[] {
  if (!sections(wisp).some((s) => s.kind === F.SECTION_GRAPH)) fail("BAD_WISP", "the .wisp file has no graph section");
  return [...new Set(opRecords(wisp).map((r) => r.opcode))].sort((a, b) => a - b);
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
    const r = spawnSync(process.execPath, [asc, entry, "--config", join(tmp, "asconfig.json"), "--target", "wasm3", "--transform", "./assembly/ascii-errors.mjs", "--outFile", out, "--textFile", join(tmp, "module.wat")], { encoding: "utf8", cwd: tmp });
    if (r.status !== 0) fail("RUNTIME", `asc failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" ")}`);
    return { wasm: new Uint8Array(readFileSync(out)), opcodes };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
