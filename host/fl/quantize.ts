// Turning a float weight delta into a small update and back: optional top-k
// sparsification with error feedback (what is not sent stays in the
// client's residual for the next round), then int8 or 4-bit values with one
// scale per group of consecutive elements (one per tensor, say).
import { fail } from "../errors";
import { Update } from "./update-format";

export interface QuantizeOptions {
  bits: 8 | 4;
  topk: number; // fraction of elements sent, in (0, 1]; 1 sends everything
  groupEnds: Uint32Array; // where each scale group ends; the last is the element count
}

// Groups of consecutive tensors: their ends.
export function tensorGroups(sizes: number[]): Uint32Array {
  let end = 0;
  return Uint32Array.from(sizes, (n) => (end += n));
}

// `groups` groups of (nearly) equal size over n elements.
export function equalGroups(n: number, groups: number): Uint32Array {
  return Uint32Array.from({ length: groups }, (_, g) => Math.ceil(((g + 1) * n) / groups));
}

// The group of each element.
function groupIndex(groupEnds: Uint32Array, n: number): Uint16Array {
  const out = new Uint16Array(n);
  let g = 0;
  for (let i = 0; i < n; i++) {
    while (i >= groupEnds[g]) g++;
    out[i] = g;
  }
  return out;
}

// Returns the update's payload and the residual to keep for next round.
export function quantizeDelta(delta: Float32Array, residual: Float32Array, options: QuantizeOptions): {
  scales: Float32Array; groupEnds: Uint32Array; indices: Uint32Array | null; values: Int8Array; residual: Float32Array;
} {
  const n = delta.length;
  const ends = options.groupEnds;
  if (ends.length < 1 || ends[ends.length - 1] !== n || ends.some((e, g) => e <= (g ? ends[g - 1] : 0))) fail("BAD_CONFIG", "group ends must increase and end at the element count");
  const groupOf = groupIndex(ends, n);
  const corrected = Float32Array.from(delta, (d, i) => d + residual[i]);
  const k = Math.max(1, Math.min(n, Math.ceil(options.topk * n)));
  let indices: Uint32Array | null = null;
  if (k < n) {
    // The k largest magnitudes, sent in index order.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => Math.abs(corrected[b]) - Math.abs(corrected[a]) || a - b);
    indices = Uint32Array.from(order.slice(0, k)).sort();
  }
  const chosen = indices ?? Uint32Array.from({ length: n }, (_, i) => i);
  const qmax = options.bits === 8 ? 127 : 7;
  const scales = new Float32Array(ends.length);
  for (const i of chosen) {
    const g = groupOf[i];
    scales[g] = Math.max(scales[g], Math.abs(corrected[i]) / qmax);
  }
  const values = new Int8Array(chosen.length);
  const next = corrected.slice();
  chosen.forEach((i, j) => {
    const scale = scales[groupOf[i]];
    const q = scale > 0 ? Math.max(-qmax, Math.min(qmax, Math.round(corrected[i] / scale))) : 0;
    values[j] = q;
    next[i] = corrected[i] - q * scale; // what this round could not carry
  });
  return { scales, groupEnds: ends, indices, values, residual: next };
}

// The dense float delta an update stands for.
export function dequantizeUpdate(u: Update): Float32Array {
  const out = new Float32Array(u.elements);
  const groupOf = groupIndex(u.groupEnds, u.elements);
  u.values.forEach((q, j) => {
    const i = u.indices ? u.indices[j] : j;
    out[i] = q * u.scales[groupOf[i]];
  });
  return out;
}
