// Shared by the node:test suites: where the data is, and running the CLI.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findKernelZooDir, findModelsDir, MISSING_MODELS_HINT } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { WispError } from "../host/errors";
import type { Model } from "../host/node/api";
import type { WispExports } from "../host/node/runtime";
import assert from "node:assert/strict";

export { PACKAGE_ROOT };

export function modelsDir(): string {
  const dir = findModelsDir();
  if (!dir) throw new Error(MISSING_MODELS_HINT);
  return dir;
}

export function kernelZoo(): { name: string; dir: string }[] {
  const dir = findKernelZooDir();
  if (!dir) throw new Error("kernel zoo not found beside the MLPerf Tiny models (set WISP_KERNEL_ZOO)");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "model.tflite")))
    .map((d) => ({ name: d.name, dir: join(dir, d.name) }));
}

export function readModel(dir: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, "model.tflite")));
}

export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, "bin", "wisp.js"), ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A deterministic PRNG (xorshift32) so every run mutates the same bytes.
// Deterministic pseudo-random integers in [lo, hi].
export function random(seed: number, n: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

export function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

// ../shared/tools/tflm-oracle beside the models ($WISP_ORACLE overrides):
// runs any .tflite on TFLM's reference kernels, for vectors the zoos lack.
const modelsFolder = findModelsDir();
export const ORACLE = process.env.WISP_ORACLE ?? (modelsFolder ? resolve(modelsFolder, "..", "tools", "tflm-oracle") : "");
export const haveOracle = ORACLE !== "" && existsSync(ORACLE);

// The shared oracle creates no resource variables, so models with
// VAR_HANDLE need a TFLM runner that does: $WISP_STATE_ORACLE, built from
// tests/oracle/state-oracle.cc (see the comment there).
export const STATE_ORACLE = process.env.WISP_STATE_ORACLE ?? "";
export const haveStateOracle = STATE_ORACLE !== "" && existsSync(STATE_ORACLE);

// TFLM's raw outputs for the concatenated raw inputs (one Invoke() each, on
// one interpreter, so state carries over), or null when TFLM refuses the
// model. `flags`: the oracle's options, such as --reset-between.
export function runOracle(model: Uint8Array, inputs: Uint8Array, flags: string[] = [], oracle = ORACLE): Uint8Array | null {
  const dir = mkdtempSync(join(tmpdir(), "wisp-oracle-"));
  try {
    writeFileSync(join(dir, "model.tflite"), model);
    writeFileSync(join(dir, "inputs.bin"), inputs);
    const r = spawnSync(oracle, [join(dir, "model.tflite"), join(dir, "inputs.bin"), join(dir, "outputs.bin"), ...flags], { encoding: "utf8" });
    return r.status === 0 ? new Uint8Array(readFileSync(join(dir, "outputs.bin"))) : null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Asserts that `f` throws a WispError with `code` and a message matching `pattern`.
export function throwsCoded(f: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof WispError, `not a WispError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

function wasmOf(model: Model): WispExports {
  return (model as unknown as { wasm: WispExports }).wasm;
}

// Runs a loaded model once and checks that every byte below its arena and
// past the memory it uses (arena, then with streamed weights the weights
// window the module fills itself) is unchanged: validation is the sandbox
// of kernels that run without bounds checks.
export function runConfined(model: Model, stateful = false): void {
  const w = wasmOf(model);
  const before = new Uint8Array(w.memory.buffer).slice();
  w.wisp_invoke();
  if (stateful) {
    // Stateful models also through a second invoke and a reset.
    w.wisp_invoke();
    w.wisp_reset();
    w.wisp_invoke();
  }
  const after = new Uint8Array(w.memory.buffer);
  const lo = w.wisp_arena_ptr(), hi = w.wisp_memory_used();
  assert.equal(after.length, before.length, "memory grew during invoke");
  for (let i = 0; i < after.length; i++) {
    if ((i < lo || i >= hi) && after[i] !== before[i]) assert.fail(`invoke wrote byte ${i}, outside the arena and window [${lo}, ${hi})`);
  }
}
