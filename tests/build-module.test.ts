// `wisp build-module`: a module with only one model's kernels runs that
// model byte-exact, is small, and refuses a model that needs other ops.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { buildModule, opcodesOf } from "../host/node/build-module";
import { goldenSets } from "../host/node/models";
import { runGolden } from "../bench/measure";
import { cli, modelsDir, PACKAGE_ROOT, readModel } from "./helpers";

// The module is built for wasm3 (the interpreter build): its two-lane loops
// take 1.7 KB more code than the scalar module's, for a fifth fewer
// instructions (kws under wasm3 on the M4: 260 M -> 206 M).
const KWS_GOAL = 22 * 1024;

test("a kws-only module runs every kws golden vector byte-exact, within 22 KiB, and refuses models needing other ops", () => {
  const dir = join(modelsDir(), "kws");
  const { wisp } = convertTflite(readModel(dir));
  const { wasm, opcodes } = buildModule(wisp);
  assert.deepEqual(opcodes, opcodesOf(wisp));
  assert.ok(wasm.length <= KWS_GOAL, `kws module is ${wasm.length} bytes, goal ${KWS_GOAL}`);
  const full = readFileSync(join(PACKAGE_ROOT, "build", "wisp.wasm"));
  assert.ok(wasm.length < full.length * 0.5, `kws module ${wasm.length} bytes vs ${full.length} for every op`);
  const model = loadSync(wisp, { module: wasm });
  for (const set of goldenSets(dir)) {
    const r = runGolden(model, set);
    assert.equal(r.exact, r.vectors, `kws/${set.name} on the kws module: ${r.exact}/${r.vectors}`);
  }
  // ad needs only FULLY_CONNECTED, which kws has; ic needs ADD, which it lacks.
  loadSync(readModel(join(modelsDir(), "ad")), { module: wasm });
  assert.throws(() => loadSync(readModel(join(modelsDir(), "ic")), { module: wasm }), (e: unknown) =>
    e instanceof WispError && e.code === "BAD_WISP" && /not built into this module/.test(e.message));
  // The front ends are left out too.
  assert.ok(!WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(wasm))).some((x) => x.name.startsWith("wisp_lfbe_")));
});

test("wisp build-module writes the module and refuses what is not a module", () => {
  const out = join(mkdtempSync(join(tmpdir(), "wisp-module-")), "ad-runtime.wasm");
  const r = cli(["build-module", join(modelsDir(), "ad", "model.tflite"), "-o", out, "--with-audio"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*ad-runtime\.wasm \(\d+ bytes\) for FULLY_CONNECTED, with the audio front ends/);
  const wasm = new Uint8Array(readFileSync(out));
  assert.ok(WebAssembly.Module.exports(new WebAssembly.Module(wasm)).some((x) => x.name === "wisp_lfbe_init"));
  assert.throws(() => loadSync(readModel(join(modelsDir(), "ad")), { module: new Uint8Array([0, 97, 115, 109]) }), (e: unknown) => e instanceof WispError && e.code === "BAD_INPUT");
  assert.equal(cli(["build-module", join(modelsDir(), "ad", "model.tflite")]).status, 2);
});
