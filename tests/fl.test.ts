// Federated learning on the server side: the update format and its CRC,
// quantization with top-k and error feedback, exact secure aggregation with
// dropouts, refusal and clipping of bad updates, and FedAvg.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryRoundStore, parseConfig, RoundAggregator, l2norm } from "../host/fl/aggregate";
import { secureAverage, secureValues, secureWeightCap, SECURE_FRACTION_BITS } from "../host/fl/secure-round";
import { dequantizeUpdate, equalGroups, quantizeDelta } from "../host/fl/quantize";
import { simulateSecureRound } from "../host/fl/secure-agg";
import { combineShares, splitSecret } from "../host/fl/shamir";
import { decodeUpdate, encodeUpdate, Update } from "../host/fl/update-format";
import { WispError } from "../host/errors";
import { crc32 } from "../host/crc32";
import { prng } from "./helpers";

const random = prng(4242);
const gaussian = () => {
  const u = (random(1 << 30) + 1) / (1 << 30), v = random(1 << 30) / (1 << 30);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
const vector = (n: number, scale = 0.01) => Float32Array.from({ length: n }, () => gaussian() * scale);

function makeUpdate(delta: Float32Array, bits: 8 | 4, topk: number, clientId = 7, round = 3, sampleCount = 120): Update {
  const q = quantizeDelta(delta, new Float32Array(delta.length), { bits, topk, groupEnds: equalGroups(delta.length, 4) });
  return { modelVersion: 11, clientId, round, sampleCount, bits, elements: delta.length, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values };
}

const expectBad = (f: () => unknown, pattern: RegExp, code = "BAD_UPDATE") =>
  assert.throws(f, (e: unknown) => e instanceof WispError && e.code === code && pattern.test(e.message));

test("update messages round-trip (8-bit dense, 4-bit sparse) and the CRC rejects corruption", () => {
  for (const [bits, topk] of [[8, 1], [4, 0.1], [8, 0.1]] as const) {
    const u = makeUpdate(vector(4160), bits, topk);
    const bytes = encodeUpdate(u);
    assert.deepEqual(decodeUpdate(bytes), u);
    for (const at of [0, 10, 40, bytes.length - 10, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      expectBad(() => decodeUpdate(bad), /CRC|magic|version/);
    }
    expectBad(() => decodeUpdate(bytes.subarray(0, bytes.length - 3)), /CRC|bytes/);
  }
  // Top-10% updates of a 64->64->10 head (4,810 values) stay under 1/16 of float32.
  for (const bits of [8, 4] as const) {
    const u = encodeUpdate(makeUpdate(vector(4810), bits, 0.1));
    assert.ok(u.length <= (4810 * 4) / 16, `${bits}-bit: ${u.length} bytes`);
  }
});

test("1,000 mutated update messages end in a decoded update or BAD_UPDATE", () => {
  const base = encodeUpdate(makeUpdate(vector(300), 4, 0.2));
  for (let i = 0; i < 1000; i++) {
    const bytes = base.slice();
    for (let k = 1 + random(4); k > 0; k--) bytes[random(bytes.length)] = random(256);
    const cut = random(3) === 0 ? bytes.subarray(0, random(bytes.length)) : bytes;
    // Half the time the CRC is made right again, so the field checks are reached.
    if (i % 2 === 0 && cut.length >= 4) new DataView(cut.buffer, cut.byteOffset).setUint32(cut.length - 4, crc32(cut.subarray(0, cut.length - 4)), true);
    try {
      decodeUpdate(cut);
    } catch (e) {
      assert.ok(e instanceof WispError && e.code === "BAD_UPDATE", String(e));
    }
  }
});

test("quantization error is bounded by half a step; top-k error feedback keeps what was not sent", () => {
  const delta = vector(1000);
  const u = makeUpdate(delta, 8, 1);
  const back = dequantizeUpdate(u);
  delta.forEach((d, i) => assert.ok(Math.abs(back[i] - d) <= u.scales[Math.floor((i * 4) / 1000)] / 2 + 1e-9));
  // With top-10%, the residual carries the rest: sent + residual = delta.
  const q = quantizeDelta(delta, new Float32Array(1000), { bits: 8, topk: 0.1, groupEnds: equalGroups(1000, 1) });
  assert.equal(q.values.length, 100);
  const sent = dequantizeUpdate({ modelVersion: 0, clientId: 0, round: 0, sampleCount: 1, bits: 8, elements: 1000, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
  delta.forEach((d, i) => assert.ok(Math.abs(sent[i] + q.residual[i] - d) < 1e-6));
  // Over rounds of the same delta, error feedback sends everything eventually.
  let residual: Float32Array = new Float32Array(1000);
  const total = new Float32Array(1000);
  for (let r = 0; r < 30; r++) {
    const step = quantizeDelta(delta, residual, { bits: 8, topk: 0.1, groupEnds: equalGroups(1000, 1) });
    residual = step.residual;
    const s = dequantizeUpdate({ modelVersion: 0, clientId: 0, round: r, sampleCount: 1, bits: 8, elements: 1000, scales: step.scales, groupEnds: step.groupEnds, indices: step.indices, values: step.values });
    s.forEach((x, i) => (total[i] += x));
  }
  // What was sent plus what is still pending equals 30 rounds of the delta.
  delta.forEach((d, i) => assert.ok(Math.abs(total[i] + residual[i] - 30 * d) < 1e-4));
});

test("Shamir shares: any threshold rebuild the secret", () => {
  const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  const shares = splitSecret(secret, 10, 4);
  assert.deepEqual(combineShares([shares[9], shares[2], shares[5], shares[0]]), secret);
  assert.notDeepEqual(combineShares(shares.slice(0, 3)), secret);
});

test("secure aggregation: the masked sum equals the plain sum exactly, with 30% of clients dropped", () => {
  const clients = 20, n = 500, threshold = 11;
  const values = new Map(Array.from({ length: clients }, (_, i) => [i + 1, Int32Array.from({ length: n }, () => random(255) - 127)]));
  const dropped = new Set([...values.keys()].filter((id) => (id - 1) % 10 < 3)); // 6 of 20
  const { masked, survivors, sum } = simulateSecureRound(values, dropped, 5, threshold);
  // A masked vector alone reveals nothing like the values.
  const first = survivors[0];
  assert.ok(masked.get(first)!.some((m, i) => m !== (values.get(first)![i] >>> 0)));
  const plain = new Int32Array(n);
  for (const id of survivors) values.get(id)!.forEach((v, i) => (plain[i] += v));
  assert.deepEqual(sum, plain);
});

test("secure round: FedAvg of the masked, client-clipped updates matches the plain FedAvg", () => {
  const config = parseConfig({ rounds: 10, clients_per_round: 12, lr: 0.1, secure_aggregation: true, clip_norm: 0.5, reject_norm: 5 });
  const n = 300, unit = config.clip_norm / 2 ** SECURE_FRACTION_BITS;
  // Each client's delta as it would send it in the clear: int8, top-10%.
  const messages = new Map(Array.from({ length: 12 }, (_, i) => {
    const raw = i === 11 ? Float32Array.from({ length: n }, () => 0.2) // its top 10% has norm 1.1: clipped to 0.5
      : Float32Array.from({ length: n }, () => (random(2001) - 1000) / 20000);
    return [i + 1, encodeUpdate({ ...makeUpdate(raw, 8, 0.1, i + 1, 0), sampleCount: 50 * (i + 1) })];
  }));
  const values = new Map([...messages].map(([id, m]) => [id, secureValues(dequantizeUpdate(decodeUpdate(m)), 50 * id, config)]));
  const { survivors, sum } = simulateSecureRound(values, new Set([2, 5, 9]), 1, 7);
  const step = secureAverage(sum, survivors.length, config);
  // The same round in the clear, through the plain aggregator.
  const round = new RoundAggregator({ ...config, secure_aggregation: false }, 11, n, 0);
  for (const id of survivors) round.accept(messages.get(id)!);
  const plain = round.average();
  const total = survivors.reduce((t, id) => t + 50 * id, 0);
  // Rounding: half a unit per client, spread over the summed weight.
  const bound = (0.5 * unit * survivors.length) / total + 1e-7;
  step.forEach((v, i) => assert.ok(Math.abs(v - plain[i]) <= bound, `element ${i}: ${v} vs ${plain[i]}`));
  assert.ok(step.some((v) => v !== 0));
  // Bad input: a non-finite delta, a bad count, too many clients, a corrupt sum.
  expectBad(() => secureValues(Float32Array.of(NaN, 0), 10, config), /norm/);
  expectBad(() => secureValues(new Float32Array(2), 0, config), /sample count/);
  expectBad(() => secureWeightCap({ ...config, clients_per_round: 1 << 20 }), /too many/, "BAD_CONFIG");
  expectBad(() => secureAverage(Int32Array.of(5, -3), 3, config), /impossible/);
});

test("FedAvg weights by samples; garbage is refused or clipped and cannot move the model beyond the clip", () => {
  const config = parseConfig({ rounds: 100, clients_per_round: 50, local_epochs: 1, lr: 0.05, update_bits: 8, topk: 0.1, secure_aggregation: false, clip_norm: 0.5, reject_norm: 5 });
  const round = new RoundAggregator(config, 11, 100, 3, new MemoryRoundStore());
  const a = Float32Array.from({ length: 100 }, (_, i) => (i % 2 ? 0.01 : -0.01));
  const b = Float32Array.from({ length: 100 }, () => 0.02);
  round.accept(encodeUpdate({ ...makeUpdate(a, 8, 1, 1), sampleCount: 100 }));
  round.accept(encodeUpdate({ ...makeUpdate(b, 8, 1, 2), sampleCount: 300 }));
  const mean = round.average();
  mean.forEach((m, i) => assert.ok(Math.abs(m - (0.25 * a[i] + 0.75 * b[i])) < 1e-4));
  // Replays, wrong versions, sizes and rounds are refused.
  expectBad(() => round.accept(encodeUpdate(makeUpdate(b, 8, 1, 2))), /replay/);
  expectBad(() => round.accept(encodeUpdate({ ...makeUpdate(b, 8, 1, 3), modelVersion: 10 })), /model version/);
  expectBad(() => round.accept(encodeUpdate(makeUpdate(vector(99), 8, 1, 4))), /elements/);
  expectBad(() => round.accept(encodeUpdate(makeUpdate(b, 8, 1, 5, 4))), /round 4/);
  // A huge update is refused; a large one is clipped to the clip norm.
  expectBad(() => round.accept(encodeUpdate(makeUpdate(Float32Array.from({ length: 100 }, () => 10), 8, 1, 6))), /norm/);
  const big = round.accept(encodeUpdate(makeUpdate(Float32Array.from({ length: 100 }, () => 0.3), 8, 1, 7)));
  assert.ok(Math.abs(l2norm(big.delta) - 0.5) < 1e-5);
});

test("invalid configurations get clear errors", () => {
  const base = { rounds: 10, clients_per_round: 5, lr: 0.1 };
  expectBad(() => parseConfig([]), /JSON object/, "BAD_CONFIG");
  expectBad(() => parseConfig({ ...base, rounds: 0 }), /"rounds" must be a positive integer/, "BAD_CONFIG");
  expectBad(() => parseConfig({ ...base, update_bits: 6 }), /"update_bits" must be 8 or 4/, "BAD_CONFIG");
  expectBad(() => parseConfig({ ...base, topk: 1.5 }), /"topk" must be in \(0, 1\]/, "BAD_CONFIG");
  expectBad(() => parseConfig({ ...base, lr: -1 }), /"lr" must be a positive number/, "BAD_CONFIG");
  expectBad(() => parseConfig({ ...base, colour: "blue" }), /unknown setting "colour"/, "BAD_CONFIG");
  assert.equal(parseConfig(base).update_bits, 8);
});
