// The wisp_kernels imports (docs/host-kernels.md) for the Node engine. By
// default the host provides none (mask 0) and the module computes every
// loop itself; load(bytes, { hostKernels: true }) provides these JavaScript
// reference implementations, so tests run the module's host-kernel path in
// Node and compare it byte for byte with the pure path. They follow the ABI
// to the letter (one range check per region per call), not for speed.
import { WispError } from "../errors";
import { HostKernelImports } from "./abi";

export const HOST_DOT = 1;
export const HOST_DEPTHWISE = 2;
export const HOST_ADD = 4;
export const HOST_ALL = HOST_DOT | HOST_DEPTHWISE | HOST_ADD;

// How often each primitive ran in this process (tests check that the path ran).
export const hostKernelCalls = { dot: 0, depthwise: 0, add: 0 };

// A channel record: bias, multiplier, shift (int32 each; assembly/format.ts).
const RECORD_BYTES = 12;

// (x * multiplier + 2^30) >> 31 exactly, in doubles: x * multiplier needs 62
// bits, so the multiplier goes in two 16-bit halves.
function highMul(x: number, multiplier: number): number {
  const a = x * Math.floor(multiplier / 65536); // |a| < 2^46
  const b = x * (multiplier % 65536) + 2 ** 30; // |b| < 2^48
  const qa = Math.floor(a / 32768);
  return qa + Math.floor(((a - qa * 32768) * 65536 + b) / 2 ** 31);
}

// TFLM's MultiplyByQuantizedMultiplier (multiplier >= 0, as the runtime checks at load).
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  const v = highMul((x << left) | 0, multiplier) | 0;
  const mask = ((1 << right) - 1) | 0;
  const threshold = (mask >> 1) + (v < 0 ? 1 : 0);
  return (v >> right) + ((v & mask) > threshold ? 1 : 0);
}

// Throws unless [start, start + bytes) lies in memory; empty regions are never read.
function inside(memory: Uint8Array, start: number, bytes: number, what: string): void {
  if (bytes > 0 && start + bytes > memory.length) throw new WispError("RUNTIME", `host kernel: ${what} lies outside linear memory`);
}

// The last byte offset a run of `counts[i]` steps of `steps[i]` reaches, plus one.
function extent(last: number, ...pairs: [number, number][]): number {
  if (last === 0) return 0;
  let n = last;
  for (const [count, step] of pairs) {
    if (count === 0) return 0;
    n += (count - 1) * step;
  }
  return n;
}

function requantizeInto(memory: Uint8Array, records: DataView, c: number, acc: number, outZp: number, actMin: number, actMax: number): number {
  const r = c * RECORD_BYTES;
  const v = multiplyByQuantizedMultiplier((acc + records.getInt32(r, true)) | 0, records.getInt32(r + 4, true), records.getInt32(r + 8, true)) + outZp;
  return v < actMin ? actMin : v > actMax ? actMax : v;
}

// `memory()` returns the instance's memory (it may grow between calls);
// `mask` which primitives wisp_kernels reports.
export function hostKernelImports(memory: () => ArrayBuffer, mask: number): HostKernelImports {
  const views = () => {
    const buffer = memory();
    return { u8: new Uint8Array(buffer), s8: new Int8Array(buffer), view: new DataView(buffer) };
  };
  const records = (view: DataView, at: number, channels: number, u8: Uint8Array) => {
    inside(u8, at, channels * RECORD_BYTES, "the channel records");
    return new DataView(view.buffer, at, channels * RECORD_BYTES);
  };
  return {
    wisp_kernels: () => mask,
    wisp_dot_s8(...args) {
      // wasm passes i32: the unsigned ones (all but the last four) as such.
      const [out, outStep, pixels, input, pixelStep, rows, rowStep, runLength, filter, filterStep, filterRowStep, channels, recordsAt] = args.slice(0, 13).map((v) => v >>> 0);
      const [inZp, outZp, actMin, actMax] = args.slice(13);
      const { u8, s8, view } = views();
      hostKernelCalls.dot++;
      if (pixels === 0 || channels === 0) return;
      inside(u8, out, extent(channels, [pixels, outStep]), "the output");
      inside(u8, input, extent(runLength, [pixels, pixelStep], [rows, rowStep]), "the input");
      inside(u8, filter, extent(runLength, [channels, filterStep], [rows, filterRowStep]), "the filter");
      const rec = records(view, recordsAt, channels, u8);
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let r = 0; r < rows; r++) {
            const x = input + p * pixelStep + r * rowStep;
            const w = filter + c * filterStep + r * filterRowStep;
            for (let i = 0; i < runLength; i++) acc = (acc + (s8[x + i] - inZp) * s8[w + i]) | 0;
          }
          s8[out + p * outStep + c] = requantizeInto(u8, rec, c, acc, outZp, actMin, actMax);
        }
      }
    },
    wisp_depthwise_s8(...args) {
      const [out, outStep, pixels, input, pixelStep, rows, columns, rowStep, columnStep, filter, filterStep, filterRowStep, channels, recordsAt] = args.slice(0, 14).map((v) => v >>> 0);
      const [inZp, outZp, actMin, actMax] = args.slice(14);
      const { u8, s8, view } = views();
      hostKernelCalls.depthwise++;
      if (pixels === 0 || channels === 0) return;
      inside(u8, out, extent(channels, [pixels, outStep]), "the output");
      inside(u8, input, extent(columns === 0 ? 0 : channels, [pixels, pixelStep], [rows, rowStep], [columns, columnStep]), "the input");
      inside(u8, filter, extent(columns === 0 ? 0 : 1, [channels, filterStep], [rows, filterRowStep], [columns, 1]), "the filter");
      const rec = records(view, recordsAt, channels, u8);
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let r = 0; r < rows; r++) {
            for (let k = 0; k < columns; k++) {
              acc = (acc + (s8[input + p * pixelStep + r * rowStep + k * columnStep + c] - inZp) * s8[filter + c * filterStep + r * filterRowStep + k]) | 0;
            }
          }
          s8[out + p * outStep + c] = requantizeInto(u8, rec, c, acc, outZp, actMin, actMax);
        }
      }
    },
    wisp_add_s8(...args) {
      const [out, input1, input2, count] = args.slice(0, 4).map((v) => v >>> 0);
      const [in1Zp, in2Zp, outZp, leftShift, in1Mult, in1Shift, in2Mult, in2Shift, outMult, outShift, actMin, actMax] = args.slice(4);
      const { u8, s8 } = views();
      hostKernelCalls.add++;
      inside(u8, out, count, "the output");
      inside(u8, input1, count, "the first input");
      inside(u8, input2, count, "the second input");
      // Ascending, each element read before it is written: the output may lie over an input.
      for (let i = 0; i < count; i++) {
        const a = multiplyByQuantizedMultiplier(((s8[input1 + i] - in1Zp) | 0) << leftShift, in1Mult, in1Shift);
        const b = multiplyByQuantizedMultiplier(((s8[input2 + i] - in2Zp) | 0) << leftShift, in2Mult, in2Shift);
        let v = (multiplyByQuantizedMultiplier((a + b) | 0, outMult, outShift) + outZp) | 0;
        if (v < actMin) v = actMin;
        if (v > actMax) v = actMax;
        s8[out + i] = v;
      }
    },
  };
}
