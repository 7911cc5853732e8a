// The second zoo (../shared/zoo2): one-to-few-op models for the ops real MCU
// models use, whole architectures (net_*) and TFLM's own example models
// (real_*). Every model Wisp runs must match TFLM's outputs byte for byte on
// every public vector, through the API (.tflite and .wisp, resident and with
// streamed weights; the SIMD and the scalar module) and the CLI, in no more
// arena than TFLM. Every model it
// refuses is listed below with the reason, so a refusal is always a stated
// decision and never a silent regression.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSync, Model } from "../host/node/api";
import { convertTflite } from "../host/convert";
import { findZoo2Dir } from "../host/node/models";
import { cli, readModel } from "./helpers";

// Model -> [code, message] of the refusal, and why. None today: every zoo2
// model runs.
const REFUSED: Record<string, [string, RegExp]> = {};

interface Meta {
  tflm_arena_used_bytes: number;
  stateful: boolean;
}

function exactVectors(model: Model, dir: string): { exact: number; vectors: number; first: number } {
  const inputs = readFileSync(join(dir, "public", "inputs.bin"));
  const outputs = readFileSync(join(dir, "public", "outputs.bin"));
  const n = inputs.length / model.inputBytes;
  assert.ok(Number.isInteger(n) && n > 0 && outputs.length === n * model.outputBytes, `${dir}: vector files do not fit the model`);
  let exact = 0, first = -1;
  for (let i = 0; i < n; i++) {
    const y = model.invoke(new Int8Array(inputs.buffer, inputs.byteOffset + i * model.inputBytes, model.inputBytes));
    if (Buffer.from(y.buffer, y.byteOffset, y.length).equals(outputs.subarray(i * model.outputBytes, (i + 1) * model.outputBytes))) exact++;
    else if (first < 0) first = i;
  }
  return { exact, vectors: n, first };
}

function assertExact(model: Model, dir: string, label: string): void {
  const r = exactVectors(model, dir);
  assert.equal(r.exact, r.vectors, `${label}: ${r.exact}/${r.vectors} byte-exact, first mismatch at vector ${r.first}`);
}

const zoo = findZoo2Dir();
const models = zoo ? readdirSync(zoo).filter((d) => existsSync(join(zoo, d, "model.tflite"))).sort() : [];

test("zoo2 is present, and every refusal listed is of a model it holds", { skip: zoo ? false : "../shared/zoo2 not found (set WISP_ZOO2)" }, () => {
  assert.ok(models.length >= 80, `only ${models.length} zoo2 models`);
  for (const name of Object.keys(REFUSED)) assert.ok(models.includes(name), `REFUSED lists ${name}, which zoo2 does not hold`);
});

for (const name of models) {
  const dir = join(zoo!, name);
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Meta;
  const refusal = REFUSED[name];
  if (refusal) {
    test(`zoo2 ${name}: refused with ${refusal[0]}`, () => {
      assert.throws(() => loadSync(readModel(dir)), (e: Error & { code?: string }) => {
        assert.equal(e.code, refusal[0], e.message);
        assert.match(e.message, refusal[1]);
        assert.match(e.message, /^(operator \d+ \(|model)/, "the message names the operator");
        return true;
      });
    });
    continue;
  }
  test(`zoo2 ${name}: byte-exact through the API (.tflite, .wisp, streamed weights; both modules) and the CLI, arena within TFLM's`, () => {
    const tflite = readModel(dir);
    const model = loadSync(tflite);
    for (const simd of [true, false]) {
      const label = `${name} [${simd ? "simd" : "scalar"}]`;
      const m = loadSync(tflite, { simd });
      assert.equal(m.info.module, simd ? "simd" : "scalar");
      assertExact(m, dir, label);
      assertExact(loadSync(convertTflite(tflite).wisp, { simd }), dir, `${label} (.wisp)`);
      assertExact(loadSync(tflite, { streamWeights: true, simd }), dir, `${label} (streamed)`);
    }
    assert.ok(model.info.arenaBytes <= meta.tflm_arena_used_bytes, `${name}: arena ${model.info.arenaBytes} > TFLM's ${meta.tflm_arena_used_bytes}`);
    const tmp = mkdtempSync(join(tmpdir(), "wisp-zoo2-"));
    const r = cli(["run", join(dir, "model.tflite"), "--input", join(dir, "public", "inputs.bin"), "--output", join(tmp, "out.bin")]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(join(tmp, "out.bin")).equals(readFileSync(join(dir, "public", "outputs.bin"))), `${name}: CLI output differs from TFLM`);
  });
}
