// Loads build/wisp.wasm (or wisp-simd.wasm) once and gives each model its own instance: one
// instance owns one arena, so models never share memory.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WispError } from "../errors";
import { WispExports, WispImports } from "./abi";
import { PACKAGE_ROOT } from "./package-root";
import { HOST_ALL, hostKernelImports } from "./host-kernels";

// The exports' types are generated from assembly/abi.json.
export type { WispExports } from "./abi";

// build/wisp.wasm is the scalar module (the one AOT devices run); build/wisp-simd.wasm
// is the same source compiled with wasm SIMD128 kernels, for hosts; and
// build/wisp-wasm3.wasm with the loop shapes for interpreters (kernels/lanes.ts),
// the one wasm3 runs. All three give the same bytes.
export type ModuleKind = "scalar" | "simd" | "wasm3";

export function wasmPath(kind: ModuleKind = "scalar"): string {
  if (kind === "simd") return join(PACKAGE_ROOT, "build", "wisp-simd.wasm");
  if (kind === "wasm3") return join(PACKAGE_ROOT, "build", "wisp-wasm3.wasm");
  return process.env.WISP_WASM ?? join(PACKAGE_ROOT, "build", "wisp.wasm");
}

const compiled = new Map<ModuleKind, WebAssembly.Module>();

function compile(kind: ModuleKind): WebAssembly.Module {
  let m = compiled.get(kind);
  if (!m) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPath(kind));
    } catch {
      throw new WispError("IO", `cannot read ${wasmPath(kind)}; run npm install to build it`);
    }
    m = new WebAssembly.Module(new Uint8Array(bytes));
    compiled.set(kind, m);
  }
  return m;
}

export function wasmBytes(kind: ModuleKind = "scalar"): number {
  return readFileSync(wasmPath(kind)).length;
}

// A function returning i32x4.dot_i16x8_s of two v128 constants: it validates
// only where the engine has SIMD128 (every current browser, Node >= 16.4).
const SIMD_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
  1, 5, 1, 0x60, 0, 1, 0x7b, // type: () -> v128
  3, 2, 1, 0, // one function of that type
  0x0a, 0x2b, 1, 0x29, 0, // code: one body, no locals
  0xfd, 0x0c, ...new Array(16).fill(0), 0xfd, 0x0c, ...new Array(16).fill(0), // two v128.const
  0xfd, 0xba, 0x01, 0x0b, // i32x4.dot_i16x8_s, end
]);

let simdChecked: boolean | undefined;

export function engineHasSimd(): boolean {
  simdChecked ??= WebAssembly.validate(SIMD_PROBE);
  return simdChecked;
}

// The module load() runs: SIMD where the engine has it and it is not turned
// off (`simd: false`, or WISP_SIMD=0 in the environment for every load that
// does not say), scalar otherwise.
export function chooseModule(simd: boolean | undefined, hasSimd: boolean = engineHasSimd()): ModuleKind {
  return (simd ?? process.env.WISP_SIMD !== "0") && hasSimd ? "simd" : "scalar";
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
// `module`: a Wisp module's bytes to use instead of build/wisp.wasm;
// `kind`: which of the built modules to use when `module` is not given.
// `hostKernels`: provide the JavaScript host kernels (host-kernels.ts), else none.
export function instantiate(streamed?: Uint8Array, module?: Uint8Array, kind: ModuleKind = "scalar", hostKernels = false): WispExports {
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
  const instance = new WebAssembly.Instance(module ? compileGiven(module) : compile(kind), {
    env,
    wisp_kernels: hostKernelImports(() => exports.memory.buffer, hostKernels ? HOST_ALL : 0),
  });
  exports = instance.exports as unknown as WispExports;
  return exports;
}

export function lastError(w: WispExports): string {
  return Buffer.from(w.memory.buffer, w.wisp_error_ptr(), w.wisp_error_length()).toString("latin1");
}
