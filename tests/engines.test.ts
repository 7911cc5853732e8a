// The C host over both engines, natively on this machine: the wasm2c AOT
// engine always (with gcc and wasm2c), the wasm3 engine when WASM3_DIR points
// at the user's wasm3 sources (the project neither ships nor downloads wasm3).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { buildNativeGolden } from "../host/boards/build";
import { modelsDir } from "./helpers";

const VECTORS = 4;
const haveAot = ["gcc", "wasm2c"].every((t) => !spawnSync(t, ["--version"]).error);
const wasm3Dir = process.env.WASM3_DIR;

function golden(task: string) {
  const dir = join(modelsDir(), task);
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
  return {
    name: task, wisp, count: VECTORS, arenaBytes: info.arenaBytes,
    inputs: readFileSync(join(dir, "public", "inputs.bin")).subarray(0, VECTORS * info.input.bytes),
    outputs: readFileSync(join(dir, "public", "outputs.bin")).subarray(0, VECTORS * info.output.bytes),
  };
}

for (const task of ["kws", "ad", "sww"]) {
  test(`C host, wasm2c engine, native: ${task} byte-exact`, { skip: haveAot ? false : "gcc or wasm2c missing: run host/c/install-toolchain.sh" }, () => {
    const r = spawnSync(buildNativeGolden("aot", golden(task)), { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`${task}: ${VECTORS}/${VECTORS} byte-exact`));
  });
  test(`C host, wasm3 engine: ${task} byte-exact`, { skip: wasm3Dir ? false : "WASM3_DIR is not set (point it at wasm3's source folder)" }, () => {
    const r = spawnSync(buildNativeGolden("wasm3", golden(task), wasm3Dir), { encoding: "utf8" });
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
