// The federated update message (docs/update-message.md): a client's quantized weight delta, compact
// and self-checking. Little-endian:
//   0 magic "WFLU"   4 u16 version (2)   6 u8 bits (8 or 4)   7 u8 flags (1 sparse)
//   8 u32 model version   12 u32 client id   16 u32 round   20 u32 sample count
//  24 u32 elements   28 u32 scale groups   32 u32 values sent (k)   36 u32 index bytes
//  40 f32 scales[groups]; u32 group ends[groups] (increasing, the last is
//     elements: group g covers elements [end[g-1], end[g]), e.g. one group
//     per tensor); when sparse, the k increasing indices as LEB128
//     varints of the gap to the previous one (the first from -1), so a
//     top-10% update spends about a byte per index;
//     k values (int8, or 4-bit two's complement packed low nibble first);
//     u32 CRC-32 of every byte before it.
import { crc32 } from "../crc32";
import { fail } from "../errors";

export const UPDATE_MAGIC = 0x554c4657; // "WFLU"
export const UPDATE_VERSION = 2;
const HEADER = 40;
const SPARSE = 1;

export interface Update {
  modelVersion: number;
  clientId: number;
  round: number;
  sampleCount: number;
  bits: 8 | 4;
  elements: number;
  scales: Float32Array; // one per group
  groupEnds: Uint32Array; // where each group ends (exclusive); the last is elements
  indices: Uint32Array | null; // null: dense, values cover every element
  values: Int8Array; // quantized, in [-127, 127] (8-bit) or [-7, 7] (4-bit)
}

const bad = (message: string): never => fail("BAD_UPDATE", message);

function gapVarints(indices: Uint32Array): number[] {
  const bytes: number[] = [];
  let previous = -1;
  for (const i of indices) {
    if (i <= previous) bad("sparse indices must increase");
    let gap = i - previous - 1;
    previous = i;
    do {
      bytes.push((gap & 0x7f) | (gap > 0x7f ? 0x80 : 0));
      gap >>>= 7;
    } while (gap > 0);
  }
  return bytes;
}

export function encodeUpdate(u: Update): Uint8Array {
  const k = u.values.length;
  if (u.indices ? u.indices.length !== k : k !== u.elements) bad("values do not match the indices or the element count");
  const index = u.indices ? gapVarints(u.indices) : [];
  const valueBytes = u.bits === 8 ? k : Math.ceil(k / 2);
  if (u.groupEnds.length !== u.scales.length) bad("one group end per scale");
  const size = HEADER + 8 * u.scales.length + index.length + valueBytes + 4;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, UPDATE_MAGIC, true);
  v.setUint16(4, UPDATE_VERSION, true);
  v.setUint8(6, u.bits);
  v.setUint8(7, u.indices ? SPARSE : 0);
  [u.modelVersion, u.clientId, u.round, u.sampleCount, u.elements, u.scales.length, k, index.length].forEach((x, i) => v.setUint32(8 + 4 * i, x, true));
  let at = HEADER;
  for (const s of u.scales) { v.setFloat32(at, s, true); at += 4; }
  for (const e of u.groupEnds) { v.setUint32(at, e, true); at += 4; }
  out.set(index, at);
  at += index.length;
  if (u.bits === 8) {
    out.set(new Uint8Array(u.values.buffer, u.values.byteOffset, k), at);
  } else {
    for (let i = 0; i < k; i++) out[at + (i >> 1)] |= (u.values[i] & 0xf) << (4 * (i & 1));
  }
  v.setUint32(size - 4, crc32(out.subarray(0, size - 4)), true);
  return out;
}

export function decodeUpdate(bytes: Uint8Array): Update {
  if (bytes.length < HEADER + 4) bad(`update of ${bytes.length} bytes is too short`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== UPDATE_MAGIC) bad("not an update (bad magic)");
  if (v.getUint16(4, true) !== UPDATE_VERSION) bad(`unsupported update version ${v.getUint16(4, true)}`);
  if (v.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) bad("update CRC mismatch");
  const bits = v.getUint8(6);
  if (bits !== 8 && bits !== 4) bad(`unsupported value width ${bits}`);
  const sparse = (v.getUint8(7) & SPARSE) !== 0;
  const [modelVersion, clientId, round, sampleCount, elements, groups, k, indexBytes] = Array.from({ length: 8 }, (_, i) => v.getUint32(8 + 4 * i, true));
  if (groups < 1 || groups > elements || k > elements || (!sparse && (k !== elements || indexBytes !== 0))) bad("inconsistent element, group or value counts");
  const size = HEADER + 8 * groups + indexBytes + (bits === 8 ? k : Math.ceil(k / 2)) + 4;
  if (size !== bytes.length) bad(`update is ${bytes.length} bytes, its header describes ${size}`);
  let at = HEADER;
  const scales = new Float32Array(groups);
  for (let g = 0; g < groups; g++, at += 4) {
    scales[g] = v.getFloat32(at, true);
    if (!(scales[g] >= 0) || !Number.isFinite(scales[g])) bad(`scale ${g} is not a finite non-negative number`);
  }
  const groupEnds = new Uint32Array(groups);
  for (let g = 0; g < groups; g++, at += 4) {
    groupEnds[g] = v.getUint32(at, true);
    if (groupEnds[g] <= (g ? groupEnds[g - 1] : 0)) bad("group ends must increase from above 0");
  }
  if (groupEnds[groups - 1] !== elements) bad("the last group must end at the element count");
  let indices: Uint32Array | null = null;
  if (sparse) {
    indices = new Uint32Array(k);
    const end = at + indexBytes;
    let previous = -1;
    for (let i = 0; i < k; i++) {
      let gap = 0;
      for (let shift = 0; ; shift += 7) {
        if (at >= end || shift > 28) bad("sparse index list is truncated or malformed");
        const byte = bytes[at++];
        gap += (byte & 0x7f) * 2 ** shift;
        if (!(byte & 0x80)) break;
      }
      previous += gap + 1;
      if (previous >= elements) bad("sparse index beyond the element count");
      indices[i] = previous;
    }
    if (at !== end) bad("sparse index list has trailing bytes");
  }
  const values = new Int8Array(k);
  for (let i = 0; i < k; i++) values[i] = bits === 8 ? (bytes[at + i] << 24) >> 24 : ((bytes[at + (i >> 1)] >> (4 * (i & 1))) << 28) >> 28;
  return { modelVersion, clientId, round, sampleCount, bits: bits as 8 | 4, elements, scales, groupEnds, indices, values };
}
