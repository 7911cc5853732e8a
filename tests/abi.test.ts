// The ABI's one declaration (assembly/abi.json) against the built modules:
// the exports and imports of build/wisp.wasm and build/wisp.debug.wasm, read
// from their binaries with their signatures, must be exactly the declared
// ones; the generated copies (TypeScript, C) must be up to date with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXPORTS, IMPORTS, RUNTIME_CODES, WasmFunction } from "../host/node/abi";
import * as F from "../assembly/format";
import { PACKAGE_ROOT } from "./helpers";

interface ModuleAbi {
  exports: WasmFunction[];
  imports: { name: string; module: string; params: string[]; result: string | null }[];
  memoryExported: boolean;
}

// Reads a module's type, import, function and export sections.
function readModuleAbi(bytes: Uint8Array): ModuleAbi {
  let at = 8;
  const byte = () => bytes[at++];
  const uleb = () => {
    let value = 0, shift = 0, b: number;
    do {
      b = byte();
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return value;
  };
  const name = () => {
    const n = uleb();
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const VALTYPES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };
  const types: { params: string[]; result: string | null }[] = [];
  const funcTypes: number[] = []; // imported functions first, as wasm numbers them
  const imports: ModuleAbi["imports"] = [];
  const exports: WasmFunction[] = [];
  let memoryExported = false;
  while (at < bytes.length) {
    const id = byte();
    const size = uleb();
    const end = at + size;
    if (id === 1) {
      for (let n = uleb(); n > 0; n--) {
        assert.equal(byte(), 0x60);
        const params = Array.from({ length: uleb() }, () => VALTYPES[byte()]);
        const results = Array.from({ length: uleb() }, () => VALTYPES[byte()]);
        types.push({ params, result: results[0] ?? null });
      }
    } else if (id === 2) {
      for (let n = uleb(); n > 0; n--) {
        const module = name(), field = name(), kind = byte();
        assert.equal(kind, 0, `import ${module}.${field} is not a function`);
        const type = uleb();
        funcTypes.push(type);
        imports.push({ module, name: field, ...types[type] });
      }
    } else if (id === 3) {
      for (let n = uleb(); n > 0; n--) funcTypes.push(uleb());
    } else if (id === 7) {
      for (let n = uleb(); n > 0; n--) {
        const field = name(), kind = byte(), index = uleb();
        if (kind === 2 && field === "memory") memoryExported = true;
        else {
          assert.equal(kind, 0, `export ${field} is not a function`);
          exports.push({ name: field, ...types[funcTypes[index]] });
        }
      }
    }
    at = end;
  }
  return { exports, imports, memoryExported };
}

const sorted = <T extends { name: string }>(list: T[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));

for (const file of ["wisp.wasm", "wisp-wasm3.wasm", "wisp.debug.wasm"]) {
  test(`build/${file} exports and imports exactly what assembly/abi.json declares`, () => {
    const abi = readModuleAbi(new Uint8Array(readFileSync(join(PACKAGE_ROOT, "build", file))));
    assert.ok(abi.memoryExported, "the module exports its memory");
    const declared = EXPORTS.map(({ name, params, result }) => ({ name, params, result }));
    assert.deepEqual(sorted(abi.exports), sorted(declared));
    const debug = file.includes("debug");
    const expectedImports = IMPORTS.filter((f) => debug || !f.debugOnly).map(({ module, name, params, result }) => ({ module, name, params, result }));
    assert.deepEqual(sorted(abi.imports), sorted(expectedImports));
  });
}

test("the generated ABI files (TypeScript, C headers) are up to date with assembly/abi.json", () => {
  const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, "host", "gen-abi.mjs"), "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("every module error code has a Node error code, and format.ts re-exports the declared codes", () => {
  const declared = JSON.parse(readFileSync(join(PACKAGE_ROOT, "assembly", "abi.json"), "utf8")).errors as { name: string; code: number }[];
  for (const e of declared) {
    assert.equal((F as unknown as Record<string, number>)[`ERR_${e.name}`], e.code, `format.ts ERR_${e.name}`);
    if (e.code !== 0) assert.ok(RUNTIME_CODES[e.code], `no Node code for ERR_${e.name}`);
  }
});
