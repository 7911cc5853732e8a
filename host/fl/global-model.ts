// The global model message (signed by the server: signing.ts).
import { fail } from "../errors";

// The global model message: u32 round, u32 model version, u32 n, the n
// device ids on the round's roster (the server chose them), f32 parameters.
export interface GlobalModel {
  round: number;
  modelVersion: number;
  members: number[];
  weights: Float32Array;
}

export function encodeGlobal(g: GlobalModel): Uint8Array {
  const at = 12 + 4 * g.members.length;
  const out = new Uint8Array(at + 4 * g.weights.length);
  const v = new DataView(out.buffer);
  [g.round, g.modelVersion, g.members.length, ...g.members].forEach((x, i) => v.setUint32(4 * i, x, true));
  g.weights.forEach((w, i) => v.setFloat32(at + 4 * i, w, true));
  return out;
}

export function decodeGlobal(bytes: Uint8Array): GlobalModel {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || bytes.length % 4 !== 0 || bytes.length < 12 + 4 * v.getUint32(8, true)) fail("BAD_UPDATE", "global model message has a bad size");
  const n = v.getUint32(8, true), at = 12 + 4 * n;
  return {
    round: v.getUint32(0, true),
    modelVersion: v.getUint32(4, true),
    members: Array.from({ length: n }, (_, i) => v.getUint32(12 + 4 * i, true)),
    weights: Float32Array.from({ length: (bytes.length - at) / 4 }, (_, i) => v.getFloat32(at + 4 * i, true)),
  };
}

