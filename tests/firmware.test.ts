// The same build/wisp.wasm, translated by wasm2c and linked into bare-metal
// firmware, runs golden vectors on emulated boards (QEMU) byte-exact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { buildGoldenFirmware, runFirmware } from "../host/boards/build";
import { TASKS } from "../host/node/models";
import { modelsDir } from "./helpers";

const TOOLS = ["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"];
const missing = TOOLS.filter((t) => spawnSync(t, ["--version"]).error);
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root` : false;
const VECTORS = 3;

for (const task of TASKS) {
  test(`mps2-an386 (Cortex-M4, wasm2c AOT): ${task} golden vectors byte-exact`, { skip }, () => {
    const dir = join(modelsDir(), task);
    const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
    const inputs = readFileSync(join(dir, "public", "inputs.bin")).subarray(0, VECTORS * info.input.bytes);
    const outputs = readFileSync(join(dir, "public", "outputs.bin")).subarray(0, VECTORS * info.output.bytes);
    const { elf } = buildGoldenFirmware({ board: "mps2-an386", name: task, wisp, inputs, outputs, count: VECTORS, arenaBytes: info.arenaBytes });
    const r = runFirmware("mps2-an386", elf);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`${task}: ${VECTORS}/${VECTORS} byte-exact`));
  });
}
