// Which engine runs a loaded model's module in Node: V8's WebAssembly
// ("node", the default) or wasm3 through our binding ("wasm3"), the
// interpreter devices run. Both give the same exports.
import { fail } from "../errors";
import { instantiate, ModuleKind, WispExports } from "./runtime";
import { instantiateWasm3 } from "./wasm3";

export const ENGINES = ["node", "wasm3"] as const;
export type EngineName = (typeof ENGINES)[number];

// wasm3 has no SIMD: it always runs the scalar module.
export function instantiateOn(engine: EngineName | undefined, streamed?: Uint8Array, module?: Uint8Array, kind: ModuleKind = "scalar"): WispExports {
  if (engine === undefined || engine === "node") return instantiate(streamed, module, kind);
  if (engine === "wasm3") return instantiateWasm3(streamed, module);
  return fail("BAD_INPUT", `engine must be one of ${ENGINES.join(", ")}, not ${String(engine)}`);
}
