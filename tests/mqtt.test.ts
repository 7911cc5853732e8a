// Federated rounds over MQTT, on the in-process broker (aedes) and on a real
// mosquitto started on the loopback interface, both enforcing the provisioned
// fleet's credentials and ACLs: the global model is retained,
// updates travel at QoS 1, garbage is refused, and a client that drops and
// reconnects mid-round still delivers exactly one update. Secure rounds: the
// server learns only the sum, which equals the plain sum exactly, also when
// a client drops after sharing its key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../host/fl/aggregate";
import { provisionFleet, Provisioned } from "../host/fl/fleet-policy";
import { MqttRoundServer, runClient } from "../host/fl/mqtt";
import { MqttSecureRoundServer, runSecureClient } from "../host/fl/mqtt-secure";
import { secureAverage, secureValues } from "../host/fl/secure-round";
import { encodeUpdate } from "../host/fl/update-format";
import { equalGroups, quantizeDelta } from "../host/fl/quantize";
import { BrokerKind, fleetBroker, mosquitto, NO_MOSQUITTO } from "./fleet-helpers";

const N = 100;

// Client c always proposes a step of +0.01 * (c + 1) on every parameter.
function update(round: number, id: number): Uint8Array {
  const delta = new Float32Array(N).fill(0.01 * (id + 1));
  const q = quantizeDelta(delta, new Float32Array(N), { bits: 8, topk: 1, groupEnds: equalGroups(N, 1) });
  return encodeUpdate({ modelVersion: 1, clientId: id, round, sampleCount: 10, bits: 8, elements: N, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
}

async function federate(url: string, p: Provisioned): Promise<void> {
  const fleet = p.server.fleet;
  const config = parseConfig({ rounds: 3, clients_per_round: 3, lr: 0.1, clip_norm: 10, reject_norm: 100, store: ":memory:" });
  const log: string[] = [];
  const server = await MqttRoundServer.start(url, p.server, config, 1, new Float32Array(N), { sample: () => [0, 1, 2], log: (l) => log.push(l) });
  const clients = await Promise.all([0, 1].map((id) => runClient(url, p.devices[id], (round) => update(round, id))));
  // Client 2 drops in round 1 before answering, then reconnects and answers.
  let dropped = false;
  const flaky = async (): Promise<void> => {
    const client = await runClient(url, p.devices[2], async (round) => {
      if (round === 1 && !dropped) {
        dropped = true;
        setTimeout(() => void client.endAsync(true).then(flaky), 10);
        return null; // gone before answering
      }
      return update(round, 2);
    });
    clients.push(client);
  };
  await flaky();
  // A provisioned device outside the roster sends garbage before the first round.
  const stranger = await runClient(url, p.devices[9], () => new Uint8Array([1, 2, 3]));
  await stranger.publishAsync(`wisp/${fleet}/round/0/update/9`, Buffer.from([1, 2, 3]), { qos: 1 });
  await new Promise((r) => setTimeout(r, 100)); // received and refused before round 0 opens
  try {
    for (let r = 0; r < config.rounds; r++) await server.runRound();
    // Equal samples: each round moves every parameter by the mean step 0.02.
    server.weights.forEach((w) => assert.ok(Math.abs(w - 0.06) < 1e-3, `parameter ${w}`));
    assert.ok(dropped, "the flaky client dropped");
    assert.deepEqual(server.refused, [`wisp/${fleet}/round/0/update/9: no round is open`]);
    assert.deepEqual(log, [`refused wisp/${fleet}/round/0/update/9: no round is open`]);
    assert.equal(server.round, 3);
  } finally {
    await Promise.all([...clients, stranger].map((c) => c.endAsync(true)));
    await server.close();
  }
}

// Five devices; device c always proposes +0.01 * (c + 1) on every parameter
// from 10 samples; device 3 drops in round 1 after sharing its key.
async function federateSecurely(url: string, p: Provisioned): Promise<void> {
  const fleet = p.server.fleet;
  const config = parseConfig({ rounds: 3, clients_per_round: 5, lr: 0.1, clip_norm: 10, reject_norm: 100, secure_aggregation: true, store: ":memory:" });
  const server = await MqttSecureRoundServer.start(url, p.server, config, 1, new Float32Array(N), { sample: () => [0, 1, 2, 3, 4], log: () => undefined });
  const delta = (id: number) => new Float32Array(N).fill(0.01 * (id + 1));
  const clients = await Promise.all([0, 1, 2, 3, 4].map((id) => runSecureClient(url, p.devices[id], config, () => ({ delta: delta(id), sampleCount: 10 }), { dropInRound: id === 3 ? 1 : undefined })));
  // A provisioned device outside the round pushes garbage into round 0.
  const stranger = await runClient(url, p.devices[9], () => null);
  try {
    let expected = new Float32Array(N);
    for (let r = 0; r < config.rounds; r++) {
      if (r === 0) {
        // Garbage where the server listens: refused.
        await stranger.publishAsync(`wisp/${fleet}/round/0/shares/9`, Buffer.from([1, 2, 3]), { qos: 1 });
        await stranger.publishAsync(`wisp/${fleet}/round/0/masked/9`, Buffer.from([1, 2, 3]), { qos: 1 });
      }
      // Phases end early when everyone answered; only the dropped device makes one wait the whole 4 s.
      const { survivors, dropped, refused } = await server.runRound(4000);
      assert.equal(refused, null);
      assert.deepEqual(dropped, r === 1 ? [3] : [], `round ${r}: dropped`);
      assert.deepEqual([...survivors].sort(), r === 1 ? [0, 1, 2, 4] : [0, 1, 2, 3, 4]);
      // The plain sum of the survivors' values gives the same step, bit for bit.
      const sum = new Int32Array(N + 1);
      for (const id of survivors) secureValues(delta(id), 10, config).forEach((v, i) => (sum[i] += v));
      const step = secureAverage(sum, survivors.length, config);
      expected = Float32Array.from(expected, (w, i) => w + step[i]);
      assert.deepEqual(server.weights, expected, `round ${r}: the unmasked average differs from the plain one`);
    }
    // 0.03 + 0.0275 (without device 3) + 0.03, to the fixed point's resolution.
    server.weights.forEach((w) => assert.ok(Math.abs(w - 0.0875) < 1e-3, `parameter ${w}`));
    assert.ok(server.refused.some((r) => /masked\/9/.test(r)), server.refused.join("; "));
  } finally {
    await Promise.all([...clients, stranger].map((c) => c.endAsync(true)));
    await server.close();
  }
}

for (const kind of ["aedes", "mosquitto"] as BrokerKind[]) {
  test(`MQTT rounds on ${kind}, plain and secure`, { skip: kind === "mosquitto" && !mosquitto ? NO_MOSQUITTO : false }, async () => {
    const plain = provisionFleet(`${kind}-fleet`, 10), secure = provisionFleet(`${kind}-secure-fleet`, 10);
    const broker = await fleetBroker(kind, [plain, secure]);
    try {
      await federate(broker.url, plain);
      await federateSecurely(broker.url, secure);
    } finally {
      await broker.close();
    }
  });
}

test("each round server refuses the other's config", async () => {
  const { server } = provisionFleet("x", 1);
  await assert.rejects(MqttSecureRoundServer.start("mqtt://127.0.0.1:1", server, parseConfig({ rounds: 1, clients_per_round: 2, lr: 0.1 }), 1, new Float32Array(4)), /secure_aggregation false/);
  await assert.rejects(MqttRoundServer.start("mqtt://127.0.0.1:1", server, parseConfig({ rounds: 1, clients_per_round: 2, lr: 0.1, secure_aggregation: true }), 1, new Float32Array(4)), /MqttSecureRoundServer/);
});
