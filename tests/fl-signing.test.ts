// Signed models and files: a device applies a global model only when the
// fleet's key signed it and its round is new; anything else is refused
// whole and the device keeps its weights. `wisp sign` / `wisp verify` for
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
import { MqttRoundServer, runClient, signedGlobal } from "../host/fl/mqtt";
import { DeviceModel, privateKey, publicKey, signFile, verifyFile } from "../host/fl/signing";
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
