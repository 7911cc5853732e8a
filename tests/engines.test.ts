// The C host over both engines, natively on this machine: the wasm2c AOT
// engine (with gcc and wasm2c) and the wasm3 engine (wasm3's sources from
// $WASM3_DIR or ../shared/wasm3/source; the project neither ships nor
// downloads wasm3).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { buildNativeGolden } from "../host/boards/build";
import { findZoo2Dir } from "../host/node/models";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { loadSync } from "../host/node/api";
import { instantiateOn } from "../host/node/engine";
import { modelsDir, throwsCoded } from "./helpers";

const VECTORS = 4;
const haveAot = ["gcc", "wasm2c"].every((t) => !spawnSync(t, ["--version"]).error);
const haveWasm3 = findWasm3Dir() !== null;

function golden(task: string, dir = join(modelsDir(), task), count = VECTORS) {
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
  return {
    name: task, wisp, count, arenaBytes: info.arenaBytes,
    inputs: readFileSync(join(dir, "public", "inputs.bin")).subarray(0, count * info.input.bytes),
    outputs: readFileSync(join(dir, "public", "outputs.bin")).subarray(0, count * info.output.bytes),
  };
}

for (const task of ["kws", "ad", "sww"]) {
  test(`C host, wasm2c engine, native: ${task} byte-exact`, { skip: haveAot ? false : "gcc or wasm2c missing: run host/c/install-toolchain.sh" }, () => {
    const r = spawnSync(buildNativeGolden("aot", golden(task)), { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${task}: ${VECTORS}/${VECTORS} byte-exact`));
  });
  test(`C host, wasm3 engine: ${task} byte-exact`, { skip: haveWasm3 ? false : MISSING_WASM3_HINT }, () => {
    const r = spawnSync(buildNativeGolden("wasm3", golden(task)), { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${task}: ${VECTORS}/${VECTORS} byte-exact`));
  });
}

test("C host rejects a corrupt model with the module's message", { skip: haveAot ? false : "gcc or wasm2c missing" }, () => {
  const g = golden("ad");
  const wisp = g.wisp.slice();
  wisp[100] ^= 0xff;
  const r = spawnSync(buildNativeGolden("aot", { ...g, name: "ad-corrupt", wisp }), { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stdout, /load failed \(2\): CRC32 mismatch/);
});

// Stateful models (LSTM, SVDF): the golden vectors ran in sequence on one TFLM
// interpreter, so the firmware's invokes after one load must carry the state.
const zoo2 = findZoo2Dir();
for (const task of ["real_dtln_noise_suppression", "real_keyword_scrambled_8bit"]) {
  test(`C host, wasm2c engine, native: zoo2 ${task} byte-exact over 8 invokes in sequence`, { skip: !haveAot ? "gcc or wasm2c missing" : zoo2 ? false : "zoo2 not found" }, () => {
    const r = spawnSync(buildNativeGolden("aot", golden(task, join(zoo2!, task), 8)), { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${task}: 8/8 byte-exact`));
  });
}

// The Node API's engine choice: V8 or wasm3 through our binding.
test("load() takes engine \"node\" or \"wasm3\" and refuses any other", () => {
  const model = readFileSync(join(modelsDir(), "ad", "model.tflite"));
  throwsCoded(() => loadSync(new Uint8Array(model), { engine: "v8" as never }), "BAD_INPUT", /engine must be one of node, wasm3/);
});

test("under wasm3, load() runs the interpreter build (build/wisp-wasm3.wasm) and says so", { skip: haveWasm3 ? false : MISSING_WASM3_HINT }, () => {
  const model = new Uint8Array(readFileSync(join(modelsDir(), "ad", "model.tflite")));
  const interpreted = loadSync(model, { engine: "wasm3" }), scalar = loadSync(model, { simd: false });
  assert.equal(interpreted.info.module, "wasm3");
  const input = Int8Array.from({ length: scalar.inputBytes }, (_, i) => ((i * 37) % 256) - 128);
  assert.deepEqual(interpreted.invoke(input), scalar.invoke(input));
});

test("wasm3 in Node: a read outside the streamed model traps into a coded error, as under V8", { skip: haveWasm3 ? false : MISSING_WASM3_HINT }, () => {
  const { wisp } = golden("ad");
  for (const engine of ["node", "wasm3"] as const) {
    const w = instantiateOn(engine, wisp.subarray(0, 16));
    assert.throws(() => w.wisp_load_streamed(wisp.length, 0), (e: Error & { code?: string }) => e.code === "RUNTIME" && /outside the model/.test(e.message), engine);
  }
});
