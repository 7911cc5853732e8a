// A provisioned fleet against strangers and against its own devices, on the
// embedded broker and on mosquitto with the generated password and ACL
// files: no credential or a wrong one is refused; a device cannot publish
// on another device's topic or the model topic, and subscribing to
// everything yields nothing of another device's.
import { test } from "node:test";
import assert from "node:assert/strict";
import mqtt, { MqttClient } from "mqtt";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filterCovers, provisionFleet, readDeviceCredential, readPasswd, readServerCredential, topicMatches } from "../host/fl/fleet-policy";
import { connect, startBroker } from "../host/fl/mqtt";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { BrokerKind, fleetBroker, mosquitto, NO_MOSQUITTO } from "./fleet-helpers";

function rawConnect(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    client.once("connect", () => resolve(client));
    client.once("error", (e) => { client.end(true); reject(e); });
  });
}

// Collects what a client receives.
function inbox(client: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  client.on("message", (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

// Resolves once `check` holds (polled), or rejects after `ms`.
async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > end) throw new Error("timed out");
}

// A publish the broker refuses: aedes closes the connection, mosquitto drops
// the message; either way it must never be delivered (checked by the caller).
async function tryPublish(client: MqttClient, topic: string, payload: string, retain = false): Promise<void> {
  await Promise.race([client.publishAsync(topic, payload, { qos: 1, retain }).catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
}

test("topic rules: matching and covering", () => {
  assert.ok(topicMatches("wisp/f/round/+/update/3", "wisp/f/round/12/update/3"));
  assert.ok(!topicMatches("wisp/f/round/+/update/3", "wisp/f/round/12/update/33"));
  assert.ok(!topicMatches("wisp/f/global", "wisp/f/global/x"));
  assert.ok(filterCovers("wisp/f/round/+/inbox/3", "wisp/f/round/7/inbox/3"));
  assert.ok(!filterCovers("wisp/f/round/+/inbox/3", "wisp/f/round/+/inbox/+"));
  assert.ok(!filterCovers("wisp/f/global", "#"));
  assert.ok(!filterCovers("wisp/f/round/+/roster", "wisp/f/round/#"));
});

for (const kind of ["aedes", "mosquitto"] as BrokerKind[]) {
  test(`strangers and devices on ${kind} get only what the fleet policy allows`, { skip: kind === "mosquitto" && !mosquitto ? NO_MOSQUITTO : false }, async () => {
    const fleet = provisionFleet(`${kind}-acl`, 3), other = provisionFleet(`${kind}-other`, 1);
    const broker = await fleetBroker(kind, [fleet, other]);
    const clients: MqttClient[] = [];
    const F = fleet.server.fleet;
    try {
      // Connecting without a credential, with a wrong password, with another fleet's
      // password for this fleet's name, or as a made-up device is refused.
      const d0 = fleet.devices[0];
      await assert.rejects(rawConnect(broker.url, { clientId: "stranger" }));
      await assert.rejects(rawConnect(broker.url, { clientId: d0.username, username: d0.username, password: "guess" }));
      await assert.rejects(rawConnect(broker.url, { clientId: d0.username, username: d0.username, password: other.devices[0].password }));
      await assert.rejects(rawConnect(broker.url, { clientId: `${F}.device-7`, username: `${F}.device-7`, password: d0.password }));
      if (kind === "aedes") {
        // A client id other than the username (a session takeover) is refused; mosquitto replaces it by the username.
        await assert.rejects(rawConnect(broker.url, { clientId: fleet.devices[1].username, username: d0.username, password: d0.password }));
      }

      const server = await connect(broker.url, fleet.server);
      const watcher = await connect(broker.url, fleet.devices[2]);
      const spy = await connect(broker.url, fleet.devices[1]);
      clients.push(server, watcher, spy);
      const atServer = inbox(server), atWatcher = inbox(watcher), atSpy = inbox(spy);
      await server.subscribeAsync(`wisp/${F}/round/+/update/+`, { qos: 1 });
      await watcher.subscribeAsync(`wisp/${F}/global`, { qos: 1 });
      // The spy asks for everything, and for other devices' topics by name.
      for (const filter of ["#", `wisp/${F}/#`, `wisp/${F}/round/+/update/+`, `wisp/${F}/round/+/inbox/0`, `wisp/${F}/round/+/key/0`]) {
        await spy.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
      }

      // Device 1 sends in device 0's name, and pushes a retained model: refused.
      await tryPublish(spy, `wisp/${F}/round/0/update/0`, "forged");
      await tryPublish(spy, `wisp/${F}/global`, "forged model", true);
      await tryPublish(spy, `wisp/${F}/delta`, "forged delta", true);
      if (!spy.connected) clients.push((await connect(broker.url, fleet.devices[1])));
      // Device 0 sends its own update and key; the server routes a share to device 0's inbox.
      const device0 = await connect(broker.url, d0);
      clients.push(device0);
      await device0.publishAsync(`wisp/${F}/round/0/update/0`, "honest", { qos: 1 });
      await device0.publishAsync(`wisp/${F}/round/0/key/0`, "key", { qos: 1 });
      await server.publishAsync(`wisp/${F}/round/0/inbox/0`, "sealed for 0", { qos: 1 });
      await server.publishAsync(`wisp/${F}/global`, "model", { qos: 1, retain: true });
      await server.publishAsync(`wisp/${F}/delta`, "delta", { qos: 1, retain: true });
      await eventually(() => atServer.length >= 1 && atWatcher.length >= 1);
      // What arrived: only the honest update at the server, only the server's model at the devices.
      assert.deepEqual(atServer, [{ topic: `wisp/${F}/round/0/update/0`, payload: "honest" }]);
      assert.deepEqual(atWatcher, [{ topic: `wisp/${F}/global`, payload: "model" }]);
      // The spy saw nothing of device 0's: not its update, key or inbox.
      assert.deepEqual(atSpy.filter((m) => m.topic !== `wisp/${F}/global` && m.topic !== `wisp/${F}/delta`), [], JSON.stringify(atSpy));
      // A new subscriber to the model gets the server's retained model, not the forgery.
      const late = await connect(broker.url, fleet.devices[2]);
      clients.push(late);
      const atLate = inbox(late);
      await late.subscribeAsync(`wisp/${F}/global`, { qos: 1 });
      await eventually(() => atLate.length >= 1);
      assert.equal(atLate[0].payload, "model");
      // And to the delta: the server's, not the forgery.
      await late.subscribeAsync(`wisp/${F}/delta`, { qos: 1 });
      await eventually(() => atLate.length >= 2);
      assert.deepEqual(atLate.slice(1), [{ topic: `wisp/${F}/delta`, payload: "delta" }]);
      if (kind === "aedes") {
        assert.ok(broker.log.some((l) => /refused publish by ".*device-1" on .*update\/0/.test(l)), broker.log.join("\n"));
        assert.ok(broker.log.some((l) => /refused subscription of ".*device-1" to #/.test(l)), broker.log.join("\n"));
        assert.ok(broker.log.some((l) => /refused connection .*wrong password/.test(l)), broker.log.join("\n"));
      }
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await broker.close();
    }
  });
}

test("wisp fl provision writes credentials the embedded broker and the devices use", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-provision-"));
  try {
    const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), "fl", "provision", "--devices", "2", "--out", dir, "--fleet", "cli"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ["server.json", "devices/device-1.json", "broker/passwd"]) assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is private`);
    const broker = await startBroker(readPasswd(join(dir, "broker", "passwd")), () => undefined);
    try {
      const device = readDeviceCredential(join(dir, "devices", "device-1.json"));
      assert.equal(device.serverPublicKey, readServerCredential(join(dir, "server.json")).publicKey);
      await (await connect(broker.url, device)).endAsync();
    } finally {
      await broker.close();
    }
    const bad = spawnSync(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), "fl", "provision", "--devices", "0", "--out", dir], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--devices must be an integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
