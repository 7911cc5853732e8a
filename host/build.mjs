// Bundles the host TypeScript with esbuild: the package entry, the CLI, the
// main job, the benchmarks and the node:test suites.
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";

const common = { bundle: true, platform: "node", target: "node20", format: "cjs", sourcemap: true, logLevel: "warning" };
rmSync("dist", { recursive: true, force: true });
const tests = readdirSync("tests").filter((f) => f.endsWith(".test.ts")).map((f) => `tests/${f}`);

await Promise.all([
  build({ ...common, entryPoints: { index: "host/index.ts", cli: "host/cli.ts", main: "bench/main.ts", bench: "bench/bench.ts", "bench-boards": "bench/boards.ts", "bench-planning": "bench/planning.ts", "fl-experiment": "bench/fl-experiment.ts", "bench-device-train": "bench/device-train.ts", "fl-worker": "host/fl/fleet-worker.ts", "bench-mlperf": "bench/mlperf.ts" }, outdir: "dist", external: ["tfjs-tflite-node", "better-sqlite3", "@tensorflow/tfjs-tflite", "@tensorflow/tfjs-core"] }),
  build({ ...common, entryPoints: tests, outdir: "dist/tests", external: ["better-sqlite3"] }),
]);
