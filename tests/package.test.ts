// The npm package as a user gets it: `npm pack`, installed from the tarball
// into an empty folder, then required, run, its CLI called and its type
// declarations compiled against.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelsDir, PACKAGE_ROOT } from "./helpers";

const tmp = mkdtempSync(join(tmpdir(), "wisp-pack-"));
// The npm that runs the tests (under `npm test`, node_modules/.bin comes
// first on PATH and holds an old npm some dependency brings).
const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : undefined;
function npm(args: string[], cwd: string): string {
  return npmCli ? run(process.execPath, [npmCli, ...args], cwd) : run(process.platform === "win32" ? "npm.cmd" : "npm", args, cwd);
}
const kws = join(modelsDir(), "kws");

// As a user's shell runs them: without the npm settings of the `npm test` that runs us.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${command} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// Packed once (the build already ran: --ignore-scripts), installed once.
const tarball = join(tmp, npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", tmp], PACKAGE_ROOT).trim().split("\n").pop()!);
const app = mkdtempSync(join(tmp, "app-"));
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
npm(["install", tarball, "--no-audit", "--no-fund", "--prefer-offline", "--silent"], app);

test("the tarball holds what users need and nothing else", (t) => {
  const files = run("tar", ["-tzf", tarball], tmp).trim().split("\n").map((f) => f.replace(/^package\//, ""));
  for (const needed of ["dist/index.js", "dist/index.d.ts", "dist/cli.js", "bin/wisp.js", "build/wisp.wasm", "build/wisp-simd.wasm", "build/wisp-wasm3.wasm", "build/wisp-train.wasm", "build/c/wisp_exports.h", "asconfig.json", "assembly/index.ts", "package.json"]) {
    assert.ok(files.includes(needed), `${needed} missing from the tarball`);
  }
  const unwanted = files.filter((f) => /(^|\/)tests?\/|__tests__|\.map$|\.wat$|\.debug\.|^dist\/bench|^host\/|\.test\./.test(f));
  assert.deepEqual(unwanted, []);
  t.diagnostic(`tarball ${statSync(tarball).size} bytes, ${files.length} files`);
});

test("require() from the installed tarball runs kws byte-exact", () => {
  const script = `
    const { load, WispError } = require("wisp-tinyml");
    const fs = require("fs");
    (async () => {
      const model = await load(fs.readFileSync(${JSON.stringify(join(kws, "model.tflite"))}));
      const inputs = fs.readFileSync(${JSON.stringify(join(kws, "public", "inputs.bin"))});
      const outputs = fs.readFileSync(${JSON.stringify(join(kws, "public", "outputs.bin"))});
      const y = model.invoke(new Int8Array(inputs.buffer, inputs.byteOffset, model.inputBytes));
      const same = Buffer.from(y.buffer).equals(outputs.subarray(0, model.outputBytes));
      let coded = "";
      try { await load(new Uint8Array(8)); } catch (e) { coded = e instanceof WispError ? e.code : "not a WispError"; }
      console.log(JSON.stringify({ same, coded, ops: model.info.ops.length }));
    })();`;
  const result = JSON.parse(run(process.execPath, ["-e", script], app).trim());
  assert.deepEqual(result, { same: true, coded: "BAD_INPUT", ops: 12 });
});

test("npx wisp inspect works from the installed package", () => {
  const out = npm(["exec", "--offline", "--", "wisp", "inspect", join(kws, "model.tflite")], app);
  assert.match(out, /total: 12 ops, 2,656,768 MACs/);
});

// Compiles consumer code with the package's declarations, once as a plain
// CommonJS project and once with Node16 resolution (which reads the
// `exports` map's `types`); a misuse must fail to compile.
function typecheck(source: string, resolution: "node" | "node16"): { status: number | null; out: string } {
  const file = join(app, `consumer-${resolution}.ts`);
  writeFileSync(file, source);
  const tsc = join(PACKAGE_ROOT, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", resolution === "node" ? "commonjs" : "node16",
    "--moduleResolution", resolution, "--types", "node", "--typeRoots", join(PACKAGE_ROOT, "node_modules", "@types"), file], { cwd: app, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

const CONSUMER = `
import { load, loadSync, Model, ModelInfo, WispError, WispErrorCode, listen, readWav, convertTflite } from "wisp-tinyml";
async function main(bytes: Uint8Array): Promise<number> {
  const model: Model = await load(bytes, { weightWindow: 4096 });
  const y: Int8Array = model.invoke(new Int8Array(model.inputBytes));
  const info: ModelInfo = model.info;
  const code: WispErrorCode = new WispError("BAD_INPUT", "x").code;
  const heard = listen(loadSync(bytes), readWav(bytes));
  const { wisp } = convertTflite(bytes);
  return y[0] + info.arenaBytes + code.length + heard.windows + wisp.length;
}
main(new Uint8Array(0));
`;

for (const resolution of ["node", "node16"] as const) {
  test(`the type declarations compile a consumer (${resolution} resolution), and reject a misuse`, () => {
    const good = typecheck(CONSUMER, resolution);
    assert.equal(good.status, 0, good.out);
    const bad = typecheck(`import { load } from "wisp-tinyml";\nload(new Uint8Array(0)).then((m) => m.invoke("not a tensor"));\n`, resolution);
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /TS2769|TS2345/);
  });
}
