// `npm test`: the AssemblyScript kernel specs (as-pect) and the host suites
// (node:test), then one "N passed, N failed" line covering both.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

function run(command, args) {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return { status: r.status, out: strip(r.stdout + r.stderr) };
}

// The firmware tests need the bare-metal toolchain; as root, install it.
if (process.getuid && process.getuid() === 0) {
  const r = spawnSync("bash", ["host/c/install-toolchain.sh"], { stdio: "inherit" });
  if (r.status !== 0) console.log("install-toolchain.sh failed; the firmware tests will skip");
}

const aspect = run(process.execPath, [
  "node_modules/@as-pect/cli/bin/asp.js", "--config", "assembly/__tests__/as-pect.config.mjs",
  "--as-config", "assembly/__tests__/as-pect.asconfig.json", "--no-logo",
]);
const specs = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(aspect.out);
let passed = specs ? Number(specs[1]) : 0;
let failed = specs ? Number(specs[2]) - Number(specs[1]) : 0;
if (!specs || aspect.status !== 0) failed = Math.max(failed, 1);

const suites = readdirSync("dist/tests").filter((f) => f.endsWith(".test.js")).map((f) => join("dist/tests", f));
const host = run(process.execPath, ["--test", "--test-reporter=tap", ...suites]);
const count = (name) => Number((new RegExp(`^# ${name} (\\d+)`, "m").exec(host.out) ?? [0, 0])[1]);
passed += count("pass");
failed += count("fail") + count("cancelled");
if (host.status !== 0 && count("fail") + count("cancelled") === 0) failed += 1;

console.log(`\nas-pect specs: ${specs ? specs[1] : 0}/${specs ? specs[2] : 0}; node:test: ${count("pass")} passed, ${count("fail")} failed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
