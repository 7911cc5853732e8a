// Loads build/wisp.wasm once and gives each model its own instance: one
// instance owns one arena, so models never share memory.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WispError } from "../errors";
import { WispExports, WispImports } from "./abi";
import { PACKAGE_ROOT } from "./package-root";

// The exports' types are generated from assembly/abi.json.
export type { WispExports } from "./abi";

export function wasmPath(): string {
  return process.env.WISP_WASM ?? join(PACKAGE_ROOT, "build", "wisp.wasm");
}

let compiled: WebAssembly.Module | null = null;

function compile(): WebAssembly.Module {
  if (!compiled) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPath());
    } catch {
      throw new WispError("IO", `cannot read ${wasmPath()}; run npm install to build it`);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

export function wasmBytes(): number {
  return readFileSync(wasmPath()).length;
}

// Modules given as bytes (a per-model module from `wisp build-module`),
// compiled once each.
const given = new WeakMap<Uint8Array, WebAssembly.Module>();

function compileGiven(bytes: Uint8Array): WebAssembly.Module {
  let m = given.get(bytes);
  if (!m) {
    try {
      m = new WebAssembly.Module(new Uint8Array(bytes));
    } catch (e) {
      throw new WispError("BAD_INPUT", `module is not a WebAssembly module: ${(e as Error).message}`);
    }
    if (!WebAssembly.Module.exports(m).some((x) => x.name === "wisp_load")) throw new WispError("BAD_INPUT", "module is not a Wisp module (no wisp_load export)");
    given.set(bytes, m);
  }
  return m;
}

// The imports: env.abort (never called by the release build) and
// env.wisp_read, which serves a streamed model's bytes from `streamed`.
// `module`: a Wisp module's bytes to use instead of build/wisp.wasm.
export function instantiate(streamed?: Uint8Array, module?: Uint8Array): WispExports {
  let exports: WispExports;
  const env: WispImports = {
    abort: () => {
      throw new WispError("RUNTIME", "the Wisp module aborted");
    },
    wisp_read: (dst, offset, bytes) => {
      const memory = new Uint8Array(exports.memory.buffer);
      if (!streamed || offset + bytes > streamed.length || dst + bytes > memory.length) {
        throw new WispError("RUNTIME", `the module read ${bytes} model bytes at ${offset} outside the model`);
      }
      memory.set(streamed.subarray(offset, offset + bytes), dst);
    },
  };
  const instance = new WebAssembly.Instance(module ? compileGiven(module) : compile(), { env });
  exports = instance.exports as unknown as WispExports;
  return exports;
}

export function lastError(w: WispExports): string {
  return Buffer.from(w.memory.buffer, w.wisp_error_ptr(), w.wisp_error_length()).toString("latin1");
}
