// Signed models, deltas and files: a device applies a global model (or, when
// it trains on itself, a global delta) only when the fleet's key signed it
// and its round is new; anything else is refused whole and the device keeps
// its weights. The round server publishes a signed delta after each round. `wisp sign` / `wisp verify` for
// over-the-air modules and models. Ed25519 itself is checked against RFC
// 8032's test vectors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../host/fl/aggregate";
import { provisionFleet } from "../host/fl/fleet-policy";
import { encodeGlobal } from "../host/fl/global-model";
import { connect, MqttRoundServer, runClient, signedGlobal } from "../host/fl/mqtt";
import { DeviceDeltas, DeviceModel, openDelta, privateKey, publicKey, signDelta, signFile, verifyFile } from "../host/fl/signing";
import { deltaTopic, globalDelta } from "../host/fl/global-delta";
import { dequantizeUpdate, equalGroups, quantizeDelta } from "../host/fl/quantize";
import { HeadTrainer } from "../host/fl/trainer";
import { decodeUpdate, encodeUpdate } from "../host/fl/update-format";
import { WispError } from "../host/errors";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { fleetBroker } from "./fleet-helpers";

const refused = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof WispError && e.code === "BAD_SIGNATURE" && pattern.test(e.message));

test("RFC 8032 test vectors: Ed25519 as node:crypto computes it", () => {
  // Section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
  const vectors = [
    { secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", message: "",
      signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
    { secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", message: "72",
      signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
  ];
  for (const v of vectors) {
    const priv = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(v.secret, "hex")]), format: "der", type: "pkcs8" });
    const pub = createPublicKey(priv);
    assert.equal(pub.export({ format: "der", type: "spki" }).subarray(12).toString("hex"), v.public);
    assert.equal(sign(null, Buffer.from(v.message, "hex"), priv).toString("hex"), v.signature);
    assert.ok(verify(null, Buffer.from(v.message, "hex"), pub, Buffer.from(v.signature, "hex")));
  }
});

test("a device applies only models its fleet's server signed, for a new round; anything else leaves its weights", () => {
  const fleet = provisionFleet("signed", 1), other = provisionFleet("signed", 1); // same name, another key
  const model = new DeviceModel("signed", fleet.devices[0].serverPublicKey);
  const g = (round: number, w: number) => ({ round, modelVersion: 1, members: [0], weights: new Float32Array(8).fill(w) });
  assert.equal(model.receive(signedGlobal(fleet.server, g(3, 0.5)))!.round, 3);
  const good = model.weights!.slice();
  const signed = signedGlobal(fleet.server, g(4, 9));
  const flipped = Uint8Array.from(signed);
  flipped[20] ^= 1; // one parameter changed after signing
  refused(() => model.receive(flipped), /does not verify/);
  refused(() => model.receive(encodeGlobal(g(4, 9))), /does not verify|no signature/); // unsigned
  refused(() => model.receive(new Uint8Array(10)), /no signature/);
  refused(() => model.receive(signedGlobal(other.server, g(4, 9))), /does not verify/); // another fleet's key
  refused(() => model.receive(signedGlobal({ ...fleet.server, fleet: "elsewhere" }, g(4, 9))), /does not verify/); // signed for another fleet
  refused(() => model.receive(signedGlobal(fleet.server, g(2, 9))), /round 2, older than the applied round 3 \(replay\)/);
  refused(() => model.receive(signedGlobal(fleet.server, { ...g(5, 9), weights: new Float32Array(7) })), /7 parameters/);
  assert.equal(model.receive(signedGlobal(fleet.server, g(3, 0.5))), null, "the same round again changes nothing");
  assert.deepEqual(model.weights, good);
  assert.equal(model.round, 3);
  assert.equal(model.receive(signed)!.round, 4);
  assert.equal(model.weights![0], 9);
});

test("devices refuse a server that signs with another fleet's key, and keep their weights", async () => {
  const fleet = provisionFleet("wrong-key", 2), impostor = provisionFleet("wrong-key", 1);
  const broker = await fleetBroker("aedes", [fleet]);
  const log: string[] = [];
  const models = [0, 1].map(() => new DeviceModel("wrong-key", fleet.devices[0].serverPublicKey, Float32Array.of(7, 7, 7, 7)));
  const clients = await Promise.all([0, 1].map((id) => runClient(broker.url, fleet.devices[id], () => { throw new Error("never trains"); }, { model: models[id], log: (l) => log.push(l) })));
  // The fleet's own broker login, but the signing key of another provisioning.
  const server = await MqttRoundServer.start(broker.url, { ...fleet.server, signingKey: impostor.server.signingKey }, parseConfig({ rounds: 1, clients_per_round: 2, lr: 0.1, store: ":memory:" }), 1, new Float32Array(4), { log: () => undefined });
  try {
    await assert.rejects(server.runRound(500), /none of the 2 members sent an update/);
    assert.equal(log.length, 2, log.join("\n"));
    for (const l of log) assert.match(l, /device \d: refused global model: the global model's signature does not verify/);
    for (const m of models) assert.deepEqual([m.round, m.weights], [-1, Float32Array.of(7, 7, 7, 7)]);
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server.close();
    await broker.close();
  }
});

test("wisp sign and wisp verify: an over-the-air module is accepted only as signed, and only when newer", () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-sign-"));
  const wisp = (...args: string[]) => spawnSync(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), ...args], { encoding: "utf8" });
  try {
    const fleet = provisionFleet("ota", 1), other = provisionFleet("ota", 1);
    writeFileSync(join(dir, "server.json"), JSON.stringify(fleet.server));
    writeFileSync(join(dir, "device.json"), JSON.stringify(fleet.devices[0]));
    writeFileSync(join(dir, "other.json"), JSON.stringify(other.devices[0]));
    const module = join(dir, "runtime.wasm");
    writeFileSync(module, readFileSync(join(PACKAGE_ROOT, "build", "wisp.wasm")));
    let r = wisp("sign", module, "--key", join(dir, "server.json"), "--version", "7");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(`${module}.sig`).length, 68);
    r = wisp("verify", module, "--key", join(dir, "device.json"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /good signature, version 7/);
    // Another fleet's key, an older-or-equal version, a changed byte: refused.
    for (const [args, pattern] of [
      [["--key", join(dir, "other.json")], /BAD_SIGNATURE: the signature does not verify/],
      [["--key", join(dir, "device.json"), "--installed", "7"], /version 7 is not newer than the installed 7 \(replay\)/],
    ] as const) {
      r = wisp("verify", module, ...args);
      assert.equal(r.status, 1);
      assert.match(r.stderr, pattern);
    }
    const bytes = readFileSync(module);
    bytes[100] ^= 1;
    writeFileSync(module, bytes);
    r = wisp("verify", module, "--key", join(dir, "device.json"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not verify/);
    // The same checks as a library call.
    const key = privateKey(fleet.server.signingKey), pub = publicKey(fleet.server.publicKey);
    const sig = signFile(bytes, 8, key);
    assert.equal(verifyFile(bytes, sig, pub, 7), 8);
    refused(() => verifyFile(bytes, sig.subarray(0, 67), pub), /68 bytes/);
    refused(() => verifyFile(bytes, sig, pub, 8), /replay/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A small head for the Node trainer, from a seeded initialization.
function smallHead(): HeadTrainer {
  let seed = 5;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const init = (n: number) => Float32Array.from({ length: n }, () => random() * 0.6);
  return new HeadTrainer({ inDim: 8, hidden: 4, classes: 3, w1: init(32), w2: init(12), inputScale: 0.05, inputZeroPoint: -128, hiddenRange: 8, logitRange: 16, weightHeadroom: 4, lr: 0.1, batch: 2 });
}

test("a device that trains on itself applies only global deltas its fleet's server signed, for a newer round; anything else leaves its head as it was", () => {
  const fleet = provisionFleet("deltas", 1), other = provisionFleet("deltas", 1);
  const trainer = smallHead(), deltas = new DeviceDeltas("deltas", fleet.devices[0].serverPublicKey);
  const n = trainer.parameterCount;
  const delta = (round: number, step: number) => globalDelta(trainer.weights(), Float32Array.from(trainer.weights(), (w, i) => w + step * ((i % 3) - 1)), round, 1, 10).delta;
  const key = privateKey(fleet.server.signingKey);
  trainer.beginRound();
  for (let s = 0; s < 4; s++) trainer.accumulate(Int8Array.from({ length: 8 }, (_, i) => i * 16 - 64 + s), s % 3);
  trainer.update(); // local training: the head moved from the round's start
  const trained = trainer.image();
  const good = signDelta(delta(0, 0.01), "deltas", key);
  const flipped = good.slice();
  flipped[50] ^= 1;
  const unchanged = (what: string) => assert.ok(Buffer.from(trainer.image()).equals(Buffer.from(trained)), `${what} changed the head`);
  for (const [signed, pattern, what] of [
    [flipped, /does not verify/, "a changed byte"],
    [delta(0, 0.01), /does not verify|no signature/, "no signature"],
    [good.subarray(0, 60), /no signature/, "truncated"],
    [signDelta(delta(0, 0.01), "deltas", privateKey(other.server.signingKey)), /does not verify/, "another fleet's key"],
    [signDelta(delta(0, 0.01), "elsewhere", key), /does not verify/, "signed for another fleet"],
    [signDelta(new Uint8Array(64), "deltas", key), /not an update message/, "not an update"],
  ] as const) {
    refused(() => trainer.applyGlobalDelta(signed, deltas), pattern);
    unchanged(what);
  }
  assert.equal(deltas.applied, -1);
  assert.equal(trainer.applyGlobalDelta(good, deltas), 0);
  assert.equal(deltas.applied, 0);
  const applied = trainer.image();
  assert.ok(!Buffer.from(applied).equals(Buffer.from(trained)));
  refused(() => trainer.applyGlobalDelta(good, deltas), /round 0, not newer than the applied round 0 \(replay\)/);
  refused(() => trainer.applyGlobalDelta(signDelta(delta(0, 0.02), "deltas", key), deltas), /replay/);
  assert.ok(Buffer.from(trainer.image()).equals(Buffer.from(applied)), "a replay changed the head");
  assert.equal(openDelta(good, "deltas", publicKey(fleet.server.publicKey)).delta.length, good.length - 64);
  assert.equal(trainer.applyGlobalDelta(signDelta(delta(3, 0.01), "deltas", key), deltas), 3, "a newer round applies");
  assert.equal(n, 51);
});

test("the round server publishes each round's signed delta, retained, from the store; restarted on the same store it republishes the same bytes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-delta-"));
  const p = provisionFleet("republish", 2);
  const config = parseConfig({ rounds: 2, clients_per_round: 2, lr: 0.1, clip_norm: 10, reject_norm: 100, store: join(dir, "rounds.sqlite") });
  const N = 16, initial = Float32Array.from({ length: N }, (_, i) => i / 100);
  const update = (round: number, id: number) => {
    const q = quantizeDelta(Float32Array.from({ length: N }, (_, i) => 0.01 * (id + 1) * ((i % 4) - 1.5)), new Float32Array(N), { bits: 8, topk: 1, groupEnds: equalGroups(N, 1) });
    return encodeUpdate({ modelVersion: 1, clientId: id, round, sampleCount: 10, bits: 8, elements: N, scales: q.scales, groupEnds: q.groupEnds, indices: null, values: q.values });
  };
  // A late subscriber to the delta topic: the retained delta it gets.
  const retained = async (url: string) => {
    const c = await connect(url, p.devices[1]);
    const got = new Promise<Uint8Array>((resolve) => c.on("message", (t, payload) => resolve(new Uint8Array(payload))));
    await c.subscribeAsync(deltaTopic("republish"), { qos: 1 });
    const bytes = await got;
    await c.endAsync(true);
    return bytes;
  };
  let broker = await fleetBroker("aedes", [p]);
  try {
    const clients = await Promise.all([0, 1].map((id) => runClient(broker.url, p.devices[id], (round) => update(round, id))));
    let server = await MqttRoundServer.start(broker.url, p.server, config, 1, initial, { log: () => undefined });
    await server.runRound(10_000);
    const first = await retained(broker.url);
    const { round, delta } = openDelta(first, "republish", publicKey(p.server.publicKey));
    assert.equal(round, 0);
    const step = dequantizeUpdate(decodeUpdate(delta)), scale = Math.max(...decodeUpdate(delta).scales);
    server.weights.forEach((w, i) => assert.ok(Math.abs(initial[i] + step[i] - w) <= scale / 2 + 1e-6, `element ${i}`));
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server.close();
    await broker.close();
    // A new broker holds nothing retained: the restarted server publishes the stored delta again.
    broker = await fleetBroker("aedes", [p]);
    server = await MqttRoundServer.start(broker.url, p.server, config, 1, initial, { log: () => undefined });
    assert.equal(server.round, 1);
    assert.ok(Buffer.from(await retained(broker.url)).equals(Buffer.from(first)), "the restarted server published other bytes");
    await server.close();
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
