// The on-device trainer (build/wisp-train.wasm): its integer gradients match
// a float reference, and integer training with Q16 residuals learns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Backbone, FASHION_MNIST_DIR, readFashionMnist } from "../host/fl/fashion-mnist";
import { HeadSpec, HeadTrainer } from "../host/fl/trainer";
import { modelsDir, prng } from "./helpers";

const random = prng(99);
const uniform = () => random(1 << 30) / (1 << 30);
const gaussian = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());

// Synthetic int8 features: 10 clusters in 64 dimensions.
const IN = 64, HIDDEN = 64, CLASSES = 10;
const centers = Array.from({ length: CLASSES }, () => Float32Array.from({ length: IN }, () => gaussian() * 30));
function sample(label: number): Int8Array {
  return Int8Array.from(centers[label], (c) => Math.max(-128, Math.min(127, Math.round(c + gaussian() * 25))));
}

function spec(lr: number, batch: number): HeadSpec {
  const init = (n: number, fan: number) => Float32Array.from({ length: n }, () => gaussian() * Math.sqrt(2 / fan));
  return {
    inDim: IN, hidden: HIDDEN, classes: CLASSES, w1: init(HIDDEN * IN, IN), w2: init(CLASSES * HIDDEN, HIDDEN),
    inputScale: 0.05, inputZeroPoint: 0, hiddenRange: 40, logitRange: 30, weightHeadroom: 4, lr, batch,
  };
}

test("layer-2 gradients equal a float reference within the softmax's 2/256 quantization", () => {
  const trainer = new HeadTrainer(spec(0.01, 16));
  const s = trainer.scales;
  const reference = new Float64Array(CLASSES * HIDDEN);
  let maxHidden = 0;
  for (let n = 0; n < 16; n++) {
    const label = n % CLASSES;
    trainer.accumulate(sample(label), label);
    const { hidden, logits } = trainer.inspect();
    // Float softmax of the same int8 logits, and the hidden activations.
    const z = Array.from(logits, (q) => q * s.logits);
    const top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let o = 0; o < CLASSES; o++) {
      const g = e[o] / sum - (o === label ? 1 : 0);
      for (let h = 0; h < HIDDEN; h++) {
        const a = (hidden[h] + 128) * s.hidden;
        maxHidden = Math.max(maxHidden, a);
        reference[o * HIDDEN + h] += g * a;
      }
    }
  }
  const { grad2 } = trainer.inspect();
  const tolerance = 16 * (2 / 256) * maxHidden;
  let worst = 0;
  grad2.forEach((g, i) => (worst = Math.max(worst, Math.abs((g / 256) * s.hidden - reference[i]))));
  assert.ok(worst <= tolerance, `worst difference ${worst}, tolerance ${tolerance}`);
  assert.ok(grad2.some((g) => g !== 0));
});

test("integer training with residuals takes the head from chance to >90% held-out accuracy", () => {
  const trainer = new HeadTrainer(spec(0.05, 20));
  const test = Array.from({ length: 300 }, (_, i) => ({ x: sample(i % CLASSES), y: i % CLASSES }));
  const accuracy = () => test.filter((t) => trainer.predict(t.x) === t.y).length / test.length;
  const before = accuracy();
  for (let step = 0; step < 60; step++) {
    for (let b = 0; b < 20; b++) {
      const y = random(CLASSES);
      trainer.accumulate(sample(y), y);
    }
    assert.equal(trainer.update(), 20);
  }
  const after = accuracy();
  assert.ok(before < 0.5, `before training ${before}`);
  assert.ok(after > 0.9, `after training ${after} (before ${before})`);
  // Training state (weights, Q16 residuals, gradients, activations) plus the
  // update export (the round's start, the error-feedback residual, the message).
  assert.ok(trainer.regionBytes > 0 && trainer.regionBytes < 96 * 1024, `training arena ${trainer.regionBytes} bytes`);
});

test("the module's update message is the host's, byte for byte, and keeps what it cannot send in its residual", async () => {
  const { equalGroups, quantizeDelta, tensorGroups } = await import("../host/fl/quantize");
  const { decodeUpdate, encodeUpdate } = await import("../host/fl/update-format");
  const trainer = new HeadTrainer(spec(0.05, 10));
  let residual: Float32Array = new Float32Array(trainer.parameterCount);
  const cases: { bits: 8 | 4; topk: number; groups: number | "tensor" }[] = [
    { bits: 8, topk: 0.1, groups: "tensor" }, { bits: 4, topk: 0.1, groups: 1 }, { bits: 8, topk: 1, groups: 2 }, { bits: 4, topk: 0.37, groups: 75 },
  ];
  for (const [round, o] of cases.entries()) {
    trainer.beginRound();
    for (let step = 0; step < 5; step++) {
      for (let b = 0; b < 10; b++) {
        const y = random(CLASSES);
        trainer.accumulate(sample(y), y);
      }
      trainer.update();
    }
    const delta = trainer.delta();
    assert.ok(delta.some((d) => d !== 0), "training changed nothing");
    const header = { modelVersion: 3, clientId: 17, round, sampleCount: 50 };
    const message = trainer.exportUpdate({ bits: o.bits, topk: o.topk, groups: o.groups, ...header });
    const groupEnds = o.groups === "tensor" ? tensorGroups([HIDDEN * IN, CLASSES * HIDDEN, HIDDEN, CLASSES]) : equalGroups(delta.length, o.groups);
    const q = quantizeDelta(delta, residual, { bits: o.bits, topk: o.topk, groupEnds });
    const expected = encodeUpdate({ ...header, bits: o.bits, elements: delta.length, scales: q.scales, groupEnds, indices: q.indices, values: q.values });
    assert.deepEqual(Buffer.from(message), Buffer.from(expected), `round ${round} (${JSON.stringify(o)}): messages differ`);
    assert.deepEqual(trainer.residual, q.residual, `round ${round}: residuals differ`);
    const decoded = decodeUpdate(message);
    assert.equal(decoded.values.length, Math.ceil(o.topk * delta.length));
    assert.deepEqual([decoded.modelVersion, decoded.clientId, decoded.round, decoded.sampleCount], [3, 17, round, 50]);
    residual = q.residual;
  }
  assert.throws(() => trainer.exportUpdate({ bits: 8, topk: 0, groups: 4, modelVersion: 1, clientId: 1, round: 0, sampleCount: 1 }), /refused/);
  assert.throws(() => trainer.exportUpdate({ bits: 8, topk: 0.1, groups: 257, modelVersion: 1, clientId: 1, round: 0, sampleCount: 1 }), /refused/);
});

test("the module applies a global delta message, and refuses corrupt ones without changing anything", async () => {
  const { quantizeDelta, dequantizeUpdate, tensorGroups } = await import("../host/fl/quantize");
  const { decodeUpdate, encodeUpdate } = await import("../host/fl/update-format");
  const trainer = new HeadTrainer(spec(0.05, 10));
  const n = trainer.parameterCount;
  // A server step: small changes everywhere, a few large ones.
  const step = Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 0.1 : 0.002) * gaussian());
  for (const [bits, topk] of [[8, 1], [4, 0.2]] as const) {
    const q = quantizeDelta(step, new Float32Array(n), { bits, topk, groupEnds: tensorGroups([4096, 640, 64, 10]) });
    const message = encodeUpdate({ modelVersion: 2, clientId: 0, round: 1, sampleCount: 600, bits, elements: n, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
    const sent = dequantizeUpdate(decodeUpdate(message));
    trainer.beginRound();
    const before = trainer.weights();
    for (const corrupt of [message.subarray(0, message.length - 1), Uint8Array.from(message, (b, i) => (i === 50 ? b ^ 1 : b))]) {
      assert.throws(() => trainer.applyUpdate(corrupt), /refused the global delta/);
      assert.deepEqual(trainer.weights(), before, "a refused message changed the head");
    }
    trainer.applyUpdate(message);
    // Each parameter moved by the sent value, to within half of its finest
    // unit (the rounding) plus the float32 rounding of the two reals.
    const moved = trainer.delta();
    const s = trainer.scales;
    const unit = (i: number) => (i < 4096 ? s.w1 / 65536 : i < 4736 ? s.w2 / 65536 : i < 4800 ? 0.05 * s.w1 : s.hidden * s.w2);
    let worst = 0;
    moved.forEach((m, i) => (worst = Math.max(worst, Math.abs(m - sent[i]) / unit(i))));
    assert.ok(worst <= 0.6, `worst error ${worst} units`);
    assert.ok(sent.some((v) => v !== 0));
  }
});

test("revert puts the head back where the round began and keeps the error feedback", () => {
  const trainer = new HeadTrainer(spec(0.05, 10));
  trainer.beginRound();
  const start = trainer.weights();
  for (let n = 0; n < 30; n++) {
    trainer.accumulate(sample(n % CLASSES), n % CLASSES);
    if (n % 10 === 9) trainer.update();
  }
  trainer.exportUpdate({ bits: 8, topk: 0.1, groups: "tensor", modelVersion: 1, clientId: 1, round: 0, sampleCount: 30 });
  const residual = trainer.residual;
  assert.notDeepEqual(trainer.weights(), start, "training changed nothing");
  trainer.revert();
  assert.deepEqual(trainer.weights(), start);
  assert.deepEqual(trainer.residual, residual);
  assert.ok(residual.some((r) => r !== 0));
});

test("mutated global-delta messages are applied whole or refused with nothing changed, never a trap", async () => {
  const { quantizeDelta, tensorGroups } = await import("../host/fl/quantize");
  const { encodeUpdate } = await import("../host/fl/update-format");
  const { crc32 } = await import("../host/crc32");
  const trainer = new HeadTrainer(spec(0.05, 10));
  const n = trainer.parameterCount;
  const step = Float32Array.from({ length: n }, () => 0.002 * gaussian());
  const q = quantizeDelta(step, new Float32Array(n), { bits: 4, topk: 0.1, groupEnds: tensorGroups([4096, 640, 64, 10]) });
  const message = encodeUpdate({ modelVersion: 1, clientId: 0, round: 0, sampleCount: 1, bits: 4, elements: n, scales: q.scales, groupEnds: q.groupEnds, indices: q.indices, values: q.values });
  let refused = 0, applied = 0;
  for (let t = 0; t < 400; t++) {
    const m = message.slice(0, t % 7 === 0 ? random(message.length) : message.length);
    for (let flips = 1 + random(4); flips > 0 && m.length > 0; flips--) m[random(m.length)] = random(256);
    if (t % 4 !== 0 && m.length >= 4) new DataView(m.buffer).setUint32(m.length - 4, crc32(m.subarray(0, m.length - 4)), true);
    const before = trainer.weights();
    try {
      trainer.applyUpdate(m);
      applied++;
    } catch (e) {
      assert.match((e as Error).message, /refused the global delta|exceeds/, `mutation ${t}`);
      assert.deepEqual(trainer.weights(), before, `mutation ${t}: a refused message changed the head`);
      refused++;
    }
  }
  assert.ok(refused > 100 && applied > 10, `${refused} refused, ${applied} applied`);
});

test("a short federated run: non-IID trainers, int8 top-10% updates, FedAvg, raises held-out accuracy", async () => {
  const { RoundAggregator, parseConfig } = await import("../host/fl/aggregate");
  const config = parseConfig({ rounds: 6, clients_per_round: 6, lr: 0.05, update_bits: 8, topk: 0.1, clip_norm: 50, reject_norm: 500 });
  const start = spec(0.05, 10);
  // Every client starts from the same global head, so they share scales.
  // Each client's trainer keeps its error-feedback residual between rounds.
  const clients: { trainer: HeadTrainer; classes: number[] }[] = Array.from({ length: 6 }, (_, c) => ({
    trainer: new HeadTrainer(start),
    classes: [(2 * c) % CLASSES, (2 * c + 1) % CLASSES, (2 * c + 5) % CLASSES], // non-IID: three classes each
  }));
  const evaluator = new HeadTrainer(start);
  const test = Array.from({ length: 200 }, (_, i) => ({ x: sample(i % CLASSES), y: i % CLASSES }));
  const accuracy = () => test.filter((t) => evaluator.predict(t.x) === t.y).length / test.length;
  let global = evaluator.weights();
  const before = accuracy();
  let uplink = 0;
  for (let round = 0; round < config.rounds; round++) {
    const aggregator = new RoundAggregator(config, 1, global.length, round);
    for (const [id, client] of clients.entries()) {
      client.trainer.setWeights(global);
      client.trainer.beginRound();
      for (let step = 0; step < 10; step++) {
        for (let b = 0; b < 10; b++) {
          const y = client.classes[random(client.classes.length)];
          client.trainer.accumulate(sample(y), y);
        }
        client.trainer.update();
      }
      // The update message comes out of the module.
      const message = client.trainer.exportUpdate({ bits: config.update_bits, topk: config.topk, groups: 2, modelVersion: 1, clientId: id, round, sampleCount: 100 });
      uplink += message.length;
      aggregator.accept(message);
    }
    const step = aggregator.average();
    global = Float32Array.from(global, (w, i) => w + step[i]);
    evaluator.setWeights(global);
  }
  const after = accuracy();
  assert.ok(after > before + 0.3 && after > 0.6, `held-out accuracy ${before} -> ${after}`);
  // Each update is far smaller than the float32 weights (4 bytes each).
  assert.ok(uplink / (config.rounds * clients.length) < (global.length * 4) / 16, `uplink ${uplink / 36} bytes per client per round`);
});

test("federated run on real Fashion-MNIST (frozen ResNet-8 backbone features): held-out accuracy rises above 55%", {
  skip: existsSync(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")) ? false : "dataset-fashion-mnist not installed (host/c/install-toolchain.sh)",
}, () => {
  const backbone = new Backbone(new Uint8Array(readFileSync(join(modelsDir(), "ic", "model.tflite"))));
  const train = readFashionMnist("train", 1000), held = readFashionMnist("t10k", 300);
  const xs = train.images.map((im) => backbone.features(im)), ts = held.images.map((im) => backbone.features(im));
  const q = backbone.featureQuantization;
  const init = (n: number) => Float32Array.from({ length: n }, () => gaussian() * Math.sqrt(2 / 64));
  const head: HeadSpec = {
    inDim: 64, hidden: 64, classes: 10, w1: init(64 * 64), w2: init(10 * 64), inputScale: q.scale, inputZeroPoint: q.zeroPoint,
    hiddenRange: 8, logitRange: 16, weightHeadroom: 4, lr: 0.1, batch: 20,
  };
  // Non-IID: each of 10 clients holds mostly two classes (its own and the
  // next), plus a fifth of its share drawn from every class.
  const clients = Array.from({ length: 10 }, (_, c) => ({
    trainer: new HeadTrainer(head),
    examples: xs.map((x, i) => ({ x, y: train.labels[i] }))
      .filter((e, i) => ((e.y === c || e.y === (c + 1) % 10) && i % 2 === c % 2) || i % 50 === c * 5),
  }));
  const evaluator = new HeadTrainer(head);
  const accuracy = () => ts.filter((x, i) => evaluator.predict(x) === held.labels[i]).length / ts.length;
  let global = evaluator.weights();
  const before = accuracy();
  for (let round = 0; round < 10; round++) {
    const sum = new Float32Array(global.length);
    let samples = 0;
    for (const client of clients) {
      client.trainer.setWeights(global);
      for (let epoch = 0; epoch < 2; epoch++) {
        client.examples.forEach((e, i) => {
          client.trainer.accumulate(e.x, e.y);
          if ((i + 1) % head.batch === 0) client.trainer.update();
        });
        client.trainer.update();
      }
      const local = client.trainer.weights();
      local.forEach((w, i) => (sum[i] += client.examples.length * (w - global[i])));
      samples += client.examples.length;
    }
    global = Float32Array.from(global, (w, i) => w + sum[i] / samples);
    evaluator.setWeights(global);
  }
  const after = accuracy();
  assert.ok(after > 0.55, `held-out accuracy ${before} -> ${after}`);
});
