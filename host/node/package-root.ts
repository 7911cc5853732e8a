// The package root, found by walking up from this bundle to package.json, so
// bundles in dist/ and dist/tests/ agree.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "wisp-tinyml") return dir;
    if (dirname(dir) === dir) return join(start, "..");
  }
}

export const PACKAGE_ROOT = findRoot(__dirname);
