// Fuzzing aimed at the registered ops (assembly/ops/): their records in
// converted zoo2 models are mutated word by word (CRC recomputed so the
// module's validation sees them). Each case must end in a coded error or in
// a run that wrote nothing outside the arena: the module has no bounds
// checks at run time, so validation is the sandbox, and this checks it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as F from "../assembly/format";
import { convertTflite } from "../host/convert";
import { REGISTERED } from "../host/convert/ops";
import { crc32 } from "../host/crc32";
import { WispError } from "../host/errors";
import { loadSync } from "../host/node/api";
import { findZoo2Dir } from "../host/node/models";
import { graphFacts } from "../host/node/description";
import { opRecords } from "../host/node/wisp-file";
import { prng, runConfined } from "./helpers";

const CASES = 1500;
const EXTREMES = [0, 1, -1, 0x7fffffff, -0x80000000, 0x10000, 0xffff, 255, 256, 1 << 28];

// Converted zoo2 models that use registered ops, with the word ranges of those ops' records.
function seeds(): { wisp: Uint8Array; records: [number, number][] }[] {
  const zoo = findZoo2Dir();
  if (!zoo) return [];
  const index = JSON.parse(readFileSync(join(zoo, "index.json"), "utf8")) as Record<string, { ops: Record<string, number> }>;
  const out: { wisp: Uint8Array; records: [number, number][] }[] = [];
  for (const [name, entry] of Object.entries(index)) {
    if (!Object.keys(entry.ops).some((op) => REGISTERED[op]) || !existsSync(join(zoo, name, "model.tflite"))) continue;
    let wisp: Uint8Array;
    try {
      wisp = convertTflite(new Uint8Array(readFileSync(join(zoo, name, "model.tflite")))).wisp;
    } catch {
      continue; // refused models are covered by the zoo2 suite
    }
    const records = opRecords(wisp).filter((r) => r.opcode >= F.FIRST_REGISTERED_OPCODE).map((r): [number, number] => [r.at, r.at + 4 * r.words]);
    if (records.length > 0 && graphFacts(wisp).arenaBytes <= 1 << 16) out.push({ wisp, records });
  }
  return out;
}

test(`${CASES} mutated records of registered ops end in a coded error or a run confined to the arena`, { skip: findZoo2Dir() ? false : "zoo2 not found" }, () => {
  const all = seeds();
  assert.ok(all.length >= 10, `only ${all.length} seed models with registered ops`);
  const random = prng(20261202);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    const { wisp, records } = all[i % all.length];
    const bytes = wisp.slice();
    const v = new DataView(bytes.buffer);
    const [from, to] = records[random(records.length)];
    for (let k = 1 + random(3); k > 0; k--) {
      const at = from + 4 * (1 + random((to - from) / 4 - 1)); // any word but the opcode
      const value = random(3) === 0 ? EXTREMES[random(EXTREMES.length)] : v.getInt32(at, true) + random(9) - 4;
      v.setInt32(at, value, true);
    }
    v.setUint32(12, crc32(bytes.subarray(F.HEADER_BYTES)), true);
    let outcome = "ran";
    try {
      runConfined(loadSync(bytes, { streamWeights: i % 3 === 0 }));
    } catch (e) {
      if (!(e instanceof WispError)) throw e;
      outcome = e.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // Both outcomes must occur, or the mutations prove little.
  assert.ok((outcomes.get("ran") ?? 0) > CASES / 20, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get("BAD_WISP") ?? 0) > CASES / 4, JSON.stringify([...outcomes]));
});
