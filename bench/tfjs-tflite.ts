// tfjs-tflite (TensorFlow Lite's own WebAssembly build, XNNPACK with SIMD) as
// a second speed peer in `npm run bench`, when installed beside Wisp:
//   npm install --no-save @tensorflow/tfjs-tflite@0.0.1-alpha.10 @tensorflow/tfjs-core
// It is made for browsers and web workers, so this stands in for the few
// worker globals its loader uses (self.location, importScripts, fetch of its
// own files), and serves the single-threaded SIMD build where the loader asks
// for the threaded one: one thread, as native TFLite runs here.
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { runInThisContext } from "node:vm";

export interface TfjsRunner {
  getInputs(): { data(): Int8Array }[];
  getOutputs(): { data(): Int8Array }[];
  infer(): boolean;
}

const ORIGIN = "http://tfjs-tflite.local/";

// A loader of models, or why there is none.
export function tfjsTflite(): ((model: Uint8Array) => Promise<TfjsRunner>) | string {
  let tflite: { setWasmPath(path: string): void; loadTFLiteModel(model: ArrayBuffer, options: object): Promise<{ modelRunner: TfjsRunner }> };
  let dir: string;
  try {
    dir = join(dirname(require.resolve("@tensorflow/tfjs-tflite/package.json")), "wasm");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require("@tensorflow/tfjs-core");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    tflite = require("@tensorflow/tfjs-tflite/dist/tf-tflite.node.js");
  } catch {
    return "not installed (npm install --no-save @tensorflow/tfjs-tflite@0.0.1-alpha.10 @tensorflow/tfjs-core)";
  }
  const local = (url: unknown) => join(dir, basename(String(url)).replace("_simd_threaded.", "_simd."));
  const g = globalThis as Record<string, unknown>;
  g.self = globalThis;
  g.location = { origin: ORIGIN.slice(0, -1), href: ORIGIN };
  g.importScripts = (url: string) => runInThisContext(readFileSync(local(url), "utf8"), { filename: url });
  const fetchAny = globalThis.fetch;
  g.fetch = (url: unknown, init?: RequestInit) =>
    String(url).startsWith(ORIGIN) ? Promise.resolve(new Response(readFileSync(local(url)), { headers: { "Content-Type": "application/wasm" } })) : fetchAny(url as string, init);
  tflite.setWasmPath(ORIGIN);
  return async (model) => (await tflite.loadTFLiteModel(model.slice().buffer, { numThreads: 1 })).modelRunner;
}
