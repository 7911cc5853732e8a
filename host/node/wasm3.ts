// The Wisp module under wasm3 in Node, through our own binding
// (host/node/wasm3/binding.c): built by node-gyp against this Node's headers
// on first use, with wasm3's source from host/node/wasm3-source.ts, into
// build/wasm3-node/. instantiateWasm3 gives the same WispExports as
// runtime.ts's instantiate, so the Model API runs unchanged on it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fail, WispError } from "../errors";
import { WispExports } from "./abi";
import { PACKAGE_ROOT } from "./package-root";
import { wasmPath } from "./runtime";
import { wasm3Dir } from "./wasm3-source";

interface Binding {
  instantiate(wasm: Uint8Array, streamed: Uint8Array | null, hostKernels: boolean): object;
  call(instance: object, name: string, args: number[]): number;
  memory(instance: object): ArrayBuffer;
}

const SOURCE = join(PACKAGE_ROOT, "host", "node", "wasm3", "binding.c");
const SMALL_RAM = join(PACKAGE_ROOT, "host", "c", "wasm3", "wasm3_small_ram.h");
const HOST_KERNELS = join(PACKAGE_ROOT, "host", "c", "host_kernels.c");
const HOST_KERNELS_H = join(PACKAGE_ROOT, "host", "c", "host_kernels.h");
const OUT = join(PACKAGE_ROOT, "build", "wasm3-node");
const ADDON = join(OUT, "wisp_wasm3.node");

// npm's own node-gyp (npm sets npm_config_node_gyp when it runs a script).
function nodeGyp(): string {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js")];
  return candidates.find((c) => c && existsSync(c)) ?? fail("IO", "node-gyp not found (it comes with npm); the wasm3 engine in Node needs it to build its binding");
}

// Builds the addon in a folder of its own, then moves it into place, so that
// test processes building at once never load half a file.
function build(source: string): void {
  const tmp = `${OUT}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const sources = readdirSync(source).filter((f) => /^m3_.*\.c$/.test(f) && !f.startsWith("m3_api_")).map((f) => join(source, f));
  writeFileSync(join(tmp, "binding.gyp"), JSON.stringify({
    targets: [{
      target_name: "wisp_wasm3",
      // gyp takes sources relative to the .gyp file
      sources: [SOURCE, HOST_KERNELS, ...sources].map((f) => relative(tmp, f)),
      include_dirs: [relative(tmp, source), relative(tmp, dirname(HOST_KERNELS))],
      defines: ["NAPI_VERSION=8"],
      // the same wasm3 settings as the C host's (host/c/Makefile)
      cflags: ["-include", SMALL_RAM, "-O2", "-Wno-unused-parameter", "-Wno-sign-compare", "-Wno-missing-field-initializers"],
    }],
  }));
  // This Node's own headers when it has them (a distribution's), so nothing is downloaded.
  const prefix = join(dirname(process.execPath), "..");
  const nodedir = existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
  const r = spawnSync(process.execPath, [nodeGyp(), "rebuild", ...nodedir], { cwd: tmp, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) fail("IO", `building the wasm3 binding failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-6).join(" | ")}`);
  renameSync(join(tmp, "build", "Release", "wisp_wasm3.node"), ADDON);
  rmSync(tmp, { recursive: true, force: true });
}

let binding: Binding | null = null;

export function wasm3Binding(): Binding {
  if (!binding) {
    const source = wasm3Dir();
    if (!existsSync(ADDON) || [SOURCE, SMALL_RAM, HOST_KERNELS, HOST_KERNELS_H].some((f) => statSync(ADDON).mtimeMs < statSync(f).mtimeMs)) {
      mkdirSync(OUT, { recursive: true });
      build(source);
    }
    binding = require(ADDON) as Binding;
  }
  return binding;
}

let standard: Uint8Array | null = null;

// One instance of the module (build/wisp-wasm3.wasm, or `module`), its exports
// called through the binding; `streamed`: the model env.wisp_read serves.
export function instantiateWasm3(streamed?: Uint8Array, module?: Uint8Array, hostKernels = false): WispExports {
  const b = wasm3Binding();
  if (!module) {
    try {
      standard ??= new Uint8Array(readFileSync(wasmPath("wasm3")));
    } catch {
      fail("IO", `cannot read ${wasmPath("wasm3")}; run npm install to build it`);
    }
  }
  let instance: object;
  try {
    instance = b.instantiate(module ?? standard!, streamed ?? null, hostKernels);
  } catch (e) {
    return fail("BAD_INPUT", `module does not load under wasm3: ${(e as Error).message}`);
  }
  const memory = { get buffer() { return b.memory(instance); } };
  const functions = new Map<string, (...args: number[]) => number>();
  return new Proxy({ memory } as unknown as WispExports, {
    get(target, name) {
      if (name === "memory" || typeof name !== "string") return Reflect.get(target, name);
      let f = functions.get(name);
      if (!f) {
        f = (...args: number[]) => {
          try {
            return b.call(instance, name, args);
          } catch (e) {
            throw new WispError("RUNTIME", (e as Error).message);
          }
        };
        functions.set(name, f);
      }
      return f;
    },
  });
}
