// Shared by the node:test suites: where the data is, and running the CLI.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findKernelZooDir, findModelsDir, MISSING_MODELS_HINT } from "../host/node/models";
import { PACKAGE_ROOT } from "../host/node/package-root";

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
