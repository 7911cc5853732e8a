// `npm run fl:experiment [config.json]`: federated training of a 64->64->10
// head on Fashion-MNIST features from the frozen MLPerf Tiny ResNet-8, over
// 100 simulated devices (Dirichlet alpha 0.5 over labels), each round's
// devices played by worker threads running real Wisp trainer instances.
// Writes build/fl-report/report.md and accuracy.svg with the curves: float
// FedAvg, int8 updates, int8 top-10%, 4-bit top-10%, with secure_aggregation
// int8 top-10% under pairwise masks (10% of clients dropping out), and
// central training. In every round of the quantized curves one of the
// devices is the emulated Cortex-M4 (host/boards/firmware/train.c under
// QEMU, through the device bridge): it trains in firmware, its update goes
// into the round like any other, and it takes the round's signed global
// delta as a fleet server publishes it (global-delta.ts). The report gives
// its head's accuracy curve and checks, every round, that its update bytes
// equal a Node trainer's for the same data and seed, and its head after the
// delta too. `--no-device` leaves it out (QEMU or the Arm compiler missing).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { FlConfig, parseConfig, RoundAggregator } from "../host/fl/aggregate";
import { dequantizeUpdate } from "../host/fl/quantize";
import { simulateSecureRound } from "../host/fl/secure-agg";
import { secureAverage, secureValues } from "../host/fl/secure-round";
import { decodeUpdate } from "../host/fl/update-format";
import { Backbone, readFashionMnist } from "../host/fl/fashion-mnist";
import { FloatHead } from "../host/fl/float-head";
import { HeadSpec, HeadTrainer } from "../host/fl/trainer";
import type { Task } from "../host/fl/fleet-worker";
import { findModelsDir, MISSING_MODELS_HINT } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { Progress, progressBar } from "../host/progress";
import { missingTools } from "../host/boards/build";
import { buildTrainFirmware } from "../host/boards/train";
import { DeviceBridge, startDeviceBridge } from "../host/fl/device-bridge";
import { provisionFleet } from "../host/fl/fleet-policy";
import { globalDelta } from "../host/fl/global-delta";
import { DeviceDeltas, privateKey, signDelta } from "../host/fl/signing";

const BOARD = "mps2-an386";

// The emulated device of one curve: its firmware behind the bridge, and a
// Node trainer (its twin) that does the same on the same data, to compare.
interface EmulatedDevice {
  bridge: DeviceBridge;
  updates: AsyncIterator<Uint8Array>;
  twin: HeadTrainer;
  deltas: DeviceDeltas;
  deviceModel: Float32Array; // what the server's deltas add up to (the device's view of the global)
  equalUpdates: number;
  equalHeads: number;
  rounds: number;
  roundTripMs: number[]; // per delta: sent over the UART, checked, applied, head image back
  points: [number, number][];
}

const DEVICES = 100, ALPHA = 0.5, BATCH = 20;
const OUT = join(PACKAGE_ROOT, "build", "fl-report");

let seed = 20261122;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
function gamma(shape: number): number { // Marsaglia-Tsang, with the shape < 1 boost
  if (shape < 1) return gamma(shape + 1) * Math.pow(random() + 1e-12, 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = gaussian(), v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(random() + 1e-12) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

class Pool {
  private workers: { worker: Worker; busy: boolean }[];
  private queue: { task: Task; resolve: (v: unknown) => void }[] = [];
  constructor(size: number, data: object) {
    this.workers = Array.from({ length: size }, () => ({ worker: new Worker(join(__dirname, "fl-worker.js"), { workerData: data }), busy: false }));
  }
  run<T>(task: Task): Promise<T> {
    return new Promise((resolve) => { this.queue.push({ task, resolve: resolve as (v: unknown) => void }); this.pump(); });
  }
  private pump(): void {
    for (const w of this.workers) {
      if (w.busy || this.queue.length === 0) continue;
      const { task, resolve } = this.queue.shift()!;
      w.busy = true;
      w.worker.once("message", (m) => { w.busy = false; resolve(m); this.pump(); });
      w.worker.postMessage(task);
    }
  }
  close(): Promise<number[]> { return Promise.all(this.workers.map((w) => w.worker.terminate())); }
}

// One bar per label, ended when it reaches its total.
const bars = new Map<string, Progress>();
function progress(label: string, done: number, total: number): void {
  if (!bars.has(label)) bars.set(label, progressBar(label, total));
  bars.get(label)!.update(done);
  if (done === total) bars.get(label)!.done();
}

async function backboneFeatures(icModel: Uint8Array, split: "train" | "t10k", count: number, threads: number): Promise<Int8Array> {
  const cache = join(PACKAGE_ROOT, "build", "fl-cache", `${split}-${count}.bin`);
  if (existsSync(cache)) return new Int8Array(readFileSync(cache));
  const pool = new Pool(threads, { icModel });
  const chunk = 500, parts: Promise<Int8Array>[] = [];
  let done = 0;
  for (let s = 0; s < count; s += chunk) {
    parts.push(pool.run<Int8Array>({ kind: "features", split, start: s, end: Math.min(count, s + chunk) }).then((r) => {
      progress(`features (${split})`, (done += Math.min(chunk, count - s)), count);
      return r;
    }));
  }
  const out = new Int8Array(count * 64);
  (await Promise.all(parts)).forEach((p, i) => out.set(p, i * chunk * 64));
  await pool.close();
  mkdirSync(join(PACKAGE_ROOT, "build", "fl-cache"), { recursive: true });
  writeFileSync(cache, out);
  return out;
}

function svg(curves: { name: string; points: [number, number][] }[], rounds: number): string {
  const W = 640, H = 400, L = 50, B = 40, colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#e6ab02", "#666666"];
  const x = (r: number) => L + ((W - L - 10) * r) / rounds, y = (a: number) => H - B - (H - B - 10) * a;
  const lines = curves.map((c, i) => `<polyline fill="none" stroke="${colors[i]}" stroke-width="2" points="${c.points.map(([r, a]) => `${x(r).toFixed(1)},${y(a).toFixed(1)}`).join(" ")}"/>`
    + `<text x="${W - 200}" y="${20 + 16 * i}" fill="${colors[i]}" font-size="12">${c.name}</text>`);
  const grid = [0, 0.2, 0.4, 0.6, 0.8, 1].map((a) => `<line x1="${L}" x2="${W - 10}" y1="${y(a)}" y2="${y(a)}" stroke="#ddd"/><text x="10" y="${y(a) + 4}" font-size="11">${(a * 100).toFixed(0)}%</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${grid.join("")}`
    + `<text x="${W / 2 - 60}" y="${H - 8}" font-size="12">round (of ${rounds})</text>${lines.join("")}</svg>\n`;
}

async function main(): Promise<number> {
  const dir = findModelsDir();
  if (!dir) { console.error(MISSING_MODELS_HINT); return 1; }
  const args = process.argv.slice(2);
  const withDevice = !args.includes("--no-device");
  const configPath = args.find((a) => !a.startsWith("--"));
  const unknown = args.filter((a) => a.startsWith("--") && a !== "--no-device");
  if (unknown.length) { console.error(`unknown option ${unknown[0]} (fl:experiment [config.json] [--no-device])`); return 1; }
  const missing = withDevice ? missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]) : [];
  if (missing.length) { console.error(`the emulated device needs ${missing.join(", ")} (host/c/install-toolchain.sh); or run with --no-device`); return 1; }
  const config: FlConfig = parseConfig(configPath ? JSON.parse(readFileSync(configPath, "utf8"))
    : { rounds: 100, clients_per_round: 50, local_epochs: 2, lr: 0.1, update_bits: 8, topk: 0.1, secure_aggregation: true, clip_norm: 100, reject_norm: 1000 });
  const threads = Math.max(1, cpus().length);
  const icModel = new Uint8Array(readFileSync(join(dir, "ic", "model.tflite")));
  const trainImages = readFashionMnist("train"), testImages = readFashionMnist("t10k");
  const started = Date.now();
  const trainX = await backboneFeatures(icModel, "train", trainImages.labels.length, threads);
  const testX = await backboneFeatures(icModel, "t10k", testImages.labels.length, threads);
  const q = new Backbone(icModel).featureQuantization;

  // Dirichlet(alpha) share of each class per device.
  const devices: number[][] = Array.from({ length: DEVICES }, () => []);
  for (let c = 0; c < 10; c++) {
    const shares = Array.from({ length: DEVICES }, () => gamma(ALPHA));
    const total = shares.reduce((a, b) => a + b, 0);
    const ids = Array.from(trainImages.labels.keys()).filter((i) => trainImages.labels[i] === c);
    let at = 0;
    shares.forEach((s, d) => { const n = Math.round((s / total) * ids.length); devices[d].push(...ids.slice(at, at + n)); at += n; });
  }
  // Each device's examples in a random order: gathered class by class, local
  // SGD would otherwise end every epoch on one class and drift toward it.
  for (const examples of devices) {
    for (let i = examples.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [examples[i], examples[j]] = [examples[j], examples[i]];
    }
  }
  // The emulated device: the first device with data (its examples' features go into its flash).
  const FW = devices.findIndex((e) => e.length > 0);
  const fleet = provisionFleet("experiment", DEVICES).server;
  const init = (n: number) => Float32Array.from({ length: n }, () => gaussian() * Math.sqrt(2 / 64));
  const head: HeadSpec = { inDim: 64, hidden: 64, classes: 10, w1: init(4096), w2: init(640), inputScale: q.scale, inputZeroPoint: q.zeroPoint,
    hiddenRange: 8, logitRange: 16, weightHeadroom: 4, lr: config.lr, batch: BATCH };
  const sharedFeatures = new SharedArrayBuffer(trainX.length);
  new Int8Array(sharedFeatures).set(trainX);
  const labels = new SharedArrayBuffer(trainImages.labels.length);
  new Uint8Array(labels).set(trainImages.labels);
  const pool = new Pool(threads, { features: sharedFeatures, labels, head });
  const evaluator = new HeadTrainer(head);
  const initial = evaluator.weights();
  const testF = (i: number): Int8Array => testX.subarray(i * 64, i * 64 + 64);
  const accuracyQuantized = (w: Float32Array) => { evaluator.setWeights(w); let ok = 0; for (let i = 0; i < testImages.labels.length; i++) if (evaluator.predict(testF(i)) === testImages.labels[i]) ok++; return ok / testImages.labels.length; };
  const accuracyFloat = (w: Float32Array) => { const h = new FloatHead(64, 64, 10, w); let ok = 0; for (let i = 0; i < testImages.labels.length; i++) if (h.predict(Float32Array.from(testF(i), (v: number) => (v - q.zeroPoint) * q.scale)) === testImages.labels[i]) ok++; return ok / testImages.labels.length; };
  const every = Math.max(1, Math.floor(config.rounds / 20));

  type Mode = { name: string; bits?: 8 | 4; topk?: number; secure?: boolean };
  const modes: Mode[] = [{ name: "float FedAvg" }, { name: "int8 updates", bits: 8, topk: 1 }, { name: "int8 + top-10%", bits: 8, topk: 0.1 }, { name: "4-bit + top-10%", bits: 4, topk: 0.1 }];
  if (config.secure_aggregation) modes.push({ name: "int8 + top-10%, secure", bits: 8, topk: 0.1, secure: true });
  const curves: { name: string; points: [number, number][]; uplink?: number }[] = [];
  const fwExamples = devices[FW] ?? [];
  const fwFeatures = new Int8Array(fwExamples.length * 64);
  fwExamples.forEach((i, k) => fwFeatures.set(trainX.subarray(i * 64, i * 64 + 64), k * 64));
  const accuracyTwin = (t: HeadTrainer) => { let ok = 0; for (let i = 0; i < testImages.labels.length; i++) if (t.predict(testF(i)) === testImages.labels[i]) ok++; return ok / testImages.labels.length; };
  const startDevice = async (mode: { bits?: 8 | 4; topk?: number }): Promise<EmulatedDevice> => {
    const built = buildTrainFirmware({ board: BOARD, name: `experiment-${mode.bits}-${mode.topk}`, head: new HeadTrainer(head).image(), labels: Uint8Array.from(fwExamples, (i) => trainImages.labels[i]),
      features: fwFeatures, epochs: config.local_epochs, batch: BATCH, rounds: config.rounds,
      update: { bits: mode.bits!, topk: mode.topk!, groups: "tensor", modelVersion: 1, clientId: FW }, fleet: { name: fleet.fleet, serverPublicKey: fleet.publicKey } });
    const bridge = await startDeviceBridge({ board: BOARD, elf: built.elf, timeoutMs: 24 * 3600_000 });
    const twin = new HeadTrainer(head);
    return { bridge, updates: bridge.updates[Symbol.asyncIterator](), twin, deltas: new DeviceDeltas(fleet.fleet, fleet.publicKey), deviceModel: initial.slice(),
      equalUpdates: 0, equalHeads: 0, rounds: 0, roundTripMs: [], points: [[0, accuracyTwin(twin)]] };
  };
  // One round of the twin, as train.c runs it.
  const twinUpdate = (t: HeadTrainer, round: number, bits: 8 | 4, topk: number) => {
    t.beginRound();
    for (let e = 0; e < config.local_epochs; e++) {
      fwExamples.forEach((i, n) => { t.accumulate(trainX.subarray(i * 64, i * 64 + 64), trainImages.labels[i]); if ((n + 1) % BATCH === 0) t.update(); });
      t.update();
    }
    return t.exportUpdate({ bits, topk, groups: "tensor", modelVersion: 1, clientId: FW, round, sampleCount: fwExamples.length });
  };
  const signingKey = privateKey(fleet.signingKey);
  const deviceReports: { name: string; device: EmulatedDevice }[] = [];
  for (const mode of modes) {
    let global: Float32Array = initial.slice();
    const residuals: Float32Array[] = devices.map(() => new Float32Array(initial.length));
    const points: [number, number][] = [[0, mode.bits ? accuracyQuantized(global) : accuracyFloat(global)]];
    let uplinkBytes = 0, messages = 0;
    const device = withDevice && mode.bits ? await startDevice(mode) : null;
    for (let round = 0; round < config.rounds; round++) {
      const chosen = Array.from({ length: DEVICES }, (_, d) => d).sort(() => random() - 0.5).slice(0, config.clients_per_round).filter((d) => devices[d].length > 0);
      if (device && !chosen.includes(FW)) chosen[chosen.length - 1] = FW; // the emulated device is in every round
      let step: Float32Array;
      if (mode.bits) {
        const fromDevice = device ? device.updates.next() : null;
        const results = await Promise.all(chosen.map((d) => d === FW && fromDevice
          ? fromDevice.then((r) => {
            if (r.done) throw new Error("the emulated device stopped");
            // Its update, and the twin's for the same data and seed.
            if (Buffer.from(r.value).equals(Buffer.from(twinUpdate(device!.twin, round, mode.bits!, mode.topk!)))) device!.equalUpdates++;
            return { update: r.value, residual: residuals[d] };
          })
          : pool.run<{ update: Uint8Array; residual: Float32Array }>({
            kind: "quantized", client: d, round, examples: devices[d], global, residual: residuals[d], bits: mode.bits!, topk: mode.topk!, epochs: config.local_epochs,
          })));
        if (mode.secure) {
          // The same updates under pairwise masks; 10% of the clients drop out after masking (never the emulated device).
          const dropped = new Set(chosen.filter((d) => random() < 0.1 && !(device && d === FW)));
          const values = new Map(results.map((r, k) => [chosen[k], secureValues(dequantizeUpdate(decodeUpdate(r.update)), devices[chosen[k]].length, config)]));
          const { survivors, sum } = simulateSecureRound(values, dropped, round, Math.floor(chosen.length / 2) + 1);
          results.forEach((r, k) => { if (!dropped.has(chosen[k])) residuals[chosen[k]] = r.residual; });
          step = secureAverage(sum, survivors.length, config);
          uplinkBytes += survivors.length * 4 * (global.length + 1);
          messages += survivors.length;
        } else {
          const aggregator = new RoundAggregator(config, 1, global.length, round);
          results.forEach((r, k) => { residuals[chosen[k]] = r.residual; aggregator.accept(r.update); uplinkBytes += r.update.length; messages++; });
          step = aggregator.average();
        }
      } else {
        const results = await Promise.all(chosen.map((d) => pool.run<{ delta: Float32Array }>({
          kind: "float", examples: devices[d], global, lr: config.lr, batch: BATCH, epochs: config.local_epochs, scale: q.scale, zeroPoint: q.zeroPoint,
        })));
        const total = chosen.reduce((s, d) => s + devices[d].length, 0);
        const mean = new Float32Array(global.length);
        results.forEach((r, k) => r.delta.forEach((v, i) => (mean[i] += (devices[chosen[k]].length / total) * v)));
        step = mean;
      }
      global = Float32Array.from(global, (w, i) => w + step[i]);
      const evaluate = (round + 1) % every === 0 || round + 1 === config.rounds;
      if (device) {
        // The round's signed global delta, as a round server publishes it, into the firmware and the twin.
        const d = globalDelta(device.deviceModel, global, round, 1, chosen.length);
        device.deviceModel = d.deviceModel;
        const signed = signDelta(d.delta, fleet.fleet, signingKey);
        const sentAt = performance.now();
        const { status, head: deviceHead } = await device.bridge.sendDelta(signed);
        device.roundTripMs.push(performance.now() - sentAt);
        if (status !== 0) throw new Error(`round ${round}: the emulated device refused the server's delta (status ${status})`);
        device.twin.applyGlobalDelta(signed, device.deltas);
        if (Buffer.from(deviceHead).equals(Buffer.from(device.twin.image()))) device.equalHeads++;
        device.rounds++;
        if (evaluate) device.points.push([round + 1, accuracyTwin(device.twin)]);
      }
      if (evaluate) points.push([round + 1, mode.bits ? accuracyQuantized(global) : accuracyFloat(global)]);
      progress(mode.name, round + 1, config.rounds);
    }
    curves.push({ name: mode.name, points, uplink: messages ? uplinkBytes / messages : global.length * 4 });
    if (device) {
      const { status, console: out } = await device.bridge.close();
      if (status !== 0) throw new Error(`the emulated device exited with ${status}: ${out.trim()}`);
      deviceReports.push({ name: mode.name, device });
    }
  }
  // Central training of the same head in float: the ceiling.
  const central = new FloatHead(64, 64, 10, initial.slice());
  const allX = Array.from({ length: trainImages.labels.length }, (_, i) => Float32Array.from(trainX.subarray(i * 64, i * 64 + 64), (v: number) => (v - q.zeroPoint) * q.scale));
  const centralPoints: [number, number][] = [[0, accuracyFloat(central.params)]];
  for (let epoch = 1; epoch <= 10; epoch++) {
    central.train(allX, Array.from(trainImages.labels), config.lr, BATCH);
    centralPoints.push([Math.round((epoch * config.rounds) / 10), accuracyFloat(central.params)]);
    progress("central (10 epochs)", epoch, 10);
  }
  curves.push({ name: "central (float)", points: centralPoints });
  await pool.close();

  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "accuracy.svg"), svg(curves, config.rounds));
  const float32Bytes = initial.length * 4;
  const rows = curves.map((c) => `| ${c.name} | ${(100 * c.points[c.points.length - 1][1]).toFixed(1)}% | ${c.uplink ? `${Math.round(c.uplink)} (${(c.uplink / float32Bytes).toFixed(3)} of float32)` : "n/a"} |`);
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  writeFileSync(join(OUT, "report.md"), `# Federated Fashion-MNIST with Wisp trainers

${DEVICES} devices (Dirichlet alpha ${ALPHA} over labels), ${config.clients_per_round} per round, ${config.rounds} rounds,
${config.local_epochs} local epoch(s), lr ${config.lr}, batch ${BATCH}; head 64->64->10 on frozen ResNet-8 features;
${threads} worker threads; wall time ${minutes} min (features cached after the first run).

| Curve | Test accuracy at the end | Uplink bytes per client per round |
|---|---|---|
${rows.join("\n")}

![accuracy](accuracy.svg)

Central training: 10 epochs over all ${trainImages.labels.length} images, plotted across the same x axis.

${config.secure_aggregation ? `Secure: 10% of each round's clients drop out after masking; uplink counts the masked int32
vector only, not the 32-byte key shares each client hands out per peer.
` : ""}${withDevice ? `
## The emulated device

In every round of the quantized curves, device ${FW} (${fwExamples.length} examples) is an emulated Cortex-M4 (${BOARD}, QEMU):
the trainer module runs in its firmware on the examples' backbone features (in its flash), its update message comes out of the
UART into the round, and the round's signed global delta goes back in, checked (Ed25519, fleet, round) and applied there. A Node
trainer does the same on the same data and seed; the bytes are compared every round.

| Curve | Device head accuracy by round | Update bytes equal Node's | Head equal Node's after the delta | Delta round trip (UART, check, apply), mean |
|---|---|---|---|---|
${deviceReports.map(({ name, device: d }) => `| ${name} | ${d.points.map(([r, a]) => `${r}: ${(100 * a).toFixed(1)}%`).join(", ")} | ${d.equalUpdates} of ${d.rounds} rounds | ${d.equalHeads} of ${d.rounds} | ${(d.roundTripMs.reduce((a, b) => a + b, 0) / Math.max(1, d.roundTripMs.length)).toFixed(0)} ms |`).join("\n")}
` : "\nRun without the emulated device (--no-device).\n"}`);
  console.log(readFileSync(join(OUT, "report.md"), "utf8"));
  const differs = deviceReports.filter(({ device: d }) => d.equalUpdates !== d.rounds || d.equalHeads !== d.rounds);
  if (differs.length) { console.error(`the emulated device's bytes differ from Node's (${differs.map((d) => d.name).join(", ")})`); return 1; }
  return 0;
}

main().then((code) => (process.exitCode = code), (e) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 1; });
