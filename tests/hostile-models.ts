// Large and hostile models, built with the project's TFLite writer, for the
// tests and the planning benchmark; and rewriting a .wisp's description
// section (with a valid CRC) to test the host's checks of it.
import * as F from "../assembly/format";
import { crc32 } from "../host/crc32";
import { Builtin, TensorType } from "../host/convert/tflite";
import { buildTflite, scalar, table, ModelSpec, TensorSpec } from "./tflite-writer";

const ADD_OPTIONS = table(scalar("i8", 0)); // no fused activation

function int8(shape: number[], scale: number, zeroPoint: number): TensorSpec {
  return { shape, type: TensorType.INT8, scale: [scale], zeroPoint: [zeroPoint] };
}

// n QUANTIZE ops in a chain, each with new quantization: at most two tensors
// live at any time.
export function chainSpec(n: number, elements = 16): ModelSpec {
  const tensors = Array.from({ length: n + 1 }, (_, i) => int8([1, elements], 0.05 + 0.01 * (i % 3), (i % 7) - 3));
  const ops = Array.from({ length: n }, (_, i) => ({ builtin: Builtin.QUANTIZE, inputs: [i], outputs: [i + 1] }));
  return { tensors, ops, inputs: [0], outputs: [n] };
}

// The input fans out to `live` QUANTIZE copies, all alive until a chain of
// ADDs sums them: 2 * live - 1 ops, and `live` tensors live at once.
export function fanOutSpec(live: number, shape: number[] = [1, 64]): ModelSpec {
  const tensors = Array.from({ length: 2 * live }, (_, i) => int8(shape, 0.05, 0));
  const ops: ModelSpec["ops"] = [];
  for (let i = 1; i <= live; i++) ops.push({ builtin: Builtin.QUANTIZE, inputs: [0], outputs: [i] });
  for (let k = 1; k < live; k++) ops.push({ builtin: Builtin.ADD, inputs: [k === 1 ? 1 : live + k - 1, k + 1], outputs: [live + k], options: ADD_OPTIONS });
  return { tensors, ops, inputs: [0], outputs: [2 * live - 1] };
}

export function chainModel(n: number): Uint8Array {
  return buildTflite(chainSpec(n));
}

export function fanOutModel(live: number, shape?: number[]): Uint8Array {
  return buildTflite(fanOutSpec(live, shape));
}

// A .wisp's sections, in table order.
export function sectionsOf(wisp: Uint8Array): [kind: number, data: Uint8Array][] {
  const v = new DataView(wisp.buffer, wisp.byteOffset, wisp.byteLength);
  return Array.from({ length: v.getUint32(F.HEADER_BYTES, true) }, (_, i) => {
    const e = F.HEADER_BYTES + 4 + i * F.SECTION_ENTRY_BYTES;
    const at = v.getUint32(e + 4, true);
    return [v.getUint32(e, true), wisp.subarray(at, at + v.getUint32(e + 8, true))];
  });
}

// A .wisp container around the given sections, laid out as the converter
// does (each section 4-aligned, in order), with a valid size and CRC.
export function container(sections: [number, Uint8Array][]): Uint8Array {
  const align = (n: number) => Math.ceil(n / 4) * 4;
  let at = align(F.HEADER_BYTES + 4 + sections.length * F.SECTION_ENTRY_BYTES);
  const offsets = sections.map(([, data]) => {
    const here = at;
    at = align(at + data.length);
    return here;
  });
  const last = sections.length - 1;
  const out = new Uint8Array(offsets[last] + sections[last][1].length);
  const v = new DataView(out.buffer);
  v.setUint32(0, F.WISP_MAGIC, true);
  v.setUint32(4, F.WISP_VERSION, true);
  v.setUint32(8, out.length, true);
  v.setUint32(F.HEADER_BYTES, sections.length, true);
  sections.forEach(([kind, data], i) => {
    const e = F.HEADER_BYTES + 4 + i * F.SECTION_ENTRY_BYTES;
    v.setUint32(e, kind, true);
    v.setUint32(e + 4, offsets[i], true);
    v.setUint32(e + 8, data.length, true);
    out.set(data, offsets[i]);
  });
  v.setUint32(12, crc32(out.subarray(F.HEADER_BYTES)), true);
  return out;
}

// The description section's JSON.
export function descriptionText(wisp: Uint8Array): string {
  const meta = sectionsOf(wisp).find(([kind]) => kind === F.SECTION_META);
  if (!meta) throw new Error("no description section");
  return new TextDecoder().decode(meta[1]);
}

// The same .wisp with another description, in a container with a valid CRC,
// so only the host's own checks of the description stand between it and the
// model. `text` is given the final file size, for descriptions that should
// record it (wispBytes).
export function withDescription(wisp: Uint8Array, text: (fileBytes: number) => string): Uint8Array {
  const sections = sectionsOf(wisp);
  const build = (size: number) => container(sections.map(([kind, data]) => [kind, kind === F.SECTION_META ? new TextEncoder().encode(text(size)) : data]));
  let out = build(wisp.length);
  for (let tries = 0; tries < 4 && out.length !== wisp.length; tries++) {
    const next = build(out.length);
    if (next.length === out.length) return next;
    out = next;
  }
  return out;
}

// withDescription for a description edited as an object: `edit` changes a
// copy (or returns the text to use), and wispBytes records the new size
// unless the edit changes it.
export function editDescription(wisp: Uint8Array, edit: (info: any) => unknown): Uint8Array {
  const original = JSON.parse(descriptionText(wisp));
  return withDescription(wisp, (size) => {
    const info = JSON.parse(JSON.stringify(original));
    info.wispBytes = size;
    const result = edit(info);
    return typeof result === "string" ? result : JSON.stringify(result === undefined ? info : result);
  });
}
