// A worker of the fleet experiment: it plays many devices, one task at a
// time, each with a real instance of the Wisp trainer (or the float head for
// the reference curve), and computes backbone features when asked.
import { parentPort, workerData } from "node:worker_threads";
import { Backbone, readFashionMnist } from "./fashion-mnist";
import { FloatHead } from "./float-head";
import { HeadSpec, HeadTrainer } from "./trainer";

export interface WorkerSetup {
  icModel?: Uint8Array; // for feature tasks
  features?: SharedArrayBuffer; // int8 [examples][64]
  labels?: SharedArrayBuffer;
  head?: HeadSpec;
}

export type Task =
  | { kind: "features"; split: "train" | "t10k"; start: number; end: number }
  | { kind: "quantized"; client: number; round: number; examples: number[]; global: Float32Array; residual: Float32Array; bits: 8 | 4; topk: number; epochs: number }
  | { kind: "float"; examples: number[]; global: Float32Array; lr: number; batch: number; epochs: number; scale: number; zeroPoint: number };

const setup = workerData as WorkerSetup;
let backbone: Backbone | null = null;
let trainer: HeadTrainer | null = null;

function feature(i: number): Int8Array {
  return new Int8Array(setup.features!, i * 64, 64);
}

parentPort!.on("message", (task: Task) => {
  if (task.kind === "features") {
    backbone ??= new Backbone(setup.icModel!);
    const { images } = readFashionMnist(task.split, task.end);
    const out = new Int8Array((task.end - task.start) * 64);
    for (let i = task.start; i < task.end; i++) out.set(backbone.features(images[i]), (i - task.start) * 64);
    parentPort!.postMessage(out);
  } else if (task.kind === "quantized") {
    trainer ??= new HeadTrainer(setup.head!);
    const labels = new Uint8Array(setup.labels!);
    // This worker plays many devices: each brings its residual along.
    trainer.setWeights(task.global);
    trainer.residual = task.residual;
    trainer.beginRound();
    for (let e = 0; e < task.epochs; e++) {
      task.examples.forEach((i, n) => {
        trainer!.accumulate(feature(i), labels[i]);
        if ((n + 1) % setup.head!.batch === 0) trainer!.update();
      });
      trainer.update();
    }
    // The device's update message, made by its trainer module.
    const update = trainer.exportUpdate({ bits: task.bits, topk: task.topk, groups: "tensor", modelVersion: 1, clientId: task.client, round: task.round, sampleCount: task.examples.length });
    parentPort!.postMessage({ update, residual: trainer.residual });
  } else {
    const labels = new Uint8Array(setup.labels!);
    const head = new FloatHead(64, 64, 10, task.global.slice());
    const xs = task.examples.map((i) => Float32Array.from(feature(i), (q) => (q - task.zeroPoint) * task.scale));
    for (let e = 0; e < task.epochs; e++) head.train(xs, task.examples.map((i) => labels[i]), task.lr, task.batch);
    parentPort!.postMessage({ delta: Float32Array.from(head.params, (w, i) => w - task.global[i]) });
  }
});
