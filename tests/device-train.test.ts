// Training on the device: the trainer module, translated by wasm2c beside
// the inference module, runs in Cortex-M4 firmware (mps2-an386 under QEMU),
// trains the head on backbone features, and sends its update message over
// the UART: the bytes equal the Node trainer's for the same data, head and
// options. A global delta sent back is applied there as in Node, and the
// device bridge carries both with the firmware alone (no broker).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { missingTools } from "../host/boards/build";
import { buildTrainFirmware, parseTrainReport, startTrainDevice, TrainFirmware, UpdateOptions } from "../host/boards/train";
import { startDeviceBridge } from "../host/fl/device-bridge";
import { Backbone, backboneFeatureModel, FASHION_MNIST_DIR, readFashionMnist } from "../host/fl/fashion-mnist";
import { quantizeDelta, tensorGroups } from "../host/fl/quantize";
import { HeadSpec, HeadTrainer } from "../host/fl/trainer";
import { encodeUpdate } from "../host/fl/update-format";
import { modelsDir, prng } from "./helpers";

const BOARD = "mps2-an386";
const missing = missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]);
const haveData = existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root`
  : !haveData ? `Fashion-MNIST not found in ${FASHION_MNIST_DIR} (Debian's dataset-fashion-mnist)` : false;

const EXAMPLES = 40, BATCH = 10, EPOCHS = 2;
const UPDATE: UpdateOptions = { bits: 8, topk: 0.1, groups: "tensor", modelVersion: 1, clientId: 7 };

// The fleet experiment's head (64 -> 64 -> 10), from a seeded initialization.
function headSpec(q: { scale: number; zeroPoint: number }): HeadSpec {
  const random = prng(2026);
  const gaussian = () => Math.sqrt(-2 * Math.log((random(1 << 30) + 1) / (1 << 30))) * Math.cos((2 * Math.PI * random(1 << 30)) / (1 << 30));
  const init = (n: number) => Float32Array.from({ length: n }, () => gaussian() * Math.sqrt(2 / 64));
  return { inDim: 64, hidden: 64, classes: 10, w1: init(4096), w2: init(640), inputScale: q.scale, inputZeroPoint: q.zeroPoint,
    hiddenRange: 8, logitRange: 16, weightHeadroom: 4, lr: 0.1, batch: BATCH };
}

// One round of local training in Node, as the fleet worker and train.c run it.
function nodeRound(trainer: HeadTrainer, features: Int8Array[], labels: Uint8Array, round: number, epochs = EPOCHS): Uint8Array {
  trainer.beginRound();
  for (let e = 0; e < epochs; e++) {
    features.forEach((f, n) => {
      trainer.accumulate(f, labels[n]);
      if ((n + 1) % BATCH === 0) trainer.update();
    });
    trainer.update();
  }
  return trainer.exportUpdate({ ...UPDATE, round, sampleCount: features.length });
}

// A server's global delta: small changes everywhere, 8-bit dense.
function globalDelta(n: number, round: number): Uint8Array {
  const random = prng(77 + round);
  const step = Float32Array.from({ length: n }, () => (random(2001) - 1000) * 2e-6);
  const q = quantizeDelta(step, new Float32Array(n), { bits: 8, topk: 1, groupEnds: tensorGroups([4096, 640, 64, 10]) });
  return encodeUpdate({ modelVersion: 1, clientId: 0, round, sampleCount: 1000, bits: 8, elements: n, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
}

let setup: { backbone: Backbone; images: Uint8Array[]; labels: Uint8Array; features: Int8Array[]; spec: HeadSpec } | null = null;
function data() {
  if (!setup) {
    const backbone = new Backbone(new Uint8Array(readFileSync(join(modelsDir(), "ic", "model.tflite"))));
    const { images, labels } = readFashionMnist("train", EXAMPLES);
    setup = { backbone, images, labels, features: images.map((im) => backbone.features(im)), spec: headSpec(backbone.featureQuantization) };
  }
  return setup;
}

function firmware(name: string, extra: Partial<TrainFirmware>): TrainFirmware {
  const d = data();
  const flat = new Int8Array(EXAMPLES * 64);
  d.features.forEach((f, i) => flat.set(f, i * 64));
  return { board: BOARD, name, head: new HeadTrainer(d.spec).image(), labels: d.labels, features: flat, epochs: EPOCHS, batch: BATCH, update: UPDATE, ...extra };
}

test("the backbone cut after its pooling gives Backbone's features, byte for byte", { skip }, async () => {
  const { loadSync } = await import("../host/node/api");
  const d = data();
  const model = loadSync(backboneFeatureModel(new Uint8Array(readFileSync(join(modelsDir(), "ic", "model.tflite")))));
  assert.equal(model.outputBytes, 64);
  const { backboneInput } = await import("../host/fl/fashion-mnist");
  for (let i = 0; i < 5; i++) assert.deepEqual(model.invoke(backboneInput(d.images[i])), d.features[i], `image ${i}`);
});

test(`${BOARD}: the trainer in firmware sends the Node trainer's update bytes over the UART, and applies a global delta as Node does, two rounds`, { skip }, async () => {
  const d = data();
  const built = buildTrainFirmware(firmware("precomputed", { rounds: 2 }));
  const node = new HeadTrainer(d.spec);
  const device = await startTrainDevice(BOARD, built.elf);
  try {
    for (let round = 0; round < 2; round++) {
      const expected = nodeRound(node, d.features, d.labels, round);
      const sent = await device.next();
      assert.equal(sent.kind, "U");
      assert.ok(Buffer.from(sent.payload).equals(Buffer.from(expected)), `round ${round}: the device's ${sent.payload.length}-byte update differs from Node's ${expected.length} bytes`);
      const delta = globalDelta(node.parameterCount, round);
      const before = node.image();
      node.revert();
      node.applyUpdate(delta);
      assert.ok(!Buffer.from(node.image()).equals(Buffer.from(before)), "the delta changed nothing");
      device.send("D", delta);
      const ack = await device.next();
      assert.equal(ack.kind, "A");
      assert.equal(new DataView(ack.payload.buffer).getUint32(0, true), 0, "the device refused the delta");
      assert.ok(Buffer.from(ack.payload.subarray(4)).equals(Buffer.from(node.image())), `round ${round}: the device's head after the delta differs from Node's`);
    }
    const { status, stdout } = await device.exited;
    assert.equal(status, 0, stdout);
    const report = parseTrainReport(stdout);
    assert.equal(report.samples, 2 * EPOCHS * EXAMPLES);
  } finally {
    device.close();
  }
});

test(`${BOARD}: a corrupt global delta is refused in firmware with the module's reason, and the head stays at the round's start`, { skip }, async () => {
  const d = data();
  const built = buildTrainFirmware(firmware("precomputed", { rounds: 2 }));
  const node = new HeadTrainer(d.spec);
  const device = await startTrainDevice(BOARD, built.elf);
  try {
    nodeRound(node, d.features, d.labels, 0);
    assert.equal((await device.next()).kind, "U");
    const delta = globalDelta(node.parameterCount, 0);
    delta[60] ^= 0x10; // the CRC no longer matches
    device.send("D", delta);
    const ack = await device.next();
    assert.equal(new DataView(ack.payload.buffer).getUint32(0, true), 2, "expected the bad-CRC refusal");
    node.revert();
    assert.ok(Buffer.from(ack.payload.subarray(4)).equals(Buffer.from(node.image())), "a refused delta changed more than the revert");
    // Round 1: a delta longer than the module's message buffer is read, dropped and refused as malformed.
    nodeRound(node, d.features, d.labels, 1);
    assert.equal((await device.next()).kind, "U");
    device.send("D", new Uint8Array(20_000).fill(0x55));
    const long = await device.next();
    assert.equal(new DataView(long.payload.buffer).getUint32(0, true), 1, "expected the malformed refusal");
    node.revert();
    assert.ok(Buffer.from(long.payload.subarray(4)).equals(Buffer.from(node.image())));
    assert.equal((await device.exited).status, 0);
  } finally {
    device.close();
  }
});

test(`${BOARD}: the device bridge, firmware alone: the backbone runs on the device, updates come out as Node's, deltas go in`, { skip }, async () => {
  const d = data();
  const count = 4; // the ResNet-8 backbone on each image, in the emulator
  const ic = new Uint8Array(readFileSync(join(modelsDir(), "ic", "model.tflite")));
  const node = new HeadTrainer({ ...d.spec, batch: 2 });
  const built = buildTrainFirmware({ ...firmware("backbone", {}), head: node.image(), labels: d.labels.subarray(0, count), features: undefined,
    images: d.images.slice(0, count), backbone: backboneFeatureModel(ic), batch: 2 });
  const features = d.features.slice(0, count);
  const bridge = await startDeviceBridge({ board: BOARD, elf: built.elf });
  let round = 0, closed = false;
  try {
    for await (const update of bridge.updates) {
      node.beginRound();
      for (let e = 0; e < EPOCHS; e++) {
        features.forEach((f, n) => { node.accumulate(f, d.labels[n]); if ((n + 1) % 2 === 0) node.update(); });
        node.update();
      }
      const expected = node.exportUpdate({ ...UPDATE, round, sampleCount: count });
      assert.ok(Buffer.from(update).equals(Buffer.from(expected)), `round ${round}: the bridged update differs from Node's`);
      const delta = globalDelta(node.parameterCount, round);
      node.revert();
      node.applyUpdate(delta);
      const { status, head } = await bridge.sendDelta(delta);
      assert.equal(status, 0);
      assert.ok(Buffer.from(head).equals(Buffer.from(node.image())), `round ${round}: heads differ after the delta`);
      if (++round === 2) break;
    }
    const { status, console } = await bridge.close();
    closed = true;
    assert.equal(round, 2);
    assert.equal(status, 0, console);
    assert.ok(parseTrainReport(console).inferenceMemoryBytes > 0);
  } finally {
    if (!closed) await bridge.close();
  }
});

test(`${BOARD}: guest instructions per sample, per batch step and per update export stay within the committed budget`, { skip }, async () => {
  const { BUDGET_TOLERANCE } = await import("../host/boards/matrix");
  const { measureTrainOnBoard } = await import("../host/boards/train");
  const { PACKAGE_ROOT } = await import("./helpers");
  const budget: Record<string, number> = JSON.parse(readFileSync(join(PACKAGE_ROOT, "bench", "device-train-budget.json"), "utf8"))[BOARD];
  const m = measureTrainOnBoard(firmware("budget", {}));
  const measured: Record<string, number> = { sample: m.instructionsPerSample, step: m.instructionsPerStep, export: m.instructionsPerExport };
  console.log(JSON.stringify({ ...measured, ramBytes: m.ramBytes, flashBytes: m.flashBytes, trainerMemoryBytes: m.trainerMemoryBytes }));
  assert.equal(m.samples, EPOCHS * EXAMPLES);
  assert.equal(m.steps, EPOCHS * (EXAMPLES / BATCH));
  for (const [part, count] of Object.entries(measured)) {
    assert.ok(budget[part], `no ${part} budget for ${BOARD} in bench/device-train-budget.json (measured ${count})`);
    assert.ok(count > 0 && count <= budget[part] * (1 + BUDGET_TOLERANCE), `${part}: ${count} instructions, budget ${budget[part]} (+${BUDGET_TOLERANCE * 100}%)`);
  }
});
