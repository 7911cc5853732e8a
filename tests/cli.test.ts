// The CLI contracts that outside tools script against.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as F from "../assembly/format";
import { cli, modelsDir } from "./helpers";
import { missingTools } from "../host/boards/build";

const tmp = mkdtempSync(join(tmpdir(), "wisp-cli-"));
const kws = join(modelsDir(), "kws");

function assertCleanError(r: { status: number | null; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[0], pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
}

test("convert writes a .wisp and prints a summary", () => {
  const out = join(tmp, "kws.wisp");
  const r = cli(["convert", join(kws, "model.tflite"), "-o", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /12 ops, 2,656,768 MACs, arena \d+ bytes/);
  const bytes = readFileSync(out);
  assert.equal(bytes.readUInt32LE(0), F.WISP_MAGIC);
  assert.equal(bytes.readUInt32LE(8), bytes.length);
});

test("run on the .wisp equals TFLM's outputs", () => {
  const wisp = join(tmp, "kws2.wisp");
  assert.equal(cli(["convert", join(kws, "model.tflite"), "-o", wisp]).status, 0);
  const out = join(tmp, "out.bin");
  const r = cli(["run", wisp, "--input", join(kws, "public", "inputs.bin"), "--output", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(readFileSync(out).equals(readFileSync(join(kws, "public", "outputs.bin"))));
});

test("inspect prints a per-layer table with totals", () => {
  const r = cli(["inspect", join(kws, "model.tflite")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /CONV_2D/);
  assert.match(r.stdout, /DEPTHWISE_CONV_2D/);
  assert.match(r.stdout, /arena offset/);
  assert.match(r.stdout, /total: 12 ops/);
});

test("inspect --json has arenaBytes, weightsBytes, macs and ops", () => {
  const r = cli(["inspect", join(kws, "model.tflite"), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.macs, 2656768);
  assert.equal(info.ops.length, 12);
  assert.ok(info.arenaBytes > 0 && info.arenaBytes <= 24000);
  assert.ok(info.weightsBytes > 20000);
  assert.deepEqual(info.ops.map((o: { op: string }) => o.op).slice(0, 2), ["CONV_2D", "DEPTHWISE_CONV_2D"]);
});

test("run rejects an input whose size is not a multiple of the input tensor", () => {
  const bad = join(tmp, "bad.bin");
  writeFileSync(bad, Buffer.alloc(491));
  assertCleanError(cli(["run", join(kws, "model.tflite"), "--input", bad, "--output", join(tmp, "x.bin")]), 1, /BAD_INPUT: .*491 bytes, not a multiple of the input size 490/);
});

test("missing files, non-models and corrupt models fail with one line", () => {
  assertCleanError(cli(["inspect", join(tmp, "nope.tflite")]), 1, /^wisp: IO: cannot read/);
  const text = join(tmp, "text.tflite");
  writeFileSync(text, "hello, not a model");
  assertCleanError(cli(["inspect", text]), 1, /^wisp: BAD_INPUT: not a model/);
  const truncated = join(tmp, "truncated.tflite");
  writeFileSync(truncated, readFileSync(join(kws, "model.tflite")).subarray(0, 5000));
  assertCleanError(cli(["inspect", truncated]), 1, /^wisp: BAD_TFLITE: /);
  const wisp = join(tmp, "corrupt.wisp");
  assert.equal(cli(["convert", join(kws, "model.tflite"), "-o", wisp]).status, 0);
  const bytes = readFileSync(wisp);
  bytes[200] ^= 0x40;
  writeFileSync(wisp, bytes);
  assertCleanError(cli(["run", wisp, "--input", join(kws, "public", "inputs.bin"), "--output", join(tmp, "y.bin")]), 1, /^wisp: BAD_WISP: CRC32 mismatch/);
});

test("usage errors exit 2", () => {
  assertCleanError(cli(["frobnicate"]), 2, /^wisp: USAGE: unknown command/);
  assertCleanError(cli(["convert", join(kws, "model.tflite")]), 2, /^wisp: USAGE: convert needs -o/);
  assertCleanError(cli(["run", join(kws, "model.tflite"), "--input"]), 2, /^wisp: USAGE: --input needs a value/);
  assertCleanError(cli(["inspect", join(kws, "model.tflite"), "--bogus"]), 2, /^wisp: USAGE: unknown option --bogus/);
});

test("convert refuses a .wisp input", () => {
  const wisp = join(tmp, "again.wisp");
  assert.equal(cli(["convert", join(kws, "model.tflite"), "-o", wisp]).status, 0);
  assertCleanError(cli(["convert", wisp, "-o", join(tmp, "again2.wisp")]), 1, /BAD_INPUT: .* is not a \.tflite model/);
});

test("bench reports latency, memory and, with the toolchain, the M4's instruction count", () => {
  const r = cli(["bench", join(modelsDir(), "ad", "model.tflite"), "--runs", "20", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.node.runs, 20);
  assert.ok(report.node.minMs <= report.node.medianMs && report.node.medianMs <= report.node.maxMs);
  assert.equal(report.ops, 10);
  assert.equal(report.arenaBytes, 768);
  if (missingTools(["arm-none-eabi-gcc", "qemu-system-arm", "wasm2c", "gcc"]).length === 0) {
    assert.equal(report.board.exact, "3/3");
    assert.ok(report.board.instructionsPerInference > 264192, "fewer instructions than MACs");
  } else {
    assert.match(report.board.skipped, /toolchain missing/);
  }
});

test("bench refuses a bad --runs and a misfit input file", () => {
  assertCleanError(cli(["bench", join(kws, "model.tflite"), "--runs", "0"]), 2, /USAGE: --runs takes a whole number/);
  const odd = join(tmp, "odd.bin");
  writeFileSync(odd, new Uint8Array(7));
  assertCleanError(cli(["bench", join(kws, "model.tflite"), "--input", odd, "--no-board"]), 1, /BAD_INPUT: the input file holds 7 bytes/);
});
