// Which engine runs a loaded model's module in Node: V8's WebAssembly
// ("node", the default) or wasm3 through our binding ("wasm3"), the
// interpreter devices run. Both give the same exports.
import { fail } from "../errors";
import { instantiate, ModuleKind, WispExports } from "./runtime";
import { instantiateWasm3 } from "./wasm3";

export const ENGINES = ["node", "wasm3"] as const;
export type EngineName = (typeof ENGINES)[number];

// wasm3 has no SIMD: it runs build/wisp-wasm3.wasm (or the module given).
// hostKernels: the engine's host kernels (docs/host-kernels.md) on; else the module computes every loop.
export function instantiateOn(engine: EngineName | undefined, streamed?: Uint8Array, module?: Uint8Array, kind: ModuleKind = "scalar", hostKernels = false): WispExports {
  if (engine === undefined || engine === "node") return instantiate(streamed, module, kind, hostKernels);
  if (engine === "wasm3") return instantiateWasm3(streamed, module, hostKernels);
  return fail("BAD_INPUT", `engine must be one of ${ENGINES.join(", ")}, not ${String(engine)}`);
}
