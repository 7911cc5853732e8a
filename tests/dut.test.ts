// The MLPerf Tiny DUT firmware on the emulated Cortex-M4, driven through
// QEMU's serial port like the MLPerf Tiny runner drives a board: load a
// golden input with db, infer, and compare the results with TFLM's output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { buildGoldenFirmware, missingTools } from "../host/boards/build";
import { startDut } from "../host/boards/dut";
import { formatAnomalyScore, formatDutResults as formatResults } from "../host/boards/mlperf-dataset";
import { buildTaskDut } from "../host/boards/mlperf-dut";
import { TARGETS } from "../host/boards/matrix";
import { loadSync } from "../host/node/api";
import { modelsDir, prng } from "./helpers";
import { buildTflite, int8Bytes, scalar, table } from "./tflite-writer";

const missing = missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]);
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root` : false;
const skipAll = missingTools().length ? `toolchain missing (${missingTools().join(", ")}): run host/c/install-toolchain.sh as root` : false;

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

// ad01 as the runner sends it: 640 float32 features (2560 bytes) that the DUT
// quantizes, and the reference submission's anomaly score as the result.
test("MLPerf Tiny DUT, ad01: float32 features in, the reference's anomaly score out", { skip }, async () => {
  const models = modelsDir();
  const meta = JSON.parse(readFileSync(join(models, "ad", "meta.json"), "utf8"));
  const source = readFileSync(join(models, "samples", "normal_id_01_00000000_hist_librosa.bin"));
  const golden = new Int8Array(readFileSync(join(models, "ad", "real", "outputs.bin")));
  const dut = await startDut("mps2-an386", buildTaskDut("ad", models));
  try {
    const send = async (bytes: Uint8Array) => {
      await dut.send(`db load ${bytes.length}`);
      for (let at = 0; at < bytes.length; at += 32) await dut.send(`db ${Buffer.from(bytes.subarray(at, at + 32)).toString("hex")}`);
      return dut.send("infer 1 0");
    };
    for (const window of [0, 100]) {
      // Window i of the recording starts at frame i (128 floats in).
      const features = new Float32Array(source.buffer.slice(source.byteOffset + window * 512, source.byteOffset + window * 512 + 2560));
      const reply = await send(new Uint8Array(features.buffer));
      assert.equal(reply[reply.length - 2], formatAnomalyScore(golden.subarray(window * 640, (window + 1) * 640), features, meta.output));
    }
    const wrong = await send(new Uint8Array(100));
    assert.equal(wrong[0], "e-[Input db has 100 bytes, the model takes 640 (int8) or 2560 (float32 features)]");
  } finally {
    dut.close();
  }
});

// A model small enough for every board: 16 int8 in, a dense layer, 4 scores in [0, 1).
function tinyModel(): Uint8Array {
  const random = prng(505);
  return buildTflite({
    tensors: [
      { shape: [1, 16], type: TensorType.INT8, scale: [0.05], zeroPoint: [0] },
      { shape: [4, 16], type: TensorType.INT8, scale: [0.02], data: int8Bytes(Array.from({ length: 64 }, () => random(255) - 127)) },
      { shape: [1, 4], type: TensorType.INT8, scale: [1 / 256], zeroPoint: [-128] },
    ],
    ops: [{ builtin: Builtin.FULLY_CONNECTED, version: 4, inputs: [0, 1, -1], outputs: [2], options: table(scalar("i8", 0)) }],
    inputs: [0],
    outputs: [2],
  });
}

// Each board's board.c: its UART carries the protocol both ways and its clock runs.
for (const board of Object.keys(TARGETS)) {
  test(`${board} (${TARGETS[board]}): the DUT over the board's own UART and clock (board.c)`, { skip: skipAll }, async () => {
    const tflite = tinyModel();
    const model = loadSync(tflite);
    const { wisp, info } = convertTflite(tflite);
    const { elf } = buildGoldenFirmware({
      board, program: "dut", fromFlash: true, name: "tiny", wisp, arenaBytes: info.arenaBytes,
      count: 0, inputs: new Uint8Array(0), outputs: new Uint8Array(0), outputScale: info.output.scale, outputZeroPoint: info.output.zeroPoint,
    });
    const dut = await startDut(board, elf);
    try {
      assert.deepEqual(await dut.send("name"), ["m-name-dut-[wisp]", "m-ready"]);
      const lap = async () => Number(/^m-lap-us-(\d+)$/.exec((await dut.send("timestamp"))[0])?.[1]);
      const before = await lap();
      await new Promise((r) => setTimeout(r, 50));
      const after = await lap();
      // At least the 50 ms waited (a clock at the wrong rate comes out short).
      assert.ok(after - before >= 45_000, `${after - before} us between two timestamps 50 ms apart`);
      const input = Int8Array.from({ length: 16 }, (_, i) => (i * 37) % 256 - 128);
      assert.deepEqual(await dut.send("db load 16"), ["m-[Expecting 16 bytes]", "m-ready"]);
      assert.deepEqual(await dut.send(`db ${Buffer.from(input.buffer).toString("hex")}`), ["m-load-done", "m-ready"]);
      const reply = await dut.send("infer 1 0");
      assert.equal(reply[reply.length - 2], formatResults(model.invoke(input), info.output.scale, info.output.zeroPoint));
    } finally {
      dut.close();
    }
  });
}
