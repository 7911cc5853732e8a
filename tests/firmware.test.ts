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

const TOOLS = ["arm-none-eabi-gcc", "riscv64-unknown-elf-gcc", "qemu-system-arm", "qemu-system-riscv32", "wasm2c"];
const missing = TOOLS.filter((t) => spawnSync(t, ["--version"]).error);
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root` : false;
const VECTORS = 3;

// kws, ad and sww on every target; ic and vww on the M4 and the M55.
const BOARDS: Record<string, string> = {
  "mps2-an386": "Cortex-M4", "mps2-an500": "Cortex-M7", "mps2-an505": "Cortex-M33", "mps3-an547": "Cortex-M55", "virt-rv32": "rv32imc",
};
const MATRIX = Object.keys(BOARDS).flatMap((board) =>
  TASKS.filter((t) => ["kws", "ad", "sww"].includes(t) || board === "mps2-an386" || board === "mps3-an547").map((task) => ({ board, task })));

for (const { board, task } of MATRIX) {
  test(`${board} (${BOARDS[board]}, wasm2c AOT): ${task} golden vectors byte-exact`, { skip }, () => {
    const dir = join(modelsDir(), task);
    const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
    const inputs = readFileSync(join(dir, "public", "inputs.bin")).subarray(0, VECTORS * info.input.bytes);
    const outputs = readFileSync(join(dir, "public", "outputs.bin")).subarray(0, VECTORS * info.output.bytes);
    const { elf } = buildGoldenFirmware({ board, name: task, wisp, inputs, outputs, count: VECTORS, arenaBytes: info.arenaBytes });
    const r = runFirmware(board, elf);
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, new RegExp(`${task}: ${VECTORS}/${VECTORS} byte-exact`));
  });
}
