// The host-kernel ABI (docs/host-kernels.md): the module's host-kernel path
// byte-exact with its pure path and TFLM's golden vectors, through the
// JavaScript reference primitives in Node (hostKernels: true) on the five
// MLPerf Tiny models and the kernel zoo, and through the native C primitives
// (host/c/host_kernels.c) under wasm3; and every primitive refusing ranges
// outside linear memory, in JavaScript and in C. The C primitives' Arm DSP
// variant runs in the M4 firmware (tests/firmware.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadSync, Model } from "../host/node/api";
import { goldenSets, TASKS } from "../host/node/models";
import { runGolden } from "../bench/measure";
import { hostKernelCalls, hostKernelImports, multiplyByQuantizedMultiplier } from "../host/node/host-kernels";
import { wasm3Binding } from "../host/node/wasm3";
import { findWasm3Dir, MISSING_WASM3_HINT } from "../host/node/wasm3-source";
import { kernelZoo, modelsDir, PACKAGE_ROOT, prng, readModel } from "./helpers";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";

const wasm3 = findWasm3Dir() ? false : MISSING_WASM3_HINT;
const VECTORS = 4; // per golden set: the JavaScript reference is slow on purpose

function assertExact(model: Model, dir: string, label: string, limit: number): number {
  let vectors = 0;
  for (const whole of goldenSets(dir)) {
    const set = { ...whole, inputs: whole.inputs.subarray(0, limit * model.inputBytes), outputs: whole.outputs.subarray(0, limit * model.outputBytes) };
    const r = runGolden(model, set);
    assert.equal(r.exact, r.vectors, `${label}/${set.name}: ${r.exact}/${r.vectors} byte-exact, first mismatch at vector ${r.firstMismatch}`);
    vectors += r.vectors;
  }
  assert.ok(vectors > 0, `${label}: no golden vectors`);
  return vectors;
}

// Every layer of one input, host-kernel path against pure path.
function assertLayersEqual(pure: Model, host: Model, label: string, seed: number): void {
  const next = prng(seed);
  const input = Int8Array.from({ length: pure.inputBytes }, () => next(256) - 128);
  const a = pure.trace(input), b = host.trace(input);
  assert.equal(a.length, b.length);
  a.forEach((t, i) => assert.deepEqual(b[i], t, `${label}: op ${i} (${pure.info.ops[i].op}) differs`));
}

function callsDuring(f: () => void): { dot: number; depthwise: number; add: number } {
  const before = { ...hostKernelCalls };
  f();
  return { dot: hostKernelCalls.dot - before.dot, depthwise: hostKernelCalls.depthwise - before.depthwise, add: hostKernelCalls.add - before.add };
}

const usesDepthwise = (m: Model) => m.info.ops.some((op) => op.op === "DEPTHWISE_CONV_2D");
const usesDot = (m: Model) => m.info.ops.some((op) => ["CONV_2D", "FULLY_CONNECTED"].includes(op.op));
const usesAdd = (m: Model) => m.info.ops.some((op) => op.op === "ADD");

for (const task of TASKS) {
  const dir = join(modelsDir(), task);
  test(`${task}: the JavaScript host kernels give TFLM's bytes on the first ${VECTORS} vectors of every set, and every layer equals the pure path's, resident and streamed`, () => {
    for (const simd of [false, true]) {
      const host = loadSync(readModel(dir), { hostKernels: true, simd });
      const pure = loadSync(readModel(dir), { simd });
      const calls = callsDuring(() => assertExact(host, dir, `${task} (host kernels)`, VECTORS));
      assert.ok(calls.dot > 0 || !usesDot(host), `${task}: wisp_dot_s8 never ran`);
      assert.ok(calls.depthwise > 0 || !usesDepthwise(host), `${task}: wisp_depthwise_s8 never ran`);
      assert.ok(calls.add > 0 || !usesAdd(host), `${task}: wisp_add_s8 never ran`);
      assertLayersEqual(pure, host, task, 7);
    }
    const streamed = loadSync(readModel(dir), { hostKernels: true, streamWeights: true, simd: false });
    assertExact(streamed, dir, `${task} (host kernels, streamed)`, 1);
  });
  test(`${task}: the native host kernels (host_kernels.c) under wasm3 give TFLM's bytes`, { skip: wasm3 }, () => {
    assertExact(loadSync(readModel(dir), { engine: "wasm3", hostKernels: true }), dir, `${task} (wasm3, host kernels)`, 2);
    assertExact(loadSync(readModel(dir), { engine: "wasm3", hostKernels: true, streamWeights: true }), dir, `${task} (wasm3, host kernels, streamed)`, 1);
  });
}

test("kernel zoo: every model's golden vectors byte-exact through the JavaScript host kernels, and under wasm3 through the native ones", () => {
  const zoo = kernelZoo();
  assert.equal(zoo.length, 31);
  let ran = 0;
  for (const { name, dir } of zoo) {
    const model = loadSync(readModel(dir), { hostKernels: true, simd: false });
    const calls = callsDuring(() => assertExact(model, dir, `${name} (host kernels)`, 8));
    if (calls.dot + calls.depthwise + calls.add > 0) ran++;
    assertLayersEqual(loadSync(readModel(dir), { simd: false }), model, name, 3);
    if (!wasm3) assertExact(loadSync(readModel(dir), { engine: "wasm3", hostKernels: true }), dir, `${name} (wasm3, host kernels)`, 2);
  }
  assert.ok(ran >= 15, `the host kernels ran in only ${ran} zoo models`);
});

// TFLM's MultiplyByQuantizedMultiplier in BigInt, written apart from the
// double-based one under test.
function mbqmBig(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const a = BigInt.asIntN(32, BigInt(x) << BigInt(left));
  const v = Number(BigInt.asIntN(64, a * BigInt(m) + (1n << 30n)) >> 31n) | 0;
  const mask = Number((1n << BigInt(right)) - 1n) | 0;
  return (v >> right) + ((v & mask) > (mask >> 1) + (v < 0 ? 1 : 0) ? 1 : 0);
}

test("multiplyByQuantizedMultiplier (JavaScript) matches TFLM's arithmetic on edge cases and 20,000 random ones", () => {
  const edges: [number, number, number][] = [[5, 1 << 30, -1], [-5, 1 << 30, -1], [2147483647, 2147483647, 0], [-2147483648, 2147483647, 0], [-1, 1 << 30, 30], [123456, 1395864371, -31], [-1073741824, 2147483647, -30]];
  assert.equal(multiplyByQuantizedMultiplier(5, 1 << 30, -1), 2); // 2.5 rounds away from zero
  assert.equal(multiplyByQuantizedMultiplier(-5, 1 << 30, -1), -1); // -2.5: the high multiply gives -2, which halves to -1 (two roundings)
  const next = prng(11);
  for (let i = 0; i < 20000; i++) edges.push([(next(2 ** 32) | 0) >> next(24), 0x40000000 + next(0x40000000), next(40) - 31]);
  for (const [x, m, s] of edges) assert.equal(multiplyByQuantizedMultiplier(x, m, s), mbqmBig(x, m, s), `${x} * ${m} shift ${s}`);
});

// A module of our own that forwards four pointers (out, input, filter,
// records) to each primitive, the other arguments fixed: one output of one
// channel over a run of 4 bytes (dot) or one tap (depthwise); for add, out,
// the two inputs and the count.
function probeModule(): Uint8Array<ArrayBuffer> {
  const leb = (v: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
      out.push(b | 0x80);
    }
  };
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const I32 = 0x7f;
  const type = (params: number) => [0x60, params, ...new Array(params).fill(I32), 0];
  const arg = (n: number) => [0x20, n];
  const constant = (v: number) => [0x41, ...leb(v)];
  // dot: out, outStep, pixels, input, pixelStep, rows, rowStep, runLength, filter, filterStep, filterRowStep, channels, records, inZp, outZp, actMin, actMax
  const dot = [...arg(0), ...constant(1), ...constant(1), ...arg(1), ...constant(4), ...constant(1), ...constant(0), ...constant(4), ...arg(2), ...constant(4), ...constant(0), ...constant(1), ...arg(3), ...constant(-3), ...constant(5), ...constant(-128), ...constant(127), 0x10, 0];
  // depthwise: out, outStep, pixels, input, pixelStep, rows, columns, rowStep, columnStep, filter, filterStep, filterRowStep, channels, records, zps, range
  const depthwise = [...arg(0), ...constant(1), ...constant(1), ...arg(1), ...constant(1), ...constant(1), ...constant(1), ...constant(0), ...constant(0), ...arg(2), ...constant(1), ...constant(0), ...constant(1), ...arg(3), ...constant(-3), ...constant(5), ...constant(-128), ...constant(127), 0x10, 1];
  // add: out, input1, input2, count, zero points -3, 5, 1, left shift 20, both inputs times 0.5, the sum times 0.5 / 2^19
  const add = [...arg(0), ...arg(1), ...arg(2), ...arg(3), ...constant(-3), ...constant(5), ...constant(1), ...constant(20), ...constant(1 << 30), ...constant(0), ...constant(1 << 30), ...constant(0), ...constant(1 << 30), ...constant(-19), ...constant(-128), ...constant(127), 0x10, 2];
  const body = (code: number[]) => [...leb(code.length + 2), 0, ...code, 0x0b];
  return new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [4, ...type(17), ...type(18), ...type(4), ...type(16)]),
    ...section(2, [3, ...str("wisp_kernels"), ...str("wisp_dot_s8"), 0, 0, ...str("wisp_kernels"), ...str("wisp_depthwise_s8"), 0, 1, ...str("wisp_kernels"), ...str("wisp_add_s8"), 0, 3]),
    ...section(3, [3, 2, 2, 2]),
    ...section(5, [1, 0, 1]),
    ...section(7, [4, ...str("memory"), 2, 0, ...str("dot"), 0, 3, ...str("depthwise"), 0, 4, ...str("add"), 0, 5]),
    ...section(10, [3, ...body(dot), ...body(depthwise), ...body(add)]),
  ]);
}

// Pointers each primitive must refuse in a 64 KiB memory: each region in turn
// pushed past the end (the last byte one past it, and wrapped around 2^32).
const IN_RANGE = [0, 16, 32, 64];
const OUT_OF_RANGE = [[65536, 16, 32, 64], [0, 65533, 32, 64], [0, 16, 65533, 64], [0, 16, 32, 65525], [0xffffffff, 16, 32, 64], [0, 0xfffffffe, 32, 64]];
// The same for add (out, input1, input2, count): one element of 10 and -6 gives 2.
const ADD_IN_RANGE = [0, 16, 17, 1];
const ADD_OUT_OF_RANGE = [[65536, 16, 17, 1], [0, 65535, 17, 2], [0, 16, 65536, 1], [0, 16, 17, 65537], [0xffffffff, 16, 17, 1], [0, 16, 0xfffffffe, 3]];

// Fills memory for the probe: the result lands in byte 0.
function fill(memory: Uint8Array): void {
  memory.fill(0, 0, 128);
  memory.set([10, 250, 3, 7], 16); // input 10, -6, 3, 7
  memory.set([2, 1, 255, 4], 32); // filter 2, 1, -1, 4
  new DataView(memory.buffer, memory.byteOffset).setInt32(64, 9, true); // bias
  new DataView(memory.buffer, memory.byteOffset).setInt32(68, 1 << 30, true); // multiplier 0.5
  new DataView(memory.buffer, memory.byteOffset).setInt32(72, 0, true); // shift
  // dot: (13*2 + -3*1 + 6*-1 + 10*4 + 9) * 0.5 -> 33, + 5; depthwise: (13*2 + 9) * 0.5 -> 18, + 5
}

test("the JavaScript primitives compute one known output each and refuse every range outside linear memory", () => {
  let memory: WebAssembly.Memory | undefined;
  const imports = hostKernelImports(() => memory!.buffer, 7);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(probeModule()), { wisp_kernels: imports as unknown as WebAssembly.ModuleImports });
  memory = instance.exports.memory as WebAssembly.Memory;
  const { dot, depthwise, add } = instance.exports as Record<string, (...a: number[]) => void>;
  const bytes = new Uint8Array(memory.buffer);
  fill(bytes);
  dot(...IN_RANGE);
  assert.equal(bytes[0], 38);
  depthwise(...IN_RANGE);
  assert.equal(bytes[0], 23);
  add(...ADD_IN_RANGE);
  assert.equal(bytes[0], 2);
  for (const args of ADD_OUT_OF_RANGE) {
    fill(bytes);
    assert.throws(() => add(...args), (e: Error & { code?: string }) => e.code === "RUNTIME" && /outside linear memory/.test(e.message), `add ${args}`);
    assert.equal(bytes[0], 0, "nothing written before the refusal");
  }
  for (const args of OUT_OF_RANGE) {
    fill(bytes);
    assert.throws(() => dot(...args), (e: Error & { code?: string }) => e.code === "RUNTIME" && /outside linear memory/.test(e.message), `dot ${args}`);
    assert.throws(() => depthwise(...args.map((v, i) => (i === 1 && v === 65533 ? 65536 : i === 2 && v === 65533 ? 65536 : v))), /outside linear memory/, `depthwise ${args}`);
    assert.equal(bytes[0], 0, "nothing written before the refusal");
  }
});

test("the C primitives (host_kernels.c, natively under wasm3) compute the same output and refuse every range outside linear memory", { skip: wasm3 }, () => {
  const b = wasm3Binding();
  const instance = b.instantiate(probeModule(), null, true);
  const bytes = () => new Uint8Array(b.memory(instance));
  fill(bytes());
  b.call(instance, "dot", IN_RANGE);
  assert.equal(bytes()[0], 38);
  b.call(instance, "depthwise", IN_RANGE);
  assert.equal(bytes()[0], 23);
  b.call(instance, "add", ADD_IN_RANGE);
  assert.equal(bytes()[0], 2);
  for (const args of ADD_OUT_OF_RANGE) {
    fill(bytes());
    assert.throws(() => b.call(instance, "add", args), /wisp_add_s8: a range lies outside linear memory/, `add ${args}`);
    assert.equal(bytes()[0], 0, "nothing written before the refusal");
  }
  for (const args of OUT_OF_RANGE) {
    fill(bytes());
    assert.throws(() => b.call(instance, "dot", args), /wisp_dot_s8: a range lies outside linear memory/, `dot ${args}`);
    assert.throws(() => b.call(instance, "depthwise", args.map((v, i) => (i === 1 && v === 65533 ? 65536 : i === 2 && v === 65533 ? 65536 : v))), /wisp_depthwise_s8: a range lies outside/, `depthwise ${args}`);
    assert.equal(bytes()[0], 0, "nothing written before the refusal");
  }
});

test("hostKernels must be a boolean; wasm3 and Node without it report no host kernels", () => {
  const dir = join(modelsDir(), "ad");
  assert.throws(() => loadSync(readModel(dir), { hostKernels: 1 as unknown as boolean }), (e: Error & { code?: string }) => e.code === "BAD_INPUT");
  const calls = callsDuring(() => assertExact(loadSync(readModel(dir), { simd: false }), dir, "ad (pure)", 1));
  assert.deepEqual(calls, { dot: 0, depthwise: 0, add: 0 });
});

test("host_kernels.c against its plain reference on 6,000 random calls, and refusing each region past the end (native cc)", () => {
  const exe = join(mkdtempSync(join(tmpdir(), "wisp-hk-")), "host_kernels_test");
  const c = join(PACKAGE_ROOT, "host", "c");
  const built = spawnSync("cc", ["-O2", "-Wall", "-Werror", "-I", c, join(c, "host_kernels.c"), join(c, "test", "host_kernels_test.c"), "-o", exe], { encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  const r = spawnSync(exe, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /6000 cases exact, out-of-range regions refused/);
});
