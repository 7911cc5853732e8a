// Training on the device: the trainer module, translated by wasm2c beside
// the inference module, runs in Cortex-M4 firmware (mps2-an386 under QEMU),
// trains the head on backbone features, and sends its update message over
// the UART: the bytes equal the Node trainer's for the same data, head and
// options. A signed global delta sent back is checked (signature, fleet,
// round) and applied there as in Node; a forged, foreign or replayed one is
// refused and the head stays as it was. The device bridge carries both, with
// the firmware alone and as one member of a fleet on the broker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { missingTools } from "../host/boards/build";
import { buildTrainFirmware, parseTrainReport, startTrainDevice, TrainFirmware, UpdateOptions } from "../host/boards/train";
import { bridgeToFleet, DeviceBridge, startDeviceBridge } from "../host/fl/device-bridge";
import { parseConfig, RoundAggregator } from "../host/fl/aggregate";
import { provisionFleet } from "../host/fl/fleet-policy";
import { MqttRoundServer, runClient } from "../host/fl/mqtt";
import { DeviceDeltas, privateKey, signDelta } from "../host/fl/signing";
import { fleetBroker } from "./fleet-helpers";
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
function nodeRound(trainer: HeadTrainer, features: Int8Array[], labels: Uint8Array, round: number, epochs = EPOCHS, clientId = UPDATE.clientId): Uint8Array {
  trainer.beginRound();
  for (let e = 0; e < epochs; e++) {
    features.forEach((f, n) => {
      trainer.accumulate(f, labels[n]);
      if ((n + 1) % BATCH === 0) trainer.update();
    });
    trainer.update();
  }
  return trainer.exportUpdate({ ...UPDATE, clientId, round, sampleCount: features.length });
}

// The fleet the firmware is provisioned for, and another with the same name (another key).
const FLEET = provisionFleet("devtrain", 8), OTHER = provisionFleet("devtrain", 1);
const PROVISIONED = { name: FLEET.server.fleet, serverPublicKey: FLEET.server.publicKey };
const sign = (delta: Uint8Array, fleet = FLEET.server.fleet, key = FLEET.server.signingKey) => signDelta(delta, fleet, privateKey(key));
const deviceDeltas = () => new DeviceDeltas(FLEET.server.fleet, FLEET.server.publicKey);

// A server's global delta (unsigned): small changes everywhere, 8-bit dense.
function rawDelta(n: number, round: number, seed = round): Uint8Array {
  const random = prng(77 + seed);
  const step = Float32Array.from({ length: n }, () => (random(2001) - 1000) * 2e-6);
  const q = quantizeDelta(step, new Float32Array(n), { bits: 8, topk: 1, groupEnds: tensorGroups([4096, 640, 64, 10]) });
  return encodeUpdate({ modelVersion: 1, clientId: 0, round, sampleCount: 1000, bits: 8, elements: n, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
}
const globalDelta = (n: number, round: number) => sign(rawDelta(n, round));
const statusOf = (ack: { payload: Uint8Array }) => new DataView(ack.payload.buffer, ack.payload.byteOffset).getUint32(0, true);

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
  return { board: BOARD, name, head: new HeadTrainer(d.spec).image(), labels: d.labels, features: flat, epochs: EPOCHS, batch: BATCH, update: UPDATE, fleet: PROVISIONED, ...extra };
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
  const node = new HeadTrainer(d.spec), deltas = deviceDeltas();
  const device = await startTrainDevice(BOARD, built.elf);
  try {
    for (let round = 0; round < 2; round++) {
      const expected = nodeRound(node, d.features, d.labels, round);
      const sent = await device.next();
      assert.equal(sent.kind, "U");
      assert.ok(Buffer.from(sent.payload).equals(Buffer.from(expected)), `round ${round}: the device's ${sent.payload.length}-byte update differs from Node's ${expected.length} bytes`);
      const delta = globalDelta(node.parameterCount, round);
      const before = node.image();
      assert.equal(node.applyGlobalDelta(delta, deltas), round);
      assert.ok(!Buffer.from(node.image()).equals(Buffer.from(before)), "the delta changed nothing");
      device.send("D", delta);
      const ack = await device.next();
      assert.equal(ack.kind, "A");
      assert.equal(statusOf(ack), 0, "the device refused the delta");
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

test(`${BOARD}: forged, unsigned, foreign, replayed and corrupt global deltas are refused in firmware, each with its status, and the head stays as it was`, { skip }, async () => {
  const d = data();
  const built = buildTrainFirmware(firmware("precomputed", { rounds: 2 }));
  const node = new HeadTrainer(d.spec), deltas = deviceDeltas();
  const device = await startTrainDevice(BOARD, built.elf);
  const n = node.parameterCount;
  // Sends a delta, expects `status`, and the head the device reports to be Node's now.
  const expect = async (delta: Uint8Array, status: number, what: string) => {
    device.send("D", delta);
    const ack = await device.next();
    assert.equal(ack.kind, "A");
    assert.equal(statusOf(ack), status, what);
    assert.ok(Buffer.from(ack.payload.subarray(4)).equals(Buffer.from(node.image())), `${what}: the head is not as expected`);
  };
  try {
    nodeRound(node, d.features, d.labels, 0);
    assert.equal((await device.next()).kind, "U");
    const good0 = globalDelta(n, 0);
    const flipped = good0.slice();
    flipped[100] ^= 0x01; // a value changed after signing
    const refusedBefore = [
      [flipped, "a changed byte"],
      [rawDelta(n, 0), "no signature"],
      [good0.subarray(0, 90), "truncated"],
      [sign(rawDelta(n, 0), FLEET.server.fleet, OTHER.server.signingKey), "another fleet's key"],
      [sign(rawDelta(n, 0), "elsewhere"), "signed for another fleet"],
    ] as const;
    for (const [delta, what] of refusedBefore) {
      assert.throws(() => node.applyGlobalDelta(delta, deltas), /BAD_SIGNATURE|signature/, `Node: ${what}`);
      await expect(delta, 4, what); // the head after local training, untouched
    }
    await expect(new Uint8Array(20_000).fill(0x55), 1, "longer than the module's buffer");
    node.applyGlobalDelta(good0, deltas);
    await expect(good0, 0, "the round's delta");

    // Round 1: round 0's delta again (the broker resends a retained message) is a replay.
    nodeRound(node, d.features, d.labels, 1);
    assert.equal((await device.next()).kind, "U");
    assert.throws(() => node.applyGlobalDelta(good0, deltas), /replay/);
    await expect(good0, 5, "a replay of round 0's delta");
    await expect(sign(rawDelta(n, 0, 9)), 5, "another delta for round 0, signed");
    // Signed, but the module refuses it (bad CRC): the head goes back to the round's start.
    const corrupt = rawDelta(n, 1);
    corrupt[60] ^= 0x10;
    assert.throws(() => node.applyGlobalDelta(sign(corrupt), deltas), /CRC/);
    await expect(sign(corrupt), 2, "a signed delta with a bad CRC");
    const good1 = globalDelta(n, 1);
    node.applyGlobalDelta(good1, deltas);
    await expect(good1, 0, "round 1's delta");
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
  const features = d.features.slice(0, count), deltas = deviceDeltas();
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
      node.applyGlobalDelta(delta, deltas);
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

test(`${BOARD}: one fleet on the broker: the firmware device (through wisp fl bridge's bridgeToFleet) and two Node devices, two rounds; the server's FedAvg counts the device's update, which is Node's, and the device applies the server's signed delta as Node does`, { skip }, async () => {
  const d = data();
  const p = provisionFleet("bridged", 3);
  const broker = await fleetBroker("aedes", [p]);
  const FW = 2; // the firmware device
  const initial = new HeadTrainer(d.spec);
  const built = buildTrainFirmware(firmware("fleet", { rounds: 2, fleet: { name: p.server.fleet, serverPublicKey: p.server.publicKey }, update: { ...UPDATE, clientId: FW } }));
  const twin = new HeadTrainer(d.spec), twinDeltas = new DeviceDeltas(p.server.fleet, p.server.publicKey);
  const config = parseConfig({ rounds: 2, clients_per_round: 3, lr: 0.1, clip_norm: 100, reject_norm: 1000, store: ":memory:" });
  const server = await MqttRoundServer.start(broker.url, p.server, config, 1, initial.weights(), { sample: () => [0, 1, FW], log: () => undefined });
  // Node devices: a trainer each, on the global model's weights, half the examples each.
  const sent = new Map<string, Uint8Array>();
  const nodes = await Promise.all([0, 1].map((id) => {
    const trainer = new HeadTrainer(d.spec);
    return runClient(broker.url, p.devices[id], (round, weights) => {
      trainer.setWeights(weights);
      const half = d.features.filter((_, i) => i % 2 === id);
      const u = nodeRound(trainer, half, d.labels.filter((_, i) => i % 2 === id), round, 1, id);
      sent.set(`${round} ${id}`, u);
      return u;
    }, { log: () => undefined });
  }));
  const device = await startDeviceBridge({ board: BOARD, elf: built.elf });
  // What crosses the bridge, both ways.
  const heads: Uint8Array[] = [], signedDeltas: Uint8Array[] = [];
  const tapped: DeviceBridge = {
    updates: { async *[Symbol.asyncIterator]() { for await (const u of device.updates) { sent.set(`${new DataView(u.buffer, u.byteOffset).getUint32(16, true)} ${FW}`, u); yield u; } } },
    sendDelta: async (signed) => { const r = await device.sendDelta(signed); signedDeltas.push(signed); heads.push(r.head); return r; },
    close: () => device.close(),
  };
  let closed = false;
  try {
    const bridged = bridgeToFleet({ url: broker.url, credential: p.devices[FW], bridge: tapped, log: () => undefined });
    const before = [initial.weights()];
    for (let round = 0; round < 2; round++) {
      await server.runRound(120_000);
      before.push(server.weights.slice());
    }
    const result = await bridged;
    const { status, console: out } = await device.close();
    closed = true;
    assert.equal(status, 0, out);
    assert.deepEqual(result.applied, [0, 1]);
    assert.deepEqual(result.refused, []);
    console.log(JSON.stringify({ roundTripMs: result.roundTripMs.map(Math.round), updateToDeltaMs: result.updateToDeltaMs.map(Math.round) }));
    for (let round = 0; round < 2; round++) {
      // The device's update is the Node twin's, byte for byte...
      const expected = nodeRound(twin, d.features, d.labels, round, EPOCHS, FW);
      assert.ok(Buffer.from(sent.get(`${round} ${FW}`)!).equals(Buffer.from(expected)), `round ${round}: the bridged update differs from Node's`);
      // ...the server's result is the FedAvg of all three updates...
      const honest = new RoundAggregator(config, 1, twin.parameterCount, round);
      for (const id of [0, 1, FW]) honest.accept(sent.get(`${round} ${id}`)!);
      const step = honest.average();
      assert.deepEqual(before[round + 1], Float32Array.from(before[round], (w, i) => w + step[i]), `round ${round}: not the FedAvg of the three updates`);
      // ...and the device applied the server's signed delta for the round as Node does.
      assert.equal(twin.applyGlobalDelta(signedDeltas[round], twinDeltas), round);
      assert.ok(Buffer.from(heads[round]).equals(Buffer.from(twin.image())), `round ${round}: the device's head differs from Node's after the delta`);
    }
    // The devices' model tracks the server's global: what one delta could not carry goes with the next.
    const err = Math.max(...twin.weights().map((w, i) => Math.abs(w - server.weights[i])));
    assert.ok(err < 0.05, `the device's head is ${err} away from the server's global`);
  } finally {
    if (!closed) await device.close();
    await Promise.all(nodes.map((c) => c.endAsync(true)));
    await server.close();
    await broker.close();
  }
});

test(`${BOARD}: wisp fl bridge runs the firmware device as its fleet's member for a round, from the command line`, { skip }, async () => {
  const { spawn } = await import("node:child_process");
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { PACKAGE_ROOT } = await import("./helpers");
  const d = data();
  const p = provisionFleet("cli-bridge", 2);
  const dir = mkdtempSync(join(tmpdir(), "wisp-bridge-"));
  const broker = await fleetBroker("aedes", [p]);
  const built = buildTrainFirmware(firmware("cli", { rounds: 1, fleet: { name: p.server.fleet, serverPublicKey: p.server.publicKey }, update: { ...UPDATE, clientId: 1 } }));
  const config = parseConfig({ rounds: 1, clients_per_round: 1, lr: 0.1, clip_norm: 100, reject_norm: 1000, store: ":memory:" });
  const server = await MqttRoundServer.start(broker.url, p.server, config, 1, new HeadTrainer(d.spec).weights(), { sample: () => [1], log: () => undefined });
  try {
    writeFileSync(join(dir, "device-1.json"), JSON.stringify(p.devices[1]));
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), "fl", "bridge", "--device", join(dir, "device-1.json"), "--broker", broker.url, "--elf", built.elf], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // The round, unless the bridge stops first (then its stderr says why).
    const early = await Promise.race([server.runRound(120_000).then(() => null), exit.then((code) => ({ code }))]);
    assert.equal(early, null, `wisp fl bridge exited (${early?.code}) before the round ended: ${stderr}`);
    assert.equal(await exit, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.match(lines[0], /^update 0 1\d{3}$/); // the 8-bit top-10% update, about 1 KB
    assert.match(lines[1], /^delta 0 applied 0 \d+$/);
    assert.equal(lines[2], "device 1: applied the deltas of rounds 0; refused 0");
    assert.equal(server.refused.length, 0, server.refused.join("\n"));
  } finally {
    await server.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${BOARD}: guest instructions per sample, per batch step, per update export and per signed delta (verify, apply) stay within the committed budget`, { skip }, async () => {
  const { BUDGET_TOLERANCE } = await import("../host/boards/matrix");
  const { measureTrainOnBoard } = await import("../host/boards/train");
  const { PACKAGE_ROOT } = await import("./helpers");
  const budget: Record<string, number> = JSON.parse(readFileSync(join(PACKAGE_ROOT, "bench", "device-train-budget.json"), "utf8"))[BOARD];
  // A fixed key: the check's instruction count depends on the key and the signature.
  const { keyPairFromSeed } = await import("../host/fl/signing");
  const fixed = keyPairFromSeed(new Uint8Array(32).fill(7));
  const signedDelta = signDelta(rawDelta(4810, 0), "budget", fixed.privateKey);
  const m = measureTrainOnBoard(firmware("budget", { signedDelta, fleet: { name: "budget", serverPublicKey: fixed.publicKey } }));
  const measured: Record<string, number> = { sample: m.instructionsPerSample, step: m.instructionsPerStep, export: m.instructionsPerExport, verify: m.instructionsPerVerify!, apply: m.instructionsPerApply! };
  console.log(JSON.stringify({ ...measured, ramBytes: m.ramBytes, flashBytes: m.flashBytes, trainerMemoryBytes: m.trainerMemoryBytes }));
  assert.equal(m.samples, EPOCHS * EXAMPLES);
  assert.equal(m.steps, EPOCHS * (EXAMPLES / BATCH));
  for (const [part, count] of Object.entries(measured)) {
    assert.ok(budget[part], `no ${part} budget for ${BOARD} in bench/device-train-budget.json (measured ${count})`);
    assert.ok(count > 0 && count <= budget[part] * (1 + BUDGET_TOLERANCE), `${part}: ${count} instructions, budget ${budget[part]} (+${BUDGET_TOLERANCE * 100}%)`);
  }
});
