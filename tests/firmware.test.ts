// The same build/wisp.wasm, translated by wasm2c and linked into bare-metal
// firmware, runs golden vectors byte-exact on every emulated board (QEMU),
// and its guest instructions per inference stay within the committed budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { measureListenOnBoard } from "../host/boards/listen";
import { buildHostKernelTest, missingTools, readBoard, runFirmware } from "../host/boards/build";
import { measureOnBoard } from "../host/boards/measure";
import { HOST_KERNEL_BOARD, PURE_BUDGET_KEY, WASM3_HOST_BUDGET_KEY } from "../host/boards/matrix";
import { BUDGET_FILE, BUDGET_TOLERANCE, RAM_GOALS, TARGETS, targetMatrix, WASM3_BOARD, WASM3_BUDGET_KEY, WASM3_FIRMWARE_MODELS, WASM3_PLACEMENT, WASM3_RAM_GOALS, ZOO2_BOARD, ZOO2_FIRMWARE_MODELS, ZOO2_PLACEMENT } from "../host/boards/matrix";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { findZoo2Dir } from "../host/node/models";
import { modelsDir, PACKAGE_ROOT } from "./helpers";

const missing = missingTools();
const skip = missing.length ? `toolchain missing (${missing.join(", ")}): run host/c/install-toolchain.sh as root` : false;
const VECTORS = 3;
const ALL_HOST_KERNELS = 7; // WISP_HOST_ALL (host_kernels.h): dot, depthwise, add
const budget: Record<string, Record<string, number>> = JSON.parse(readFileSync(join(PACKAGE_ROOT, BUDGET_FILE), "utf8"));

for (const { board, task, placement } of targetMatrix()) {
  const where = placement.fromFlash ? `, model streamed${placement.modelFile ? " from a file" : ""} through a ${placement.weightWindow ?? "whole-op"}-byte window` : "";
  test(`${board} (${TARGETS[board]}, wasm2c AOT${where}): ${task} byte-exact, instructions within budget`, { skip }, () => {
    const m = measureOnBoard(board, task, join(modelsDir(), task), VECTORS, "aot", placement);
    assert.equal(m.exact, VECTORS, `${board} ${task}: ${m.exact}/${VECTORS} byte-exact`);
    assert.equal(m.hostKernels, readBoard(board).hostKernels ? ALL_HOST_KERNELS : 0, `${board}: the host kernels the firmware offered`);
    const allowed = budget[board]?.[task];
    assert.ok(allowed, `${board} ${task}: no budget in ${BUDGET_FILE} (measured ${m.instructionsPerInference})`);
    assert.ok(m.instructionsPerInference <= allowed * (1 + BUDGET_TOLERANCE),
      `${board} ${task}: ${m.instructionsPerInference} instructions per inference, budget ${allowed} (+${BUDGET_TOLERANCE * 100}%)`);
  });
}

const zoo2 = findZoo2Dir();
for (const name of ZOO2_FIRMWARE_MODELS) {
  test(`${ZOO2_BOARD} (${TARGETS[ZOO2_BOARD]}, wasm2c AOT, model in flash): zoo2 ${name} byte-exact, instructions within budget`, { skip: skip || (zoo2 ? false : "zoo2 not found") }, () => {
    const m = measureOnBoard(ZOO2_BOARD, name, join(zoo2!, name), VECTORS, "aot", ZOO2_PLACEMENT);
    assert.equal(m.exact, VECTORS, `${name}: ${m.exact}/${VECTORS} byte-exact`);
    const allowed = budget[ZOO2_BOARD]?.[name];
    assert.ok(allowed, `${name}: no budget in ${BUDGET_FILE} (measured ${m.instructionsPerInference})`);
    assert.ok(m.instructionsPerInference <= allowed * (1 + BUDGET_TOLERANCE), `${name}: ${m.instructionsPerInference} instructions per inference, budget ${allowed} (+${BUDGET_TOLERANCE * 100}%)`);
  });
}

for (const [task, goal] of Object.entries(RAM_GOALS)) {
  test(`mps2-an386, model in flash: ${task} byte-exact within its ${goal / 1024} KiB RAM goal`, { skip }, () => {
    const m = measureOnBoard("mps2-an386", task, join(modelsDir(), task), VECTORS, "aot", { fromFlash: true });
    assert.equal(m.exact, VECTORS, `${task}: ${m.exact}/${VECTORS} byte-exact from flash`);
    assert.ok(m.ramBytes <= goal, `${task}: ${m.ramBytes} bytes of RAM from flash, goal ${goal}`);
  });
}

// The same module under wasm3 in firmware: build/wisp-wasm3.wasm (the interpreter build) as it is, and a
// per-model module within the RAM goal (heap high-water mark counted).
const wasm3 = skip || (findWasm3Dir() ? false : MISSING_WASM3_HINT);
test(`${WASM3_BOARD} (${TARGETS[WASM3_BOARD]}, wasm3, build/wisp-wasm3.wasm, model in RAM): sww byte-exact`, { skip: wasm3 }, () => {
  const m = measureOnBoard(WASM3_BOARD, "sww", join(modelsDir(), "sww"), VECTORS, "wasm3");
  assert.equal(m.exact, VECTORS, `sww: ${m.exact}/${VECTORS} byte-exact under wasm3`);
});
for (const task of WASM3_FIRMWARE_MODELS) {
  const goal = WASM3_RAM_GOALS[task];
  test(`${WASM3_BOARD} (${TARGETS[WASM3_BOARD]}, wasm3, per-model module, model in flash): ${task} byte-exact within its ${goal / 1024} KiB RAM goal and its instruction budget`, { skip: wasm3 }, () => {
    const m = measureOnBoard(WASM3_BOARD, task, join(modelsDir(), task), VECTORS, "wasm3", WASM3_PLACEMENT, true);
    assert.equal(m.exact, VECTORS, `${task}: ${m.exact}/${VECTORS} byte-exact under wasm3`);
    assert.ok(m.heapBytes > m.linearMemoryBytes, `${task}: the counted heap (${m.heapBytes}) holds the linear memory (${m.linearMemoryBytes})`);
    assert.ok(m.ramBytes <= goal, `${task}: ${m.ramBytes} bytes of RAM under wasm3 (heap ${m.heapBytes}, peak stack ${m.peakStackBytes}), goal ${goal}`);
    const allowed = budget[WASM3_BUDGET_KEY]?.[task];
    assert.ok(allowed, `${task}: no ${WASM3_BUDGET_KEY} budget in ${BUDGET_FILE} (measured ${m.instructionsPerInference})`);
    assert.ok(m.instructionsPerInference <= allowed * (1 + BUDGET_TOLERANCE), `${task} under wasm3: ${m.instructionsPerInference} instructions per inference, budget ${allowed} (+${BUDGET_TOLERANCE * 100}%)`);
  });
}

test("mps2-an386: the wakeword front end, ring and model run in firmware, every window byte-exact, re-run and incremental", { skip }, () => {
  const m = measureListenOnBoard("mps2-an386", modelsDir());
  assert.equal(m.windows, 50);
  assert.equal(m.exact, m.windows, `${m.exact}/${m.windows} windows match the reference scores`);
  assert.equal(m.incrementalExact, m.windows, `incremental: ${m.incrementalExact}/${m.windows} windows match the reference scores`);
  assert.ok(m.featuresInstructionsPerHop > 0 && m.instructionsPerHop > m.featuresInstructionsPerHop);
  assert.ok(m.incrementalInstructionsPerHop > m.featuresInstructionsPerHop && m.incrementalInstructionsPerHop < m.instructionsPerHop);
});

// The host kernels (host/c/host_kernels.c, docs/host-kernels.md): the
// boards' default is on (microbit: off); here the M4 runs every model both
// ways, each byte-exact and within its budget, and the primitives' DSP build
// against their plain reference.
test(`${HOST_KERNEL_BOARD} (${TARGETS[HOST_KERNEL_BOARD]}): host_kernels.c built for the core (SMLAD) equals its plain reference on 6,000 random calls and refuses out-of-range regions`, { skip }, () => {
  const r = runFirmware(HOST_KERNEL_BOARD, buildHostKernelTest(HOST_KERNEL_BOARD));
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /host kernels: 6000 cases exact, out-of-range regions refused/);
});
for (const task of ["kws", "ic", "vww", "ad", "sww"]) {
  test(`${HOST_KERNEL_BOARD} (wasm2c AOT, HOST_KERNELS=0): ${task} byte-exact on the pure path, instructions within budget`, { skip }, () => {
    const m = measureOnBoard(HOST_KERNEL_BOARD, task, join(modelsDir(), task), VECTORS, "aot", {}, false, false);
    assert.equal(m.exact, VECTORS, `${task}: ${m.exact}/${VECTORS} byte-exact without host kernels`);
    assert.equal(m.hostKernels, 0);
    const allowed = budget[PURE_BUDGET_KEY]?.[task];
    assert.ok(allowed, `${task}: no ${PURE_BUDGET_KEY} budget in ${BUDGET_FILE} (measured ${m.instructionsPerInference})`);
    assert.ok(m.instructionsPerInference <= allowed * (1 + BUDGET_TOLERANCE), `${task} pure: ${m.instructionsPerInference} instructions per inference, budget ${allowed}`);
  });
}
for (const task of ["kws", "ad"]) {
  test(`${HOST_KERNEL_BOARD} (wasm3, build/wisp-wasm3.wasm, model in RAM): ${task} byte-exact with the host kernels within budget, and without them`, { skip: wasm3 }, () => {
    const m = measureOnBoard(HOST_KERNEL_BOARD, task, join(modelsDir(), task), VECTORS, "wasm3", {}, false, true);
    assert.equal(m.exact, VECTORS, `${task}: ${m.exact}/${VECTORS} byte-exact under wasm3 with host kernels`);
    assert.equal(m.hostKernels, ALL_HOST_KERNELS);
    const allowed = budget[WASM3_HOST_BUDGET_KEY]?.[task];
    assert.ok(allowed, `${task}: no ${WASM3_HOST_BUDGET_KEY} budget in ${BUDGET_FILE} (measured ${m.instructionsPerInference})`);
    assert.ok(m.instructionsPerInference <= allowed * (1 + BUDGET_TOLERANCE), `${task} wasm3 + host kernels: ${m.instructionsPerInference}, budget ${allowed}`);
    const pure = measureOnBoard(HOST_KERNEL_BOARD, task, join(modelsDir(), task), VECTORS, "wasm3", {}, false, false);
    assert.equal(pure.exact, VECTORS, `${task}: ${pure.exact}/${VECTORS} byte-exact under wasm3 without host kernels`);
    assert.equal(pure.hostKernels, 0);
  });
}
