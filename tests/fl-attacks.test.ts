// Issue 17's attacks, each by a provisioned device on the embedded broker
// with honest devices beside it: the round ends in the honest FedAvg (or
// the attacker counted as an honest device within the caps), or the round
// is refused; every refusal is logged and nothing throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MqttClient } from "mqtt";
import { FlConfig, parseConfig, RoundAggregator, l2norm } from "../host/fl/aggregate";
import { provisionFleet, Provisioned } from "../host/fl/fleet-policy";
import { connect, MqttRoundServer, runClient, sampleRoster } from "../host/fl/mqtt";
import { MqttSecureRoundServer, runSecureClient } from "../host/fl/mqtt-secure";
import { secureAverage, secureValues, SECURE_FRACTION_BITS, commitmentOf } from "../host/fl/secure-round";
import { encodeUpdate } from "../host/fl/update-format";
import { equalGroups, quantizeDelta } from "../host/fl/quantize";
import { fleetBroker } from "./fleet-helpers";

const N = 100;
const honestStep = (id: number) => 0.01 * (id + 1); // devices 0, 1, 2: mean +0.02

function message(round: number, id: number, step: number, sampleCount = 10, named = id): Uint8Array {
  const q = quantizeDelta(new Float32Array(N).fill(step), new Float32Array(N), { bits: 8, topk: 1, groupEnds: equalGroups(N, 1) });
  return encodeUpdate({ modelVersion: 1, clientId: named, round, sampleCount, bits: 8, elements: N, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
}

// The FedAvg of these messages, through the same aggregator, with no one else in the round.
function fedAvg(config: FlConfig, messages: Uint8Array[]): Float32Array {
  const round = new RoundAggregator(config, 1, N, 0);
  messages.forEach((m) => round.accept(m));
  return round.average();
}

interface Fleet {
  p: Provisioned;
  url: string;
  log: string[];
  clients: MqttClient[];
  servers: { close(): Promise<void> }[];
}

async function withFleet(name: string, body: (f: Fleet) => Promise<void>): Promise<void> {
  const p = provisionFleet(name, 5);
  const broker = await fleetBroker("aedes", [p]);
  const f: Fleet = { p, url: broker.url, log: [], clients: [], servers: [] };
  try {
    await body(f);
  } finally {
    await Promise.all(f.clients.map((c) => c.endAsync(true)));
    await Promise.all(f.servers.map((s) => s.close()));
    await broker.close();
  }
}

const config = parseConfig({ rounds: 1, clients_per_round: 4, lr: 0.1, clip_norm: 10, reject_norm: 100, max_samples: 10, store: ":memory:" });

async function honestDevices(f: Fleet, ids: number[], delayMs = 0): Promise<void> {
  for (const id of ids) f.clients.push(await runClient(f.url, f.p.devices[id], async (round) => {
    await new Promise((r) => setTimeout(r, delayMs));
    return message(round, id, honestStep(id));
  }));
}

for (const over of ["clip", "refuse"] as const) {
  test(`an update claiming 4,294,967,295 samples is ${over === "clip" ? "counted as max_samples" : "refused"}`, async () => {
    await withFleet(`inflate-${over}`, async (f) => {
      const c = { ...config, over_max_samples: over };
      const server = await MqttRoundServer.start(f.url, f.p.server, c, 1, new Float32Array(N), { sample: () => [0, 1, 2, 3], log: (l) => f.log.push(l) });
      f.servers.push(server);
      await honestDevices(f, [0, 1, 2]);
      f.clients.push(await runClient(f.url, f.p.devices[3], (round) => message(round, 3, -0.1, 0xffffffff)));
      await server.runRound(over === "clip" ? 3000 : 1000); // refused, device 3 never answers: the round closes at the timeout
      const honest = [0, 1, 2].map((id) => message(0, id, honestStep(id)));
      // Clipped: the attacker weighs as much as an honest device with max_samples, no more.
      const expected = over === "clip" ? fedAvg(c, [...honest, message(0, 3, -0.1, 10)]) : fedAvg(c, honest);
      assert.deepEqual(server.weights, expected);
      assert.ok(Math.abs(server.weights[0] - (over === "clip" ? -0.01 : 0.02)) < 1e-3, `${server.weights[0]}`);
      const line = over === "clip" ? /client 3 claims 4294967295 samples: counted as max_samples 10/ : /update\/3: client 3 claims 4294967295 samples, more than max_samples 10/;
      assert.ok(f.log.some((l) => line.test(l)), f.log.join("\n"));
    });
  });
}

test("a device sending in another's name is refused, and the real one still counts", async () => {
  await withFleet("impersonate", async (f) => {
    const server = await MqttRoundServer.start(f.url, f.p.server, { ...config, clients_per_round: 3 }, 1, new Float32Array(N), { sample: () => [0, 1, 2], log: (l) => f.log.push(l) });
    f.servers.push(server);
    const forger = await connect(f.url, f.p.devices[1]);
    f.clients.push(forger);
    const roundDone = server.runRound(3000);
    await new Promise((r) => setTimeout(r, 50));
    // On its own topic, a message that names device 2: refused by the server.
    await forger.publishAsync(`wisp/${f.p.server.fleet}/round/0/update/1`, Buffer.from(message(0, 1, -0.1, 10, 2)), { qos: 1 });
    // On device 2's topic: refused by the broker, which closes the connection.
    await Promise.race([forger.publishAsync(`wisp/${f.p.server.fleet}/round/0/update/2`, Buffer.from(message(0, 2, -0.1)), { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
    await honestDevices(f, [0, 1, 2]);
    await roundDone;
    assert.deepEqual(server.weights, fedAvg(config, [0, 1, 2].map((id) => message(0, id, honestStep(id)))));
    assert.ok(f.log.some((l) => /update\/1: message from client 1 names client 2/.test(l)), f.log.join("\n"));
    assert.ok(!server.refused.some((r) => /update\/2/.test(r)), "the broker stopped the forgery on device 2's topic; device 2's own update was accepted");
  });
});

test("fast devices outside the server's roster cannot displace slow honest ones", async () => {
  await withFleet("displace", async (f) => {
    const server = await MqttRoundServer.start(f.url, f.p.server, { ...config, clients_per_round: 3 }, 1, new Float32Array(N), { sample: () => [0, 1, 2], log: (l) => f.log.push(l) });
    f.servers.push(server);
    // Devices 3 and 4 answer at once, roster or not; the honest ones take their time.
    for (const id of [3, 4]) {
      const fast = await connect(f.url, f.p.devices[id]);
      f.clients.push(fast);
      fast.on("message", () => void fast.publishAsync(`wisp/${f.p.server.fleet}/round/0/update/${id}`, Buffer.from(message(0, id, -0.1)), { qos: 1 }));
      await fast.subscribeAsync(`wisp/${f.p.server.fleet}/global`, { qos: 1 });
    }
    await honestDevices(f, [0, 1, 2], 200);
    await server.runRound(5000);
    assert.deepEqual(server.weights, fedAvg(config, [0, 1, 2].map((id) => message(0, id, honestStep(id)))));
    for (const id of [3, 4]) assert.ok(f.log.some((l) => l.includes(`update/${id}: client ${id} is not on round 0's roster`)), f.log.join("\n"));
  });
});

test("the default roster is a uniform sample of the provisioned devices", () => {
  const seen = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const r = sampleRoster([0, 1, 2, 3, 4], 3);
    assert.equal(new Set(r).size, 3);
    r.forEach((id) => seen.set(id, (seen.get(id) ?? 0) + 1));
  }
  // Each device is drawn 3/5 of the time: 180 of 300, far from 0 or 300.
  for (let id = 0; id < 5; id++) assert.ok(seen.get(id)! > 120 && seen.get(id)! < 240, `device ${id}: ${seen.get(id)}`);
  assert.deepEqual(sampleRoster([4, 2], 3), [2, 4]);
});

test("messages before any round, for a closed round or for a future one are refused and logged, never thrown", async () => {
  await withFleet("early-late", async (f) => {
    const server = await MqttRoundServer.start(f.url, f.p.server, { ...config, clients_per_round: 3 }, 1, new Float32Array(N), { sample: () => [0, 1, 2], log: (l) => f.log.push(l) });
    f.servers.push(server);
    const early = await connect(f.url, f.p.devices[3]);
    f.clients.push(early);
    const F = f.p.server.fleet;
    await early.publishAsync(`wisp/${F}/round/0/update/3`, Buffer.from(message(0, 3, -0.1)), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(f.log, [`refused wisp/${F}/round/0/update/3: no round is open`]);
    await honestDevices(f, [0, 1, 2]);
    await server.runRound(3000);
    const after = f.log.length;
    await early.publishAsync(`wisp/${F}/round/0/update/3`, Buffer.from(message(0, 3, -0.1)), { qos: 1 });
    await early.publishAsync(`wisp/${F}/round/5/update/3`, Buffer.from(message(5, 3, -0.1)), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(f.log.slice(after), [`refused wisp/${F}/round/0/update/3: round 0 is closed`, `refused wisp/${F}/round/5/update/3: no round is open`]);
    assert.deepEqual(server.weights, fedAvg(config, [0, 1, 2].map((id) => message(0, id, honestStep(id)))));
  });
});

// Secure rounds: four devices, device c proposes 0.01 (c + 1) from 10 samples; device 3 cheats after masking.
async function secureRound(name: string, cheat: ((masked: Uint32Array) => void) | null) {
  const c = parseConfig({ rounds: 1, clients_per_round: 4, lr: 0.1, clip_norm: 1, reject_norm: 100, secure_aggregation: true, max_samples: 10, store: ":memory:" });
  let outcome!: { weights: Float32Array; refused: string | null; log: string[] };
  await withFleet(name, async (f) => {
    const server = await MqttSecureRoundServer.start(f.url, f.p.server, c, 1, new Float32Array(N), { sample: () => [0, 1, 2, 3], log: (l) => f.log.push(l) });
    f.servers.push(server);
    for (const id of [0, 1, 2, 3]) {
      f.clients.push(await runSecureClient(f.url, f.p.devices[id], c, () => ({ delta: new Float32Array(N).fill(0.01 * (id + 1)), sampleCount: 10 }),
        { afterMasking: id === 3 && cheat ? (_, masked) => cheat(masked) : undefined }));
    }
    const { refused } = await server.runRound(3000);
    outcome = { weights: server.weights, refused, log: f.log };
  });
  const honestSum = new Int32Array(N + 1);
  for (const id of [0, 1, 2, 3]) secureValues(new Float32Array(N).fill(0.01 * (id + 1)), 10, c).forEach((v, i) => (honestSum[i] += v));
  const bounds = [0, 1, 2, 3].map((id) => commitmentOf(new Float32Array(N).fill(0.01 * (id + 1)), 10, c));
  return { ...outcome, honest: secureAverage(honestSum, 4, c), unitsPerStep: (40 * 2 ** SECURE_FRACTION_BITS) / c.clip_norm, bounds };
}

test("secure round: an offset added after masking is detected and the round dropped, the model unchanged", async () => {
  // +1000 on parameter 0 of the published step (0.025 -> 1000.025): four devices' weight is 40.
  const big = await secureRound("offset", (m) => { m[0] = (m[0] + 1000 * ((40 * 2 ** SECURE_FRACTION_BITS) / 1)) >>> 0; });
  assert.deepEqual(big.weights, new Float32Array(N), "model unchanged");
  assert.match(big.refused!, /norm .* exceeds the declared bound/);
  assert.ok(big.log.some((l) => /round 0 dropped, the model is unchanged/.test(l)), big.log.join("\n"));
  // An offset on the weight element (to dilute the others) is caught exactly.
  const weight = await secureRound("weight", (m) => { m[N] = (m[N] + 1000) >>> 0; });
  assert.match(weight.refused!, /weight 1040 differs from the declared 40/);
  assert.deepEqual(weight.weights, new Float32Array(N));
  // An honest round passes the same check and publishes the honest FedAvg.
  const fair = await secureRound("fair", null);
  assert.equal(fair.refused, null);
  assert.deepEqual(fair.weights, fair.honest);
  assert.ok(Math.abs(fair.weights[0] - 0.025) < 1e-3);
});

test("secure round: an offset inside the commitments' slack is bounded as the threat model says", async () => {
  // Device 3 pushes every parameter by -0.005 per unit weight of the round: small enough to pass.
  const small = await secureRound("small-offset", (m) => { for (let i = 0; i < N; i++) m[i] = (m[i] - 0.005 * ((40 * 2 ** SECURE_FRACTION_BITS) / 1)) >>> 0; });
  assert.equal(small.refused, null);
  // Guarantee: the published step's norm is at most sum(w b) / sum(w) (plus rounding), so it
  // is within 2 sum(w b) / sum(w) of the honest FedAvg.
  const wb = small.bounds.reduce((s, b) => s + b.weight * b.normBound, 0) / 40;
  const rounding = (0.5 * Math.sqrt(N) * 4) / (2 ** SECURE_FRACTION_BITS * 40);
  assert.ok(l2norm(small.weights) <= wb + rounding + 1e-6, `${l2norm(small.weights)} vs ${wb}`);
  const off = l2norm(Float32Array.from(small.weights, (w, i) => w - small.honest[i]));
  assert.ok(off > 0.04 && off <= 2 * wb + rounding, `moved by ${off}, bound ${2 * wb}`);
});
