// The activation ops (assembly/ops/activation.ts, sigmoid.ts, prelu.ts,
// log_softmax.ts): refusals that mirror TFLM's (checked against TFLM itself
// when the oracle is present), Wisp's own limits, and byte-exactness against
// TFLM's reference kernels on variants the shared models lack: other output
// scales, extreme input scales (the saturating paths of LOGISTIC and TANH, the
// left-shifting path of HARD_SWISH), negative alpha, PRELU broadcasts.
// Expected outputs come from ../shared/tools/tflm-oracle, run at test time;
// those tests skip when it is absent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convertTflite } from "../host/convert";
import { Builtin, TensorType } from "../host/convert/tflite";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import * as F from "../assembly/format";
import { crc32 } from "../host/crc32";
import { prng, haveOracle, runOracle, throwsCoded } from "./helpers";
import { buildTflite, int8Bytes, scalar, table, ModelSpec, TensorSpec } from "./tflite-writer";
import { findZoo2Dir } from "../host/node/models";

// TFLM's int8 outputs, or null when it refuses the model.
function oracle(model: Uint8Array, inputs: Int8Array): Int8Array | null {
  const out = runOracle(model, new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength));
  return out && new Int8Array(out.buffer, out.byteOffset, out.byteLength);
}

const needsOracle = haveOracle ? {} : { skip: "tflm-oracle is not present" };
const f32 = Math.fround;


// Every int8 value, then the same reversed, then two seeded pseudo-random rows.
function rows(bytes: number, count = 4): Int8Array {
  const out = new Int8Array(bytes * count);
  let seed = 12345;
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < bytes; i++) {
      let v: number;
      if (r === 0) v = (i % 256) - 128;
      else if (r === 1) v = 127 - (i % 256);
      else {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        v = (seed >>> 16) % 256 - 128;
      }
      out[r * bytes + i] = v;
    }
  }
  return out;
}

// Byte-exact against the oracle on every row.
function assertMatchesTflm(model: Uint8Array, label: string): void {
  const m = loadSync(model);
  const inputs = rows(m.inputBytes);
  const expected = oracle(model, inputs);
  assert.ok(expected, `${label}: TFLM refused the model`);
  const n = inputs.length / m.inputBytes;
  for (let r = 0; r < n; r++) {
    const y = m.invoke(inputs.subarray(r * m.inputBytes, (r + 1) * m.inputBytes));
    assert.deepEqual(Array.from(y), Array.from(expected.subarray(r * m.outputBytes, (r + 1) * m.outputBytes)), `${label}, row ${r}`);
  }
}

function assertRejects(model: Uint8Array, code: string, pattern: RegExp): void {
  throwsCoded(() => convertTflite(model), code, pattern);
}

const int8 = (shape: number[], scale: number, zeroPoint: number): TensorSpec => ({ shape, type: TensorType.INT8, scale: [f32(scale)], zeroPoint: [zeroPoint] });

// One elementwise op from input (tensor 0) to output (tensor 1).
function unary(builtin: number, version: number, input: [number, number], output: [number, number], shape = [1, 256]): Uint8Array {
  const spec: ModelSpec = {
    tensors: [int8(shape, ...input), int8(shape, ...output)],
    ops: [{ builtin, version, inputs: [0], outputs: [1] }],
    inputs: [0],
    outputs: [1],
  };
  return buildTflite(spec);
}

function prelu(inShape: number[], alphaShape: number[], outShape: number[], alphaQ: [number, number], output: [number, number]): Uint8Array {
  const count = alphaShape.reduce((a, b) => a * b, 1);
  const alpha = Array.from({ length: count }, (_, i) => ((i * 37 + 11) % 256) - 128);
  return buildTflite({
    tensors: [int8(inShape, 0.03, -7), { ...int8(alphaShape, ...alphaQ), data: int8Bytes(alpha) }, int8(outShape, ...output)],
    ops: [{ builtin: Builtin.PRELU, version: 1, inputs: [0, 1], outputs: [2] }],
    inputs: [0],
    outputs: [2],
  });
}

test("RELU on other output scales and zero points matches TFLM", needsOracle, () => {
  for (const [input, output] of [[[0.02, -3], [0.01, 5]], [[0.01, 10], [0.05, -128]], [[0.5, 0], [0.001, 0]], [[0.003, 120], [0.003, -100]]] as [number, number][][]) {
    assertMatchesTflm(unary(Builtin.RELU, 2, input as [number, number], output as [number, number]), `RELU ${input} -> ${output}`);
  }
});

test("RELU6 clamps the input bytes as TFLM does, whatever the output quantization", needsOracle, () => {
  for (const [input, output] of [[[0.05, -20], [0.1, 7]], [[0.01, 0], [0.5, -128]], [[0.2, 100], [0.2, 100]]] as [number, number][][]) {
    assertMatchesTflm(unary(Builtin.RELU6, 2, input as [number, number], output as [number, number]), `RELU6 ${input} -> ${output}`);
  }
});

test("LOGISTIC at tiny to huge input scales (never to always saturating) matches TFLM", needsOracle, () => {
  for (const scale of [1e-4, 0.01, 0.5, 4.0, 20.0]) {
    for (const zp of [0, 17]) assertMatchesTflm(unary(Builtin.LOGISTIC, 2, [scale, zp], [0.1, -128]), `LOGISTIC scale ${scale} zp ${zp}`);
  }
});

test("TANH at tiny to huge input scales matches TFLM (which ignores the output quantization)", needsOracle, () => {
  for (const scale of [1e-4, 0.01, 0.3, 4.0, 20.0]) {
    for (const zp of [0, -30]) assertMatchesTflm(unary(Builtin.TANH, 2, [scale, zp], [0.05, 9]), `TANH scale ${scale} zp ${zp}`);
  }
});

test("HARD_SWISH with right- and left-shifting reluish multipliers matches TFLM", needsOracle, () => {
  for (const [input, output] of [[[0.001, 3], [0.0005, -10]], [[0.5, -5], [0.1, 20]], [[0.05, 0], [0.0004, 0]], [[2.0, 40], [0.2, -128]], [[0.03, -128], [0.02, 127]]] as [number, number][][]) {
    assertMatchesTflm(unary(Builtin.HARD_SWISH, 1, input as [number, number], output as [number, number]), `HARD_SWISH ${input} -> ${output}`);
  }
});

test("LOG_SOFTMAX over several rows and input scales (one capped) matches TFLM", needsOracle, () => {
  for (const scale of [0.01, 0.2, 1.0, 50.0]) {
    assertMatchesTflm(unary(Builtin.LOG_SOFTMAX, 2, [scale, 5], [16 / 256, 127], [4, 64]), `LOG_SOFTMAX scale ${scale}`);
  }
});

const leakyReluModel = join(findZoo2Dir() ?? "", "leaky_relu", "model.tflite");
test("LEAKY_RELU with negative, zero and large alpha matches TFLM", { skip: !haveOracle ? "tflm-oracle is not present" : !existsSync(leakyReluModel) ? "the leaky_relu model is not present" : false }, () => {
  // The shared model (alpha 0.2) with its alpha rewritten: the writer here
  // emits no builtin_options_type, which TFLM needs to read the options.
  const base = new Uint8Array(readFileSync(leakyReluModel));
  const pattern = new Uint8Array(Float32Array.of(0.2).buffer);
  const at = Buffer.from(base).indexOf(Buffer.from(pattern));
  assert.ok(at > 0 && Buffer.from(base).indexOf(Buffer.from(pattern), at + 1) < 0, "alpha found once");
  for (const alpha of [-0.7, 0, 1.5, 0.2]) {
    const model = base.slice();
    model.set(new Uint8Array(Float32Array.of(alpha).buffer), at);
    assertMatchesTflm(model, `LEAKY_RELU alpha ${alpha}`);
  }
});

test("PRELU with per-channel, scalar, mid-axis and input-broadcast alpha matches TFLM", needsOracle, () => {
  assertMatchesTflm(prelu([1, 4, 8, 8], [8], [1, 4, 8, 8], [0.01, 3], [0.02, -5]), "PRELU alpha [8]");
  assertMatchesTflm(prelu([1, 4, 8, 8], [1, 1, 8], [1, 4, 8, 8], [0.004, -20], [0.05, 0]), "PRELU alpha [1,1,8]");
  assertMatchesTflm(prelu([1, 4, 8, 8], [1], [1, 4, 8, 8], [0.01, 0], [0.01, 0]), "PRELU alpha [1]");
  assertMatchesTflm(prelu([1, 4, 8, 8], [4, 1, 1], [1, 4, 8, 8], [0.02, 10], [0.03, 2]), "PRELU alpha [4,1,1]");
  // The input broadcast against a larger alpha: the output is larger than the input.
  assertMatchesTflm(prelu([1, 1, 8, 8], [4, 1, 1], [1, 4, 8, 8], [0.02, 10], [0.03, 2]), "PRELU input [1,1,8,8], alpha [4,1,1]");
});

// Refusals TFLM makes too: the converter's and, with the oracle, TFLM's own.
// Each with its input size in bytes, for the oracle.
const tflmRefusals: [string, () => Uint8Array, number, string, RegExp][] = [
  ["RELU_N1_TO_1 (no TFLM kernel)", () => unary(Builtin.RELU_N1_TO_1, 1, [0.02, 0], [0.02, 0]), 256, "UNSUPPORTED_OP", /RELU_N1_TO_1.*TFLM has no RELU_N1_TO_1 kernel/],
  ["LOGISTIC with an output zero point other than -128", () => unary(Builtin.LOGISTIC, 2, [0.05, 0], [1 / 256, 0]), 256, "UNSUPPORTED_TYPE", /LOGISTIC.*zero point -128/],
  ["LOG_SOFTMAX with an output scale other than 16/256", () => unary(Builtin.LOG_SOFTMAX, 2, [0.05, 0], [0.1, 127], [2, 10]), 20, "UNSUPPORTED_TYPE", /LOG_SOFTMAX.*16\/256/],
  ["LOG_SOFTMAX with an output zero point other than 127", () => unary(Builtin.LOG_SOFTMAX, 2, [0.05, 0], [16 / 256, 0], [2, 10]), 20, "UNSUPPORTED_TYPE", /zero point 127/],
  ["HARD_SWISH whose output multiplier needs a left shift", () => unary(Builtin.HARD_SWISH, 1, [0.5, 0], [0.001, 0]), 256, "UNSUPPORTED_TYPE", /HARD_SWISH.*TFLM needs it below 1/],
];

for (const [name, build, inputBytes, code, pattern] of tflmRefusals) {
  test(`refused like TFLM: ${name}`, () => {
    const model = build();
    assertRejects(model, code, pattern);
    if (haveOracle) assert.equal(oracle(model, new Int8Array(inputBytes)), null, "TFLM accepted the model");
  });
}

test("Wisp's own limits: int16 activations, non-constant PRELU alpha, newer op versions", () => {
  const i16 = (shape: number[]): TensorSpec => ({ shape, type: TensorType.INT16, scale: [f32(0.001)], zeroPoint: [0] });
  assertRejects(buildTflite({ tensors: [i16([1, 8]), i16([1, 8])], ops: [{ builtin: Builtin.RELU, version: 3, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_OP", /RELU.*op version 3/);
  assertRejects(buildTflite({ tensors: [i16([1, 8]), i16([1, 8])], ops: [{ builtin: Builtin.TANH, version: 2, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }), "UNSUPPORTED_TYPE", /TANH.*INT16/i);
  assertRejects(unary(Builtin.LOGISTIC, 3, [0.05, 0], [1 / 256, -128]), "UNSUPPORTED_OP", /LOGISTIC.*op version 3/);
  assertRejects(buildTflite({
    tensors: [int8([1, 8], 0.05, 0), int8([1, 8], 0.05, 0), int8([1, 8], 0.05, 0), int8([1, 8], 0.05, 0)],
    ops: [
      { builtin: Builtin.RELU, version: 2, inputs: [0], outputs: [1] },
      { builtin: Builtin.PRELU, version: 1, inputs: [0, 1], outputs: [3] },
    ],
    inputs: [0],
    outputs: [3],
  }), "UNSUPPORTED_OP", /PRELU.*non-constant alpha/);
  assertRejects(prelu([1, 4, 8, 8], [3], [1, 4, 8, 8], [0.01, 0], [0.01, 0]), "BAD_MODEL", /PRELU.*do not broadcast/);
  assertRejects(unary(Builtin.LOGISTIC, 2, [1e-9, 0], [1 / 256, -128]), "UNSUPPORTED_TYPE", /LOGISTIC.*too small/);
});

test("elementwise activations run in place: a chain of them needs one buffer", () => {
  const spec: ModelSpec = {
    tensors: [int8([1, 256], 0.05, 0), int8([1, 256], 0.05, 0), int8([1, 256], 0.01, -128), int8([1, 256], 0.02, 0), int8([1, 256], 1 / 256, -128)],
    ops: [
      { builtin: Builtin.RELU6, version: 2, inputs: [0], outputs: [1] },
      { builtin: Builtin.HARD_SWISH, version: 1, inputs: [1], outputs: [2] },
      { builtin: Builtin.TANH, version: 2, inputs: [2], outputs: [3] },
      { builtin: Builtin.LOGISTIC, version: 2, inputs: [3], outputs: [4] },
    ],
    inputs: [0],
    outputs: [4],
  };
  const model = buildTflite(spec);
  assert.equal(loadSync(model).info.arenaBytes, 256);
  if (haveOracle) assertMatchesTflm(model, "RELU6 -> HARD_SWISH -> TANH -> LOGISTIC in place");
});

// Every op of this group in one graph, converted, then its graph words
// mutated (CRC fixed): each case loads and runs or ends in a coded error.
test("mutated records of the activation ops end in success or a coded error", () => {
  const alpha = Array.from({ length: 16 }, (_, i) => i * 9 - 70);
  const t = (scale: number, zp: number) => int8([1, 4, 16], scale, zp);
  const model = buildTflite({
    tensors: [t(0.05, 3), t(0.05, 3), t(0.04, -2), t(0.02, 1), t(0.03, 0), t(1 / 256, -128), t(1 / 128, 0), { ...int8([16], 0.01, 2), data: int8Bytes(alpha) }, t(0.02, -4), t(16 / 256, 127)],
    ops: [
      { builtin: Builtin.RELU, version: 2, inputs: [0], outputs: [1] },
      { builtin: Builtin.RELU6, version: 2, inputs: [1], outputs: [2] },
      { builtin: Builtin.LEAKY_RELU, version: 1, inputs: [2], outputs: [3], options: table(scalar("f32", -0.3)) },
      { builtin: Builtin.HARD_SWISH, version: 1, inputs: [3], outputs: [4] },
      { builtin: Builtin.LOGISTIC, version: 2, inputs: [4], outputs: [5] },
      { builtin: Builtin.TANH, version: 2, inputs: [5], outputs: [6] },
      { builtin: Builtin.PRELU, version: 1, inputs: [6, 7], outputs: [8] },
      { builtin: Builtin.LOG_SOFTMAX, version: 2, inputs: [8], outputs: [9] },
    ],
    inputs: [0],
    outputs: [9],
  });
  const base = convertTflite(model).wisp;
  const view = new DataView(base.buffer, base.byteOffset);
  const graphAt = view.getUint32(F.HEADER_BYTES + 8, true);
  const graphEnd = graphAt + view.getUint32(F.HEADER_BYTES + 12, true);
  const random = prng(4821);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 1500; i++) {
    const mutated = base.slice();
    const mv = new DataView(mutated.buffer);
    for (let k = 1 + random(3); k > 0; k--) {
      const at = graphAt + 4 * random((graphEnd - graphAt) >> 2);
      mv.setInt32(at, i % 3 === 0 ? [0, -1, 0x7fffffff, -0x80000000, 0xffff, 32, 31, -32][random(8)] : mv.getInt32(at, true) + random(64) - 32, true);
    }
    mv.setUint32(12, crc32(mutated.subarray(F.HEADER_BYTES)), true);
    let outcome: string;
    try {
      const m = loadSync(mutated, { streamWeights: i % 2 === 0, weightWindow: i % 4 === 0 ? 64 : 0 });
      if (m.info.arenaBytes > 1 << 16) outcome = "big";
      else {
        m.invoke(new Int8Array(m.inputBytes).fill(i % 256 - 128));
        outcome = "ok";
      }
    } catch (e) {
      if (!(e instanceof WispError)) throw new Error(`not a coded error: ${String(e)}`);
      outcome = e.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  assert.ok((outcomes.get("ok") ?? 0) > 0 && (outcomes.get("BAD_WISP") ?? 0) > 100, JSON.stringify([...outcomes]));
});
