// Turning a float weight delta into a small update and back: optional top-k
// sparsification with error feedback (what is not sent stays in the
// client's residual for the next round), then int8 or 4-bit values with one
// scale per group of elements (per tensor: 1 group; per channel: one each).
import { Update } from "./update-format";

export interface QuantizeOptions {
  bits: 8 | 4;
  topk: number; // fraction of elements sent, in (0, 1]; 1 sends everything
  groups: number; // scale groups
}

export function groupOf(index: number, elements: number, groups: number): number {
  return Math.floor((index * groups) / elements);
}

// Returns the update's payload and the residual to keep for next round.
export function quantizeDelta(delta: Float32Array, residual: Float32Array, options: QuantizeOptions): {
  scales: Float32Array; indices: Uint32Array | null; values: Int8Array; residual: Float32Array;
} {
  const n = delta.length;
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
  const scales = new Float32Array(options.groups);
  for (const i of chosen) {
    const g = groupOf(i, n, options.groups);
    scales[g] = Math.max(scales[g], Math.abs(corrected[i]) / qmax);
  }
  const values = new Int8Array(chosen.length);
  const next = corrected.slice();
  chosen.forEach((i, j) => {
    const scale = scales[groupOf(i, n, options.groups)];
    const q = scale > 0 ? Math.max(-qmax, Math.min(qmax, Math.round(corrected[i] / scale))) : 0;
    values[j] = q;
    next[i] = corrected[i] - q * scale; // what this round could not carry
  });
  return { scales, indices, values, residual: next };
}

// The dense float delta an update stands for.
export function dequantizeUpdate(u: Update): Float32Array {
  const out = new Float32Array(u.elements);
  const groups = u.scales.length;
  u.values.forEach((q, j) => {
    const i = u.indices ? u.indices[j] : j;
    out[i] = q * u.scales[groupOf(i, u.elements, groups)];
  });
  return out;
}
