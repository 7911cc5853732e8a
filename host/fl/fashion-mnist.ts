// Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX files), and
// its images as features of the frozen MLPerf Tiny image-classification
// backbone (ResNet-8): 28x28 padded to 32x32 with black, gray copied to three
// channels, q = pixel - 128 (the model's input is scale 1, zero point -128),
// the 64 values of its global average pool as int8.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { fail } from "../errors";
import { loadSync, Model } from "../node/api";
import { convertTflite } from "../convert";
import { FlatBuffer } from "../convert/flatbuffer";
import { Builtin, readTflite } from "../convert/tflite";

export const FASHION_MNIST_DIR = process.env.WISP_FASHION_MNIST ?? "/usr/share/datasets/fashion-mnist";

export interface Images {
  images: Uint8Array[]; // 28 x 28 gray
  labels: Uint8Array;
}

function idx(path: string, magic: number): Buffer {
  if (!existsSync(path)) fail("IO", `${path} not found: install Debian's dataset-fashion-mnist (host/c/install-toolchain.sh)`);
  const data = gunzipSync(readFileSync(path));
  if (data.readUInt32BE(0) !== magic) fail("IO", `${path} is not an IDX file of the expected kind`);
  return data;
}

export function readFashionMnist(split: "train" | "t10k", limit = Infinity): Images {
  const images = idx(join(FASHION_MNIST_DIR, `${split}-images-idx3-ubyte.gz`), 0x803);
  const labels = idx(join(FASHION_MNIST_DIR, `${split}-labels-idx1-ubyte.gz`), 0x801);
  const count = Math.min(limit, images.readUInt32BE(4), labels.readUInt32BE(4));
  return {
    images: Array.from({ length: count }, (_, i) => new Uint8Array(images.subarray(16 + i * 784, 16 + (i + 1) * 784))),
    labels: new Uint8Array(labels.subarray(8, 8 + count)),
  };
}

export class Backbone {
  readonly model: Model;
  private readonly poolOp: number;
  constructor(icModel: Uint8Array) {
    this.model = loadSync(icModel);
    this.poolOp = this.model.info.ops.findIndex((o) => o.op === "AVERAGE_POOL_2D" || o.op === "MEAN");
    if (this.poolOp < 0) fail("BAD_MODEL", "the backbone has no global pooling op");
  }

  get featureQuantization(): { scale: number; zeroPoint: number } {
    const op = this.model.info.ops[this.poolOp];
    return { scale: op.outputScale, zeroPoint: op.outputZeroPoint };
  }

  features(image: Uint8Array): Int8Array {
    return this.model.trace(backboneInput(image))[this.poolOp];
  }
}

// The backbone's input for a 28 x 28 gray image (firmware/train.c does the same).
export function backboneInput(image: Uint8Array): Int8Array {
  const input = new Int8Array(32 * 32 * 3).fill(-128);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const q = image[y * 28 + x] - 128;
    const at = ((y + 2) * 32 + x + 2) * 3;
    input[at] = input[at + 1] = input[at + 2] = q;
  }
  return input;
}

// The backbone as a model of its own: the ic .tflite cut after its global
// pooling, whose output is then the features, as a .wisp for a device's
// inference module (the ops are the same, so the bytes are Backbone's).
// The cut is made in place: the operator list ends at the pooling op, and
// the graph's one output becomes the pooling op's output tensor.
export function backboneFeatureModel(icModel: Uint8Array): Uint8Array {
  const m = readTflite(icModel);
  const pool = m.operators.findIndex((o) => o.builtin === Builtin.AVERAGE_POOL_2D || o.builtin === Builtin.MEAN);
  if (pool < 0) fail("BAD_MODEL", "the backbone has no global pooling op");
  const bytes = icModel.slice();
  const fb = new FlatBuffer(bytes);
  const graph = fb.root().tables(2)[0];
  const operators = graph.vector(3, 4), outputs = graph.vector(2, 4);
  if (outputs.length !== 1) fail("BAD_MODEL", "the backbone has more than one output");
  fb.view.setUint32(operators.start - 4, pool + 1, true);
  fb.view.setInt32(outputs.start, m.operators[pool].outputs[0], true);
  return convertTflite(bytes).wisp;
}
