// Where wasm3's source folder is (the one with wasm3.h), for the C host's
// wasm3 engine, the firmware and the Node binding: $WASM3_DIR, else
// ../shared/wasm3/source beside the repository or beside the models. The
// project never ships wasm3; users bring their own.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fail } from "../errors";
import { findModelsDir } from "./models";
import { PACKAGE_ROOT } from "./package-root";

export const MISSING_WASM3_HINT = "wasm3's source not found: set WASM3_DIR to wasm3's source folder (the one with wasm3.h), or place it at ../shared/wasm3/source beside the repository";

// null when no candidate holds wasm3.h.
export function findWasm3Dir(): string | null {
  const models = findModelsDir();
  const candidates = [process.env.WASM3_DIR, resolve(PACKAGE_ROOT, "..", "shared", "wasm3", "source"), models && resolve(models, "..", "wasm3", "source")];
  for (const dir of candidates) if (dir && existsSync(join(dir, "wasm3.h"))) return dir;
  return null;
}

// The folder, or a USAGE error saying where to put it.
export function wasm3Dir(): string {
  return findWasm3Dir() ?? fail("USAGE", MISSING_WASM3_HINT);
}
