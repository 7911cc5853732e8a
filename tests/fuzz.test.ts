// Deterministic fuzzing: thousands of mutated .tflite and .wisp files. Every
// case must end in success or a clean WispError with a code; never a trap, a
// RangeError or any other crash. Mutated .wisp files also get their CRC
// recomputed, so the runtime's own validation of every field is exercised.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { kernelZoo, modelsDir, prng, readModel } from "./helpers";

const CASES_PER_FORMAT = 1200;
const CODES = new Set(["BAD_TFLITE", "UNSUPPORTED_OP", "UNSUPPORTED_TYPE", "DYNAMIC_SHAPE", "BAD_MODEL", "BAD_WISP", "BAD_INPUT", "OUT_OF_MEMORY"]);
const EXTREMES = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 0x10000, 0xffff];

const seeds = [...kernelZoo().map((z) => readModel(z.dir)), ...["kws", "ad", "sww"].map((t) => readModel(join(modelsDir(), t)))];

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
