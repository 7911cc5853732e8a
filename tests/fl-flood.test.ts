// Robustness under load, bounded and on loopback: a device outside the
// round floods 10,000 messages; a member sends a 10 MB payload, NaN and
// infinite scales, an index beyond the model, a norm far above the clip,
// then its real update. The server stays up, refuses each bad message with
// a logged reason, and the round's result is the honest devices' FedAvg. The
// flooder is limited twice: the embedded broker cuts it off at its rate
// limit; mosquitto cannot limit a client's rate, so there the round server's
// own limit (a burst of 100, then 20 a second per device) refuses the excess.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MqttClient } from "mqtt";
import { parseConfig, RoundAggregator } from "../host/fl/aggregate";
import { crc32 } from "../host/crc32";
import { provisionFleet } from "../host/fl/fleet-policy";
import { connect, MqttRoundServer, RoundInbox, runClient } from "../host/fl/mqtt";
import { equalGroups, quantizeDelta } from "../host/fl/quantize";
import { encodeUpdate, Update } from "../host/fl/update-format";
import { BrokerKind, fleetBroker, mosquitto, NO_MOSQUITTO } from "./fleet-helpers";

const N = 100;

function update(id: number, step: number, topk = 1): Update {
  const q = quantizeDelta(new Float32Array(N).fill(step).map((x, i) => x * (1 + i / N)), new Float32Array(N), { bits: 8, topk, groupEnds: equalGroups(N, 1) });
  return { modelVersion: 1, clientId: id, round: 0, sampleCount: 10, bits: 8, elements: N, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values };
}

// Re-stamps the CRC after a change, so the field checks are what refuse it.
function withCrc(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

for (const kind of ["aedes", "mosquitto"] as BrokerKind[]) test(`${kind}: a flood and garbage leave the server up and the round's result honest; the flooder is rate-limited`, { skip: kind === "mosquitto" && !mosquitto ? NO_MOSQUITTO : false }, async () => {
  const p = provisionFleet("flood", 4);
  const broker = await fleetBroker(kind, [p]);
  const log: string[] = [];
  const config = parseConfig({ rounds: 1, clients_per_round: 3, lr: 0.1, clip_norm: 1, reject_norm: 5, store: ":memory:" });
  const server = await MqttRoundServer.start(broker.url, p.server, config, 1, new Float32Array(N), { sample: () => [0, 1, 2], log: (l) => log.push(l) });
  const clients: MqttClient[] = [];
  const F = p.server.fleet;
  try {
    for (const id of [0, 1]) clients.push(await runClient(broker.url, p.devices[id], () => encodeUpdate(update(id, 0.01 * (id + 1)))));
    const round = server.runRound(10_000);
    await new Promise((r) => setTimeout(r, 50));

    // Device 3, not in the round, sends 10,000 messages as fast as it can.
    const flooder = await connect(broker.url, p.devices[3]);
    clients.push(flooder);
    const floodStart = Date.now();
    const garbage = Buffer.alloc(64, 7);
    for (let i = 0; i < 10_000; i++) flooder.publish(`wisp/${F}/round/0/update/3`, garbage, { qos: 0 });

    // Device 2, a member: garbage of each kind first, each on its own topic.
    let member = await connect(broker.url, p.devices[2]);
    const send = (bytes: Uint8Array) => member.publishAsync(`wisp/${F}/round/0/update/2`, Buffer.from(bytes), { qos: 1 });
    const nan = encodeUpdate({ ...update(2, 0.03), scales: Float32Array.of(NaN) });
    const inf = encodeUpdate({ ...update(2, 0.03), scales: Float32Array.of(Infinity) });
    const sparse = encodeUpdate(update(2, 0.03, 0.1)); // 10 indices, each one varint byte at offset 48
    const beyond = sparse.slice();
    beyond[48 + 9] = 0x7f; // the last gap jumps past element 99
    const huge = encodeUpdate({ ...update(2, 0.03), scales: Float32Array.of(1) }); // values up to 127: norm ~1000
    for (const bytes of [nan, inf, withCrc(beyond), huge, new Uint8Array(Buffer.alloc(50_000))]) await send(bytes);
    // A 10 MB payload: the broker refuses it and closes the connection; the device comes back.
    await Promise.race([send(new Uint8Array(10 << 20)).catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    member.end(true);
    member = await connect(broker.url, p.devices[2]);
    clients.push(member);
    await send(encodeUpdate(update(2, 0.03)));
    await round;

    const honest = new RoundAggregator(config, 1, N, 0);
    for (const id of [0, 1, 2]) honest.accept(encodeUpdate(update(id, 0.01 * (id + 1))));
    assert.deepEqual(server.weights, honest.average());
    const at2 = server.refused.filter((r) => r.includes("update/2")).map((r) => r.split(": ").slice(1).join(": "));
    assert.deepEqual(at2, [
      "scale 0 is not a finite non-negative number",
      "scale 0 is not a finite non-negative number",
      "sparse index beyond the element count",
      `update norm ${at2[3].split(" ")[2]} is out of range (limit 5)`,
      "update of 50000 bytes, more than any update of a 100-parameter model",
    ]);
    assert.ok(Number(at2[3].split(" ")[2]) > 100);
    const seconds = (Date.now() - floodStart) / 1000;
    const at3 = server.refused.filter((r) => r.includes("update/3"));
    const limited = at3.filter((r) => r.endsWith("rate limit: device 3 sent more than 100 messages, then 20 a second"));
    // What got past the server's limit: at most the burst and what refilled while the flood lasted, each refused.
    const passed = at3.length - limited.length;
    assert.ok(passed >= 1 && passed <= 100 + 20 * seconds + 1, `${passed} flood messages passed the server's limit in ${seconds} s`);
    assert.ok(at3.filter((r) => !limited.includes(r)).every((r) => r.endsWith("client 3 is not on round 0's roster") || /bad magic|too short|CRC/.test(r)), at3[0]);
    if (kind === "aedes") {
      assert.ok(broker.log.some((l) => /refused publish by "flood.device-2" .*payload of 10485760 bytes, the limit is 1048576/.test(l)), broker.log.join("\n"));
      assert.ok(broker.log.some((l) => /refused publish by "flood.device-3" .*rate limit/.test(l)), broker.log.join("\n"));
      assert.ok(at3.length <= 200, `${at3.length} flood messages reached the server`);
    } else {
      // mosquitto passes the flood on: the server limited it.
      assert.ok(limited.length >= 5000, `only ${limited.length} of ${at3.length} flood messages were refused by the server's rate limit`);
    }
    assert.equal(log.filter((l) => l.startsWith("refused")).length, server.refused.length, "every refusal is logged");
    console.log(JSON.stringify({ kind, reachedServer: at3.length, rateLimitedByServer: limited.length, floodSeconds: seconds }));
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server.close();
    await broker.close();
  }
});


test("the round servers' shared inbox: topics, kinds, rounds and each device's rate, each refusal logged", () => {
  const log: string[] = [];
  const inbox = new RoundInbox("f", (l) => log.push(l), { burst: 3, perSecond: 1e-6 });
  const admit = (topic: string, round = 2, open = true) => inbox.admit(topic, ["key", "masked"], round, open);
  assert.deepEqual(admit("wisp/f/round/2/key/7"), { round: 2, kind: "key", client: 7 });
  assert.equal(admit("wisp/g/round/2/key/7"), null); // another fleet's topic
  assert.equal(admit("wisp/f/round/2/update/7"), null); // a kind this server does not take
  assert.equal(admit("wisp/f/round/1/masked/7"), null); // closed
  assert.deepEqual(admit("wisp/f/round/2/masked/7"), { round: 2, kind: "masked", client: 7 }); // device 7's 3rd message (the closed one counted)
  assert.equal(admit("wisp/f/round/2/masked/7"), null); // its 4th: over its rate
  assert.deepEqual(admit("wisp/f/round/2/masked/8"), { round: 2, kind: "masked", client: 8 }); // others are not limited by it
  assert.equal(admit("wisp/f/round/3/key/8"), null); // not started
  assert.equal(admit("wisp/f/round/2/key/9", 2, false), null); // no round open
  assert.deepEqual(inbox.refused.map((r) => r.split(": ").slice(1).join(": ")), [
    "not a topic the server takes (key, masked)",
    "not a topic the server takes (key, masked)",
    "round 1 is closed",
    "rate limit: device 7 sent more than 3 messages, then 0.000001 a second",
    "round 3 has not started (this is round 2)",
    "no round is open",
  ]);
  assert.equal(log.length, inbox.refused.length);
});
