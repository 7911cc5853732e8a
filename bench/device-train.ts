// `npm run bench:device-train`: training on the emulated Cortex-M4
// (mps2-an386): guest instructions per backbone image, per sample's
// gradients, per batch step and per update export (QEMU plugin, differences
// of runs that stop after each part), flash and RAM, for the fleet
// experiment's 64 -> 64 -> 10 head on Fashion-MNIST features the device
// computes with the ic backbone, and per signed global delta (the Ed25519
// check, then revert + apply). Writes build/device-train.json.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { measureTrainOnBoard } from "../host/boards/train";
import { missingTools } from "../host/boards/build";
import { Backbone, backboneFeatureModel, readFashionMnist } from "../host/fl/fashion-mnist";
import { globalDelta } from "../host/fl/global-delta";
import { keyPairFromSeed, signDelta } from "../host/fl/signing";
import { HeadTrainer } from "../host/fl/trainer";
import { findModelsDir, MISSING_MODELS_HINT } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";

const EXAMPLES = 20, BATCH = 10, EPOCHS = 1;

function main(): number {
  const missing = missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c"]);
  if (missing.length) { console.error(`missing ${missing.join(", ")}: run host/c/install-toolchain.sh`); return 1; }
  const dir = findModelsDir();
  if (!dir) { console.error(MISSING_MODELS_HINT); return 1; }
  const ic = new Uint8Array(readFileSync(join(dir, "ic", "model.tflite")));
  const q = new Backbone(ic).featureQuantization;
  const { images, labels } = readFashionMnist("train", EXAMPLES);
  let seed = 1;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const init = (n: number) => Float32Array.from({ length: n }, () => random() * 0.6);
  const trainer = new HeadTrainer({ inDim: 64, hidden: 64, classes: 10, w1: init(4096), w2: init(640), inputScale: q.scale, inputZeroPoint: q.zeroPoint,
    hiddenRange: 8, logitRange: 16, weightHeadroom: 4, lr: 0.1, batch: BATCH });
  // A server's signed delta of the fleet's size, as the round servers make it (global-delta.ts).
  // Signed with a fixed key, so the check's count repeats (it depends on the key and the signature).
  const key = keyPairFromSeed(new Uint8Array(32).fill(7)), fleet = { fleet: "bench", publicKey: key.publicKey };
  const weights = trainer.weights();
  const delta = globalDelta(weights, Float32Array.from(weights, (w, i) => w + 0.001 * ((i % 7) - 3)), 0, 1, 100).delta;
  const signedDelta = signDelta(delta, fleet.fleet, key.privateKey);
  const rows = [];
  for (const update of [{ bits: 8, topk: 1 }, { bits: 8, topk: 0.1 }, { bits: 4, topk: 0.1 }] as const) {
    const m = measureTrainOnBoard({ board: "mps2-an386", name: `bench-${update.bits}-${update.topk}`, head: trainer.image(), labels, images, backbone: backboneFeatureModel(ic),
      epochs: EPOCHS, batch: BATCH, update: { ...update, groups: "tensor", modelVersion: 1, clientId: 1 },
      fleet: { name: fleet.fleet, serverPublicKey: fleet.publicKey }, signedDelta: rows.length === 0 ? signedDelta : undefined });
    rows.push({ update: `${update.bits}-bit, top ${update.topk * 100}%`, ...m });
    console.error(`measured ${rows.at(-1)!.update}`);
  }
  const m = rows[0];
  console.log(`mps2-an386 (Cortex-M4), 64 -> 64 -> 10 head, ${EXAMPLES} examples, batch ${BATCH}`);
  console.log(`  backbone features (ic ResNet-8, from flash): ${m.instructionsPerImage!.toLocaleString("en-US")} instructions per image`);
  console.log(`  per sample (wisp_train_accumulate): ${m.instructionsPerSample.toLocaleString("en-US")} instructions`);
  console.log(`  per batch step (wisp_train_update): ${m.instructionsPerStep.toLocaleString("en-US")} instructions`);
  console.log(`  per signed global delta (${signedDelta.length} bytes): check ${m.instructionsPerVerify!.toLocaleString("en-US")} instructions (Ed25519), then revert + apply ${m.instructionsPerApply!.toLocaleString("en-US")}`);
  for (const r of rows) console.log(`  per export (${r.update}): ${r.instructionsPerExport.toLocaleString("en-US")} instructions, ${r.updateBytes} bytes`);
  console.log(`  flash ${m.flashBytes} bytes (of which data ${m.dataFlashBytes}: backbone model, head image, images, labels)`);
  console.log(`  RAM ${m.ramBytes} bytes (.data + .bss + heap + peak stack ${m.peakStackBytes}); linear memories: inference ${m.inferenceMemoryBytes}, trainer ${m.trainerMemoryBytes}`);
  mkdirSync(join(PACKAGE_ROOT, "build"), { recursive: true });
  writeFileSync(join(PACKAGE_ROOT, "build", "device-train.json"), JSON.stringify(rows, null, 2) + "\n");
  return 0;
}

process.exitCode = main();
