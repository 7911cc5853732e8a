// The persistent round store: a server process killed (SIGKILL) in the
// middle of a round, after some updates were acknowledged, restarts on the
// same SQLite file and finishes the round with exactly the FedAvg of every
// acknowledged update, none counted twice; the same for a secure round
// killed between phases. And the store itself round-trips what it keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MqttClient } from "mqtt";
import { parseConfig, RoundAggregator } from "../host/fl/aggregate";
import { parsePasswd, provisionFleet } from "../host/fl/fleet-policy";
import { connect, runClient, startBroker } from "../host/fl/mqtt";
import { runSecureClient } from "../host/fl/mqtt-secure";
import { dequantizeUpdate, equalGroups, quantizeDelta } from "../host/fl/quantize";
import { openDelta, publicKey } from "../host/fl/signing";
import { secureAverage, secureValues } from "../host/fl/secure-round";
import { SqliteRoundStore } from "../host/fl/sqlite-store";
import { decodeUpdate, encodeUpdate } from "../host/fl/update-format";
import { PACKAGE_ROOT } from "../host/node/package-root";

const N = 64;

function message(round: number, id: number, sampleCount: number): Uint8Array {
  const delta = Float32Array.from({ length: N }, (_, i) => 0.001 * (id + 1) * ((i % 7) - 3));
  const q = quantizeDelta(delta, new Float32Array(N), { bits: 8, topk: 1, groupEnds: equalGroups(N, 2) });
  return encodeUpdate({ modelVersion: 1, clientId: id, round, sampleCount, bits: 8, elements: N, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
}

// `wisp fl serve` as its own process, with its stdout lines.
function serve(args: string[]): { child: ChildProcess; lines: string[]; stderr: string[]; waitFor(line: string): Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), "fl", "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [], stderr: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let partial = "";
  child.stdout!.on("data", (d) => {
    const parts = (partial + d).split("\n");
    partial = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      waiters.filter((w) => w.line === l).forEach((w) => w.resolve());
    }
  });
  child.stderr!.on("data", (d) => stderr.push(String(d)));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child, lines, stderr, exit,
    waitFor: (line) => lines.includes(line) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
      waiters.push({ line, resolve });
      void exit.then(() => reject(new Error(`server exited before "${line}": ${stderr.join("")}`)));
    }),
  };
}

async function withServerSetup(name: string, devices: number, config: object, body: (s: { url: string; args: string[]; store: string; p: ReturnType<typeof provisionFleet>; clients: MqttClient[] }) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), `wisp-${name}-`));
  const p = provisionFleet(name, devices);
  const broker = await startBroker(parsePasswd(p.passwd), () => undefined);
  const store = join(dir, "rounds.sqlite");
  writeFileSync(join(dir, "server.json"), JSON.stringify(p.server));
  writeFileSync(join(dir, "fl.json"), JSON.stringify({ ...config, store }));
  const clients: MqttClient[] = [];
  try {
    await body({ url: broker.url, args: ["--config", join(dir, "fl.json"), "--server", join(dir, "server.json"), "--broker", broker.url, "--params", String(N), "--round-ms", "20000"], store, p, clients });
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The round's signed delta is in the store: the fleet's, for round 0, from
// the initial (zero) model to the round's result, within half a step of its
// 8-bit quantization; and the devices' model is what it adds up to.
function assertStoredDelta(s: SqliteRoundStore, p: ReturnType<typeof provisionFleet>, result: Float32Array): void {
  const stored = s.latestDelta()!;
  assert.equal(stored.round, 0);
  const { round, delta } = openDelta(stored.signed, p.server.fleet, publicKey(p.server.publicKey));
  assert.equal(round, 0);
  const u = decodeUpdate(delta);
  assert.equal(u.elements, N);
  const step = dequantizeUpdate(u);
  assert.deepEqual(stored.deviceModel, step);
  const maxScale = Math.max(...u.scales);
  result.forEach((w, i) => assert.ok(Math.abs(step[i] - w) <= maxScale / 2 + 1e-7, `element ${i}: ${step[i]} for ${w}`));
}

test("a plain round survives SIGKILL after two of four updates were acknowledged", async () => {
  const config = { rounds: 1, clients_per_round: 4, lr: 0.1, clip_norm: 10, reject_norm: 100 };
  await withServerSetup("kill-plain", 4, config, async ({ url, args, store, p, clients }) => {
    const first = serve(args);
    // Devices 0 and 1 answer the model at once; 2 and 3 are slow.
    for (const id of [0, 1]) clients.push(await runClient(url, p.devices[id], (round) => message(round, id, 10 * (id + 1))));
    await first.waitFor("accepted 0 0");
    await first.waitFor("accepted 0 1");
    first.child.kill("SIGKILL");
    await first.exit;
    // While the server is down: devices 2 and 3 answer (the broker keeps them for the
    // server's session), and device 0 sends its update again, as a device unsure it arrived.
    for (const id of [2, 3]) {
      const d = await connect(url, p.devices[id]);
      clients.push(d);
      await d.publishAsync(`wisp/${p.server.fleet}/round/0/update/${id}`, Buffer.from(message(0, id, 10 * (id + 1))), { qos: 1 });
    }
    await clients[0].publishAsync(`wisp/${p.server.fleet}/round/0/update/0`, Buffer.from(message(0, 0, 10)), { qos: 1 });
    const second = serve(args);
    assert.equal(await second.exit, 0, second.stderr.join(""));
    assert.deepEqual(second.lines, ["accepted 0 2", "accepted 0 3", "done 0", "finished 1 rounds"]);
    assert.match(second.stderr.join(""), /update\/0: client 0 already sent an update this round \(replay\)/);
    const expected = new RoundAggregator(parseConfig({ ...config, store: ":memory:" }), 1, N, 0);
    for (const id of [0, 1, 2, 3]) expected.accept(message(0, id, 10 * (id + 1)));
    const s = new SqliteRoundStore(store);
    try {
      assert.deepEqual(s.latestModel(), { round: 1, weights: expected.average() });
      assert.deepEqual(s.updates(0).map((u) => u.clientId), [0, 1, 2, 3]);
      assertStoredDelta(s, p, expected.average());
      assert.equal(s.roundState(0)!.phase, "done");
    } finally {
      s.close();
    }
  });
});

test("a secure round survives SIGKILL between its phases", async () => {
  const config = { rounds: 1, clients_per_round: 3, lr: 0.1, clip_norm: 10, reject_norm: 100, secure_aggregation: true };
  await withServerSetup("kill-secure", 3, config, async ({ url, args, store, p, clients }) => {
    const c = parseConfig({ ...config, store: ":memory:" });
    const delta = (id: number) => Float32Array.from({ length: N }, (_, i) => 0.01 * (id + 1) * ((i % 5) - 2));
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    for (const id of [0, 1, 2]) clients.push(await runSecureClient(url, p.devices[id], c, () => ({ delta: delta(id), sampleCount: 5 + id }), { holdMasked: hold }));
    const first = serve(args);
    // Killed once the maskers were announced, before any masked vector arrived.
    await first.waitFor("phase 0 masked");
    first.child.kill("SIGKILL");
    await first.exit;
    release();
    const second = serve(args);
    assert.equal(await second.exit, 0, second.stderr.join(""));
    assert.deepEqual(second.lines, ["phase 0 reveal", "done 0", "finished 1 rounds"]);
    const sum = new Int32Array(N + 1);
    for (const id of [0, 1, 2]) secureValues(delta(id), 5 + id, c).forEach((v, i) => (sum[i] += v));
    const s = new SqliteRoundStore(store);
    try {
      assert.deepEqual(s.latestModel(), { round: 1, weights: secureAverage(sum, 3, c) });
      assert.equal(s.roundState(0)!.phase, "done");
      assertStoredDelta(s, p, secureAverage(sum, 3, c));
    } finally {
      s.close();
    }
  });
});

test("the SQLite store keeps models, round states, updates and secure-round data across reopening", () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-store-"));
  try {
    const file = join(dir, "r.sqlite");
    let s = new SqliteRoundStore(file);
    s.transaction(() => {
      s.saveModel(0, Float32Array.of(1, 2));
      s.saveModel(1, Float32Array.of(3, 4));
      s.setRoundState(1, { members: [2, 5], phase: "masked", detail: { maskers: [2, 5] } });
    });
    s.add(1, { clientId: 5, sampleCount: 3, delta: Float32Array.of(0.5, -0.5) });
    s.offerKey(1, 5, Uint8Array.of(9, 9));
    s.addShares(1, 5, new Map([[2, Uint8Array.of(7)]]));
    s.addMasked(1, 5, Uint32Array.of(1, 0xffffffff));
    s.addReveal(1, 2, { x: 3, y: Uint8Array.of(4) });
    s.addReveal(1, 2, { x: 3, y: Uint8Array.of(4) }); // the same share again is kept once
    assert.throws(() => s.transaction(() => { s.saveModel(2, Float32Array.of(0, 0)); throw new Error("crash"); }));
    s.close();
    s = new SqliteRoundStore(file);
    assert.deepEqual(s.latestModel(), { round: 1, weights: Float32Array.of(3, 4) }, "the failed transaction left nothing");
    assert.deepEqual(s.roundState(1), { members: [2, 5], phase: "masked", detail: { maskers: [2, 5] } });
    assert.ok(s.has(1, 5) && !s.has(1, 2));
    assert.deepEqual(s.updates(1), [{ clientId: 5, sampleCount: 3, delta: Float32Array.of(0.5, -0.5) }]);
    assert.deepEqual(s.keys(1), new Map([[5, Uint8Array.of(9, 9)]]));
    assert.deepEqual(s.sharesFor(1, 2), new Map([[5, Uint8Array.of(7)]]));
    assert.deepEqual(s.masked(1), new Map([[5, Uint32Array.of(1, 0xffffffff)]]));
    assert.deepEqual(s.reveals(1, 2), [{ x: 3, y: Uint8Array.of(4) }]);
    s.close();
    assert.throws(() => new SqliteRoundStore(join(dir, "missing", "r.sqlite")), (e: Error & { code?: string }) => e.code === "IO");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
