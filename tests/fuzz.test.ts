// Deterministic fuzzing: thousands of mutated .tflite and .wisp files. Every
// case must end in success or a clean WispError with a code; never a trap, a
// RangeError or any other crash. Mutated .wisp files also get their CRC
// recomputed, so the runtime's own validation of every field is exercised,
// and their description JSON is mutated structurally too (wrong types,
// nulls, missing and unknown fields, huge arrays, deep nesting).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { findZoo2Dir } from "../host/node/models";
import { kernelZoo, modelsDir, prng, readModel } from "./helpers";
import { editDescription } from "./hostile-models";

const CASES_PER_FORMAT = 1200;
const CODES = new Set(["BAD_TFLITE", "UNSUPPORTED_OP", "UNSUPPORTED_TYPE", "DYNAMIC_SHAPE", "BAD_MODEL", "TOO_LARGE", "BAD_WISP", "BAD_INPUT", "OUT_OF_MEMORY"]);
const EXTREMES = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x10000, 0xffff];

// The stateful sequence ops (LSTM, SVDF) through two small zoo2 models, where present.
const zoo2 = findZoo2Dir();
const sequenceSeeds = zoo2 ? ["real_mnist_lstm_int8", "real_keyword_scrambled_8bit"].map((t) => readModel(join(zoo2, t))) : [];
// The LUT records (a float island, int8 ABS), MIRROR_PAD and BATCH_MATMUL through their zoo2 models.
const newOpSeeds = zoo2 ? ["neg", "abs", "mirror_pad_reflect", "batch_matmul"].map((t) => readModel(join(zoo2, t))) : [];
const seeds = [...kernelZoo().map((z) => readModel(z.dir)), ...["kws", "ad", "sww"].map((t) => readModel(join(modelsDir(), t))), ...sequenceSeeds, ...newOpSeeds];

// Mutates bytes in [from, to) of a copy, or truncates it.
function mutate(bytes: Uint8Array, random: (n: number) => number, from = 0, to = bytes.length): Uint8Array {
  const out = bytes.slice();
  const span = to - from;
  switch (random(4)) {
    case 0: // truncate
      return out.subarray(0, random(out.length));
    case 1: // flip a few bytes
      for (let k = 1 + random(8); k > 0; k--) out[from + random(span)] ^= 1 + random(255);
      return out;
    case 2: { // a huge or boundary 32-bit value
      const at = from + (random(Math.max(1, span - 4)) & ~3);
      new DataView(out.buffer).setUint32(Math.min(at, out.length - 4), EXTREMES[random(EXTREMES.length)], true);
      return out;
    }
    default: { // a random small value, like a plausible but wrong size or offset
      const at = from + (random(Math.max(1, span - 4)) & ~3);
      new DataView(out.buffer).setInt32(Math.min(at, out.length - 4), random(4096) - 2048, true);
      return out;
    }
  }
}

// Loads a model and, when it loads and stays small, runs it once.
function exercise(bytes: Uint8Array, maxArena: number, streamWeights = false, weightWindow = 0): "ok" | string {
  try {
    const model = loadSync(bytes, { streamWeights, weightWindow });
    if (model.info.arenaBytes <= maxArena) {
      const out = model.invoke(new Int8Array(model.inputBytes));
      assert.equal(out.length, model.outputBytes);
    }
    return "ok";
  } catch (e) {
    if (e instanceof WispError && CODES.has(e.code)) return e.code;
    throw new Error(`not a clean coded error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

test(`${CASES_PER_FORMAT} mutated .tflite files end in success or a coded error`, () => {
  const random = prng(20261122);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES_PER_FORMAT; i++) {
    const seed = seeds[i % seeds.length];
    const result = exercise(mutate(seed, random), 1 << 20);
    outcomes.set(result, (outcomes.get(result) ?? 0) + 1);
  }
  // The mutations must reach both outcomes, or the test proves little.
  assert.ok((outcomes.get("ok") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok(CASES_PER_FORMAT - (outcomes.get("ok") ?? 0) > CASES_PER_FORMAT / 4, JSON.stringify([...outcomes]));
});

test(`${CASES_PER_FORMAT} mutated .wisp files end in success or a coded error`, () => {
  const random = prng(7);
  const wisps = seeds.map((s) => convertTflite(s).wisp);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES_PER_FORMAT; i++) {
    const base = wisps[i % wisps.length];
    const view = new DataView(base.buffer);
    const graphAt = view.getUint32(F.HEADER_BYTES + 8, true); // first section: the graph
    const graphEnd = graphAt + view.getUint32(F.HEADER_BYTES + 12, true);
    const fixCrc = i % 4 !== 0;
    // With the CRC fixed, aim half the mutations at the header, table and graph words.
    const mutated = fixCrc && i % 2 === 1 ? mutate(base, random, 0, graphEnd) : mutate(base, random);
    if (fixCrc && mutated.length >= F.HEADER_BYTES) {
      new DataView(mutated.buffer, mutated.byteOffset).setUint32(12, crc32(mutated.subarray(F.HEADER_BYTES)), true);
    }
    const arena = view.getUint32(graphAt, true);
    // Every third file also goes through the streamed loader's validation,
    // half of those with a 256-byte weights window (ops then run in blocks).
    const result = exercise(mutated, 4 * arena, i % 3 === 0, i % 6 === 0 ? 256 : 0);
    outcomes.set(result, (outcomes.get(result) ?? 0) + 1);
  }
  assert.ok((outcomes.get("ok") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("BAD_WISP") ?? 0) > CASES_PER_FORMAT / 4, JSON.stringify([...outcomes]));
});

const STRUCTURAL_CASES = 600;
// Stand-ins replaced in the JSON text, so the test never builds (or
// stringifies) the huge or deep values itself.
const HUGE = "\u0000huge";
const DEEP = "\u0000deep";
const ODD: unknown[] = [null, true, false, 0, -1, 0.5, 2 ** 53, 1e308, -1e308, "", "wisp", "CONV_2D", [], [0], [-1], [1, 2.5], {}, { a: 1 }, [null], [[1]], HUGE, DEEP];

// Every place in a JSON value: the container and the key or index there.
function places(x: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(x)) x.forEach((v, i) => { out.push([x, i]); places(v, out); });
  else if (x && typeof x === "object") for (const [k, v] of Object.entries(x)) { out.push([x as Record<string, unknown>, k]); places(v, out); }
  return out;
}

// Whether x is y or holds it somewhere inside.
function holds(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  return typeof x === "object" && x !== null && Object.values(x).some((v) => holds(v, y));
}

function mutateJson(info: Record<string, unknown>, random: (n: number) => number): string {
  for (let k = 1 + random(3); k > 0; k--) {
    const all = places(info);
    const [where, key] = all[random(all.length)];
    const odd = ODD[random(ODD.length)];
    switch (random(5)) {
      case 0: case 1: // a value of another type, or of the right type and the wrong size
        (where as Record<string, unknown>)[key as string] = odd;
        break;
      case 2: // a field or an entry removed
        if (Array.isArray(where)) where.splice(key as number, 1);
        else delete where[key as string];
        break;
      case 3: // an unknown field, or one entry more
        if (Array.isArray(where)) where.push(random(2) ? where[key as number] : odd);
        else Object.defineProperty(where, random(2) ? "extra" : "__proto__", { value: odd, enumerable: true, writable: true, configurable: true });
        break;
      default: { // two values swapped
        const [other, otherKey] = all[random(all.length)];
        const a = (where as Record<string, unknown>)[key as string];
        const b = (other as Record<string, unknown>)[otherKey as string];
        if (holds(a, other) || holds(b, where)) break; // a value moved inside itself would be a cycle, not JSON
        (where as Record<string, unknown>)[key as string] = b;
        (other as Record<string, unknown>)[otherKey as string] = a;
      }
    }
  }
  return JSON.stringify(info)
    .replaceAll(JSON.stringify(HUGE), `[${"1,".repeat(200000)}1]`)
    .replaceAll(JSON.stringify(DEEP), "[".repeat(100000) + "]".repeat(100000));
}

test(`${STRUCTURAL_CASES} .wisp files with structurally mutated descriptions load or are BAD_WISP`, () => {
  const random = prng(16);
  const wisps = seeds.map((s) => convertTflite(s).wisp);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < STRUCTURAL_CASES; i++) {
    const wisp = editDescription(wisps[i % wisps.length], (info) => mutateJson(info, random));
    let outcome = "ok";
    try {
      const model = loadSync(wisp);
      // What hosts do with a description they accepted: read shapes, scales
      // and every op's arena slice.
      model.trace(new Int8Array(model.inputBytes));
      model.invokeFloat(new Float32Array(model.inputBytes));
      assert.equal(model.info.input.shape.reduce((a, b) => a * b, 1), model.inputBytes);
    } catch (e) {
      if (!(e instanceof WispError)) throw new Error(`not a clean coded error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      outcome = e.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // The graph is untouched, so nothing but the description can be refused.
  assert.deepEqual([...outcomes.keys()].filter((k) => k !== "ok" && k !== "BAD_WISP"), [], JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("ok") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("BAD_WISP") ?? 0) > STRUCTURAL_CASES / 2, JSON.stringify([...outcomes]));
});
