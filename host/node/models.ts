// Where the MLPerf Tiny models and golden vectors live, and the download
// command for users who have neither. Nothing here copies model data into
// the project: tests and benchmarks read the files where they are.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fail } from "../errors";
import { PACKAGE_ROOT } from "./package-root";

export const TASKS = ["kws", "ic", "vww", "ad", "sww"] as const;
export type Task = (typeof TASKS)[number];

interface Manifest {
  repository: string;
  commit: string;
  models: Record<Task, { path: string; sha256: string; tflmArenaBytes: number }>;
}

export function manifest(): Manifest {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, "models", "mlperf-tiny.json"), "utf8")) as Manifest;
}

// TFLM's arena for a model: meta.json beside the golden vectors, else the manifest.
export function tflmArenaBytes(dir: string, task: Task): number {
  try {
    return JSON.parse(readFileSync(join(dir, task, "meta.json"), "utf8")).tflm_arena_used_bytes as number;
  } catch {
    return manifest().models[task].tflmArenaBytes;
  }
}

export const DOWNLOAD_DIR = join(PACKAGE_ROOT, "models", "mlperf-tiny");

// $WISP_MODELS, else ../shared/mlperf-tiny beside the repo, else the
// download folder. null when none holds the models.
export function findModelsDir(): string | null {
  const candidates = [process.env.WISP_MODELS, resolve(PACKAGE_ROOT, "..", "shared", "mlperf-tiny"), DOWNLOAD_DIR];
  for (const dir of candidates) {
    if (dir && TASKS.every((t) => existsSync(join(dir, t, "model.tflite")))) return dir;
  }
  return null;
}

// The kernel zoo sits beside the MLPerf Tiny folder ($WISP_KERNEL_ZOO overrides).
export function findKernelZooDir(): string | null {
  const models = findModelsDir();
  const candidates = [process.env.WISP_KERNEL_ZOO, models && resolve(models, "..", "kernel-zoo")];
  for (const dir of candidates) if (dir && existsSync(join(dir, "index.json"))) return dir;
  return null;
}

// The second zoo (ops beyond the first, whole architectures, TFLM's example
// models) sits there too ($WISP_ZOO2 overrides).
export function findZoo2Dir(): string | null {
  const models = findModelsDir();
  const candidates = [process.env.WISP_ZOO2, models && resolve(models, "..", "zoo2")];
  for (const dir of candidates) if (dir && existsSync(join(dir, "index.json"))) return dir;
  return null;
}

export interface GoldenSet {
  name: string; // e.g. "public", "real"
  inputs: Buffer;
  outputs: Buffer;
}

// Every folder of a model that holds inputs.bin and outputs.bin.
export function goldenSets(modelDir: string): GoldenSet[] {
  return readdirSync(modelDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(modelDir, d.name, "inputs.bin")) && existsSync(join(modelDir, d.name, "outputs.bin")))
    .map((d) => ({ name: d.name, inputs: readFileSync(join(modelDir, d.name, "inputs.bin")), outputs: readFileSync(join(modelDir, d.name, "outputs.bin")) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export const MISSING_MODELS_HINT = "MLPerf Tiny models not found: set WISP_MODELS, place them in ../shared/mlperf-tiny, or run `npm run fetch-models`";

// Downloads the five models from the MLPerf Tiny repository and checks each sha256.
export async function fetchModels(dir = DOWNLOAD_DIR, log: (line: string) => void = console.log): Promise<void> {
  const m = manifest();
  const base = m.repository.replace("https://github.com/", "https://raw.githubusercontent.com/");
  for (const task of TASKS) {
    const { path, sha256: expected } = m.models[task];
    const target = join(dir, task, "model.tflite");
    if (existsSync(target) && sha256(readFileSync(target)) === expected) {
      log(`${task}: already present, sha256 ok`);
      continue;
    }
    const url = `${base}/${m.commit}/${path}`;
    let bytes: Uint8Array;
    try {
      const response = await fetch(url);
      if (!response.ok) fail("IO", `${task}: download failed with HTTP ${response.status} (${url})`);
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      if ((e as { code?: string }).code === "IO") throw e;
      return fail("IO", `${task}: download failed (${(e as Error).message}) from ${url}`);
    }
    const actual = sha256(bytes);
    if (actual !== expected) fail("IO", `${task}: sha256 mismatch (got ${actual}, expected ${expected}); file not written`);
    mkdirSync(join(dir, task), { recursive: true });
    writeFileSync(target, bytes);
    log(`${task}: ${bytes.length} bytes, sha256 ok -> ${target}`);
  }
}
