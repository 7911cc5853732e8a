// Host side of the on-device trainer (build/wisp-train.wasm): quantizes a
// float head into the trainer's int8 weights and fixed-point parameters, and
// drives training. Every device of a fleet runs one instance.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as F from "../../assembly/format";
import { quantizeMultiplier, roundHalfAwayFromZero, softmaxParams } from "../quant";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "../node/package-root";
import { HEAD_IMAGE_MAGIC, HEAD_PARAM_WORDS, headImageLayout } from "./head-image";
import type { DeviceDeltas } from "./signing";
import { hostKernelImports } from "../node/host-kernels";

const P = {
  IN: 0, HIDDEN: 1, CLASSES: 2, IN_ZP: 3, HIDDEN_ZP: 4, LOGIT_ZP: 5, L1_MULT: 6, L1_SHIFT: 7, L2_MULT: 8, L2_SHIFT: 9,
  SOFTMAX_MULT: 10, SOFTMAX_SHIFT: 11, SOFTMAX_DIFF_MIN: 12, W1_STEP_MULT: 13, W1_STEP_SHIFT: 14, W2_STEP_MULT: 15,
  W2_STEP_SHIFT: 16, B1_MULT: 17, B1_SHIFT: 18, B2_MULT: 19, B2_SHIFT: 20,
};

export interface HeadSpec {
  inDim: number;
  hidden: number;
  classes: number;
  w1: Float32Array; // [hidden][in]
  w2: Float32Array; // [classes][hidden]
  inputScale: number; // the int8 features' quantization
  inputZeroPoint: number;
  hiddenRange: number; // largest hidden activation to represent
  logitRange: number; // largest |logit| to represent
  weightHeadroom: number; // weight scale = headroom * max|w| / 127, so weights can grow
  lr: number;
  batch: number;
}

interface TrainerExports {
  memory: WebAssembly.Memory;
  [name: string]: unknown;
}

let compiled: WebAssembly.Module | null = null;

function instantiateTrainer(): TrainerExports {
  compiled ??= new WebAssembly.Module(readFileSync(join(PACKAGE_ROOT, "build", "wisp-train.wasm")));
  // The trainer shares the kernels, so it links the same imports; it never streams weights.
  const env = { abort: () => fail("RUNTIME", "the trainer aborted"), wisp_read: () => fail("RUNTIME", "the trainer reads no streamed model") };
  return new WebAssembly.Instance(compiled, { env, wisp_kernels: hostKernelImports(() => { throw new Error("no host kernels in the trainer"); }, 0) }).exports as TrainerExports;
}

// Linear memory a trainer of these sizes uses (static data and its
// region): what a device's static buffer for the module must hold.
export function trainerMemoryBytes(inDim: number, hidden: number, classes: number): number {
  const x = instantiateTrainer();
  const call = (name: string, ...args: number[]) => (x[name] as (...a: number[]) => number)(...args);
  if (call("wisp_train_init", inDim, hidden, classes) !== 0) fail("BAD_CONFIG", "the trainer cannot hold this head");
  return call("wisp_train_params_ptr") + call("wisp_train_region_bytes");
}

export class HeadTrainer {
  readonly scales: { w1: number; w2: number; hidden: number; logits: number };
  private readonly units: [number, number, number, number];
  private readonly x: TrainerExports;
  private readonly call: (name: string, ...args: number[]) => number;

  constructor(readonly spec: HeadSpec) {
    this.x = instantiateTrainer();
    this.call = (name, ...args) => (this.x[name] as (...a: number[]) => number)(...args);
    const { inDim, hidden, classes } = spec;
    if (this.call("wisp_train_init", inDim, hidden, classes) !== 0) fail("BAD_CONFIG", "the trainer cannot hold this head");
    const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-8);
    const s = {
      w1: Math.fround((spec.weightHeadroom * maxAbs(spec.w1)) / 127),
      w2: Math.fround((spec.weightHeadroom * maxAbs(spec.w2)) / 127),
      hidden: Math.fround(spec.hiddenRange / 255),
      logits: Math.fround((2 * spec.logitRange) / 255),
    };
    this.scales = s;
    const m = (real: number) => quantizeMultiplier(real);
    const l1 = m((spec.inputScale * s.w1) / s.hidden), l2 = m((s.hidden * s.w2) / s.logits);
    const soft = softmaxParams(1, s.logits);
    const q16 = 65536;
    const w1Step = m((spec.lr * s.w2 * spec.inputScale * q16) / (s.w1 * spec.batch));
    const w2Step = m((spec.lr * s.hidden * q16) / (256 * s.w2 * spec.batch));
    const b1 = m((spec.lr * s.w2) / (spec.inputScale * s.w1 * spec.batch));
    const b2 = m(spec.lr / (256 * s.hidden * s.w2 * spec.batch));
    const words: Record<number, number> = {
      [P.IN]: inDim, [P.HIDDEN]: hidden, [P.CLASSES]: classes, [P.IN_ZP]: spec.inputZeroPoint, [P.HIDDEN_ZP]: -128, [P.LOGIT_ZP]: 0,
      [P.L1_MULT]: l1.multiplier, [P.L1_SHIFT]: l1.shift, [P.L2_MULT]: l2.multiplier, [P.L2_SHIFT]: l2.shift,
      [P.SOFTMAX_MULT]: soft.multiplier, [P.SOFTMAX_SHIFT]: soft.leftShift, [P.SOFTMAX_DIFF_MIN]: soft.diffMin,
      [P.W1_STEP_MULT]: w1Step.multiplier, [P.W1_STEP_SHIFT]: w1Step.shift, [P.W2_STEP_MULT]: w2Step.multiplier, [P.W2_STEP_SHIFT]: w2Step.shift,
      [P.B1_MULT]: b1.multiplier, [P.B1_SHIFT]: b1.shift, [P.B2_MULT]: b2.multiplier, [P.B2_SHIFT]: b2.shift,
    };
    const params = new Int32Array(this.x.memory.buffer, this.call("wisp_train_params_ptr"), 21);
    for (const [k, v] of Object.entries(words)) params[Number(k)] = v;
    const q = (v: Float32Array, scale: number) => Int8Array.from(v, (w) => Math.max(-127, Math.min(127, roundHalfAwayFromZero(w / scale))));
    new Int8Array(this.x.memory.buffer, this.call("wisp_train_weights1_ptr"), hidden * inDim).set(q(spec.w1, s.w1));
    new Int8Array(this.x.memory.buffer, this.call("wisp_train_weights2_ptr"), classes * hidden).set(q(spec.w2, s.w2));
    this.call("wisp_train_prepare");
    // One fine unit of each layer, for the update the module exports.
    this.units = [s.w1 / 65536, s.w2 / 65536, spec.inputScale * s.w1, s.hidden * s.w2];
    this.call("wisp_train_units", ...this.units);
  }

  get parameterCount(): number {
    const { inDim, hidden, classes } = this.spec;
    return hidden * inDim + classes * hidden + hidden + classes;
  }

  // Marks the head as it is now (the global model just set) as the round's start.
  beginRound(): void {
    this.call("wisp_train_begin_round");
  }

  // Puts the head back where the round began, keeping the error-feedback
  // residual (before applying the server's global delta).
  revert(): void {
    this.call("wisp_train_revert");
  }

  // The trainer's whole state (head-image.ts): what a device is provisioned
  // with, and what it reports after applying a global delta.
  image(): Uint8Array {
    const { inDim, hidden, classes } = this.spec;
    const l = headImageLayout({ inDim, hidden, classes, recordBytes: F.CHANNEL_RECORD_BYTES });
    const out = new Uint8Array(l.bytes);
    const v = new DataView(out.buffer);
    [HEAD_IMAGE_MAGIC, inDim, hidden, classes, F.CHANNEL_RECORD_BYTES].forEach((x, i) => v.setUint32(4 * i, x, true));
    this.units.forEach((u, i) => v.setFloat64(l.units + 8 * i, u, true));
    const mem = new Uint8Array(this.x.memory.buffer);
    const copy = (at: number, ptr: string, bytes: number) => out.set(mem.subarray(this.call(ptr), this.call(ptr) + bytes), at);
    copy(l.params, "wisp_train_params_ptr", 4 * HEAD_PARAM_WORDS);
    copy(l.w1, "wisp_train_weights1_ptr", hidden * inDim);
    copy(l.w2, "wisp_train_weights2_ptr", classes * hidden);
    copy(l.r1, "wisp_train_residuals1_ptr", 4 * hidden * inDim);
    copy(l.r2, "wisp_train_residuals2_ptr", 4 * classes * hidden);
    copy(l.rec1, "wisp_train_records1_ptr", F.CHANNEL_RECORD_BYTES * hidden);
    copy(l.rec2, "wisp_train_records2_ptr", F.CHANNEL_RECORD_BYTES * classes);
    copy(l.residual, "wisp_train_residual_ptr", 4 * l.parameters);
    return out;
  }

  // Each parameter's change since beginRound, as the module computes it.
  delta(): Float32Array {
    return Float32Array.from({ length: this.parameterCount }, (_, i) => this.call("wisp_train_delta", i));
  }

  // The error-feedback residual the module keeps between rounds (a fleet
  // simulation saves and restores it per device).
  get residual(): Float32Array {
    return new Float32Array(this.x.memory.buffer, this.call("wisp_train_residual_ptr"), this.parameterCount).slice();
  }

  set residual(values: Float32Array) {
    if (values.length !== this.parameterCount) fail("BAD_INPUT", `expected ${this.parameterCount} residuals, got ${values.length}`);
    new Float32Array(this.x.memory.buffer, this.call("wisp_train_residual_ptr"), this.parameterCount).set(values);
  }

  // Adds a global delta from the server (an update message) to the head,
  // inside the module; a refused message changes nothing.
  applyUpdate(message: Uint8Array): void {
    const capacity = this.call("wisp_train_message_capacity");
    if (message.length > capacity) fail("BAD_UPDATE", `a ${message.length}-byte message exceeds the trainer's ${capacity}-byte buffer`);
    new Uint8Array(this.x.memory.buffer, this.call("wisp_train_message_ptr"), message.length).set(message);
    const status = this.call("wisp_train_apply", message.length);
    const reasons = ["", "malformed update message", "update CRC mismatch", "the update is for a head of another size"];
    if (status !== 0) fail("BAD_UPDATE", `the trainer refused the global delta: ${reasons[status] ?? `code ${status}`}`);
  }

  // The server's signed global delta (global-delta.ts), as a device applies
  // it and as train.c does in firmware: refused whole (BAD_SIGNATURE, nothing
  // changes) unless the fleet's server signed it for a round newer than the
  // last applied; then the head goes back to the round's start and takes the
  // delta (if the module refuses it, BAD_UPDATE, the head stays at the
  // round's start). Returns the delta's round, now the last applied.
  applyGlobalDelta(signed: Uint8Array, deltas: DeviceDeltas): number {
    const { round, delta } = deltas.open(signed);
    this.revert();
    this.applyUpdate(delta);
    deltas.applied = round;
    return round;
  }

  // The round's update message, made inside the module (see update-format.ts),
  // with one scale per tensor (w1, w2, b1, b2) or per `groups` equal groups.
  exportUpdate(o: { bits: 8 | 4; topk: number; groups: number | "tensor"; modelVersion: number; clientId: number; round: number; sampleCount: number }): Uint8Array {
    const groups = o.groups === "tensor" ? 0 : o.groups;
    if (!Number.isInteger(groups) || groups < 0) fail("BAD_CONFIG", `groups must be "tensor" or a positive integer (got ${o.groups})`);
    const bytes = this.call("wisp_train_export", o.bits, o.topk, groups, o.modelVersion, o.clientId, o.round, o.sampleCount);
    if (bytes < 0) fail("BAD_CONFIG", `the trainer refused the update options (bits ${o.bits}, topk ${o.topk}, groups ${o.groups})`);
    return new Uint8Array(this.x.memory.buffer, this.call("wisp_train_message_ptr"), bytes).slice();
  }

  // Bytes of linear memory the trainer's state takes (its training arena).
  get regionBytes(): number {
    return this.call("wisp_train_region_bytes");
  }

  private setInput(features: Int8Array): void {
    if (features.length !== this.spec.inDim) fail("BAD_INPUT", `features have ${features.length} values, the head takes ${this.spec.inDim}`);
    new Int8Array(this.x.memory.buffer, this.call("wisp_train_input_ptr"), features.length).set(features);
  }

  predict(features: Int8Array): number {
    this.setInput(features);
    return this.call("wisp_train_predict");
  }

  accumulate(features: Int8Array, label: number): void {
    this.setInput(features);
    this.call("wisp_train_accumulate", label);
  }

  update(): number {
    return this.call("wisp_train_update");
  }

  // The int8 weights and Q16 residuals of both layers, as views.
  private state() {
    const { inDim, hidden, classes } = this.spec;
    const mem = this.x.memory.buffer;
    return [
      { w: new Int8Array(mem, this.call("wisp_train_weights1_ptr"), hidden * inDim), r: new Int32Array(mem, this.call("wisp_train_residuals1_ptr"), hidden * inDim), scale: this.scales.w1 },
      { w: new Int8Array(mem, this.call("wisp_train_weights2_ptr"), classes * hidden), r: new Int32Array(mem, this.call("wisp_train_residuals2_ptr"), classes * hidden), scale: this.scales.w2 },
    ];
  }

  // The int32 biases of both layers (in their channel records) and their scales.
  private biases() {
    const { hidden, classes } = this.spec;
    const mem = this.x.memory.buffer;
    const words = F.CHANNEL_RECORD_BYTES / 4;
    return [
      { records: new Int32Array(mem, this.call("wisp_train_records1_ptr"), hidden * words), scale: this.spec.inputScale * this.scales.w1 },
      { records: new Int32Array(mem, this.call("wisp_train_records2_ptr"), classes * words), scale: this.scales.hidden * this.scales.w2 },
    ].map(({ records, scale }) => ({ records, scale, count: records.length / words, word: (c: number) => c * words + F.CHANNEL_BIAS / 4 }));
  }

  // The head's parameters as floats: w1, w2 (each int8 weight plus its Q16
  // residual, times the layer's scale), then the biases b1, b2.
  weights(): Float32Array {
    const out: number[] = [];
    for (const { w, r, scale } of this.state()) w.forEach((q, i) => out.push((q + r[i] / 65536) * scale));
    for (const b of this.biases()) for (let c = 0; c < b.count; c++) out.push(b.records[b.word(c)] * b.scale);
    return Float32Array.from(out);
  }

  // Takes new global weights (same layout as weights()), keeping what is
  // finer than an int8 step in the residuals.
  setWeights(weights: Float32Array): void {
    const layers = this.state(), biases = this.biases();
    const total = layers[0].w.length + layers[1].w.length + biases[0].count + biases[1].count;
    if (weights.length !== total) fail("BAD_INPUT", `expected ${total} parameters, got ${weights.length}`);
    let at = 0;
    for (const { w, r, scale } of layers) {
      for (let i = 0; i < w.length; i++, at++) {
        const steps = weights[at] / scale;
        w[i] = Math.max(-127, Math.min(127, Math.round(steps)));
        r[i] = Math.max(-(1 << 20), Math.min(1 << 20, Math.round((steps - w[i]) * 65536)));
      }
    }
    for (const b of biases) for (let c = 0; c < b.count; c++, at++) b.records[b.word(c)] = Math.round(weights[at] / b.scale) | 0;
  }

  // For tests: the last sample's hidden activations and logits, and the
  // accumulated layer-2 weight gradient (int32, units 1/256 x hidden scale).
  inspect(): { hidden: Int8Array; logits: Int8Array; grad2: Int32Array } {
    const { hidden, classes } = this.spec;
    const mem = this.x.memory.buffer;
    return {
      hidden: new Int8Array(mem, this.call("wisp_train_hidden_ptr"), hidden).slice(),
      logits: new Int8Array(mem, this.call("wisp_train_logits_ptr"), classes).slice(),
      grad2: new Int32Array(mem, this.call("wisp_train_grad2_ptr"), classes * hidden).slice(),
    };
  }
}
