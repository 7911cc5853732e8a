// The MLPerf Tiny DUT firmware on the emulated Cortex-M4, driven through
// QEMU's serial port like the MLPerf Tiny runner drives a board: load a
// golden input with db, infer, and compare the results with TFLM's output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { buildGoldenFirmware, missingTools } from "../host/boards/build";
import { startDut } from "../host/boards/dut";
import { modelsDir } from "./helpers";

const missing = missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]);
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root` : false;

// The reference submissions' result format: 0.ddd per class, float32 math.
function formatResults(output: Int8Array, scale: number, zeroPoint: number): string {
  const f = Math.fround;
  return `m-results-[${Array.from(output, (q) => {
    const v = f(f(q - zeroPoint) * f(scale));
    return `0.${Math.trunc(f(v * 10))}${Math.trunc(f(v * 100)) % 10}${Math.trunc(f(v * 1000)) % 10}`;
  }).join(",")}]`;
}

test("MLPerf Tiny DUT protocol over the M4's UART: name, profile, db, infer, results", { skip }, async () => {
  const dir = join(modelsDir(), "kws");
  const { wisp, info } = convertTflite(new Uint8Array(readFileSync(join(dir, "model.tflite"))));
  const { elf } = buildGoldenFirmware({
    board: "mps2-an386", program: "dut", fromFlash: true, name: "kws", modelVersion: "kws01", wisp, arenaBytes: info.arenaBytes,
    count: 0, inputs: new Uint8Array(0), outputs: new Uint8Array(0), outputScale: info.output.scale, outputZeroPoint: info.output.zeroPoint,
  });
  const dut = await startDut("mps2-an386", elf);
  try {
    assert.deepEqual(await dut.send("name"), ["m-name-dut-[wisp]", "m-ready"]);
    assert.deepEqual(await dut.send("profile"), ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]", "m-ready"]);
    assert.match((await dut.send("bogus"))[0], /^e-\[Unknown command: bogus\]$/);
    const inputs = readFileSync(join(dir, "public", "inputs.bin"));
    const outputs = new Int8Array(readFileSync(join(dir, "public", "outputs.bin")));
    for (const vector of [0, 5]) {
      const input = inputs.subarray(vector * info.input.bytes, (vector + 1) * info.input.bytes);
      assert.deepEqual(await dut.send(`db load ${input.length}`), [`m-[Expecting ${input.length} bytes]`, "m-ready"]);
      let last: string[] = [];
      for (let at = 0; at < input.length; at += 32) last = await dut.send(`db ${input.subarray(at, at + 32).toString("hex")}`);
      assert.deepEqual(last, ["m-load-done", "m-ready"]);
      const reply = await dut.send("infer 2 1");
      assert.equal(reply[0], "m-warmup-start-1");
      assert.ok(reply.includes("m-infer-done"), reply.join(" | "));
      assert.equal(reply.filter((l) => /^m-lap-us-\d+$/.test(l)).length, 2);
      const expected = formatResults(outputs.subarray(vector * info.output.bytes, (vector + 1) * info.output.bytes), info.output.scale, info.output.zeroPoint);
      assert.equal(reply[reply.length - 2], expected);
      assert.deepEqual(await dut.send("results"), [expected, "m-ready"]);
    }
  } finally {
    dut.close();
  }
});
