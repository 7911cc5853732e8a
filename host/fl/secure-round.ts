// What goes under the pairwise masks in a secure round (secure-agg.ts).
// The server never sees one client's update, so each client checks and clips
// its own delta, weights it by its sample count, and turns it into int32
// fixed point on a scale every client shares (clip_norm / 4096 per unit);
// the weight travels as one more element. The server unmasks the sum and
// divides by the summed weight: FedAvg without seeing any single update.
// The weight is capped so clients_per_round such vectors add up without
// overflowing int32.
import { fail } from "../errors";
import { clipUpdate, FlConfig, l2norm } from "./aggregate";

export const SECURE_FRACTION_BITS = 12;

// The most one device's weight may be: max_samples, and small enough that
// the round's vectors cannot overflow int32.
export function secureWeightCap(config: FlConfig): number {
  const cap = Math.floor(0x7fffffff / (config.clients_per_round * 2 ** SECURE_FRACTION_BITS));
  if (cap < 1) fail("BAD_CONFIG", `"clients_per_round" ${config.clients_per_round} is too many for secure aggregation`);
  return Math.min(cap, config.max_samples);
}

const unit = (config: FlConfig) => config.clip_norm / 2 ** SECURE_FRACTION_BITS;

// A client's values to mask: its clipped delta times its (capped) sample count, then the count.
export function secureValues(delta: Float32Array, sampleCount: number, config: FlConfig): Int32Array {
  if (!Number.isInteger(sampleCount) || sampleCount < 1) fail("BAD_UPDATE", `sample count must be a positive integer (got ${sampleCount})`);
  const clipped = clipUpdate(delta.slice(), config);
  const weight = Math.min(sampleCount, secureWeightCap(config));
  const out = new Int32Array(delta.length + 1);
  for (let i = 0; i < delta.length; i++) out[i] = Math.round((weight * clipped[i]) / unit(config));
  out[delta.length] = weight;
  return out;
}

// What a device declares in the clear with its key: its weight, and a
// bound on its clipped update's L2 norm. They let the server check the
// unmasked sum (checkSecureSum), which is all it ever sees.
export interface Commitment {
  weight: number;
  normBound: number;
}

export function commitmentOf(delta: Float32Array, sampleCount: number, config: FlConfig): Commitment {
  const norm = Math.min(l2norm(clipUpdate(delta.slice(), config)), config.clip_norm);
  // Rounded up to a float32, so the bound still holds after encoding.
  let bound = Math.fround(norm);
  if (bound < norm) bound = Math.fround(norm * (1 + 2 ** -23));
  return { weight: Math.min(sampleCount, secureWeightCap(config)), normBound: Math.min(bound, Math.fround(config.clip_norm)) };
}

// Refuses a commitment a device may not make.
export function checkCommitment(c: Commitment, config: FlConfig): void {
  const cap = secureWeightCap(config);
  if (!Number.isInteger(c.weight) || c.weight < 1 || c.weight > cap) fail("BAD_UPDATE", `declared weight ${c.weight} is outside 1..${cap} (max_samples)`);
  if (!(c.normBound >= 0 && c.normBound <= Math.fround(config.clip_norm))) fail("BAD_UPDATE", `declared norm bound ${c.normBound} is outside 0..clip_norm ${config.clip_norm}`);
}

// The check of an unmasked sum against the survivors' commitments: its
// weight element must equal their declared weights' sum exactly, and the
// sum's norm may not exceed the sum of weight x norm bound (plus the fixed
// point's rounding, half a unit per element and survivor). Honest devices
// always pass; a device that changed its vector after masking passes only
// if the change stays within that slack (docs/fleet.md, threat model).
// Returns why the sum is refused, or null.
export function checkSecureSum(sum: Int32Array, commitments: Commitment[], config: FlConfig): string | null {
  const n = sum.length - 1;
  const weight = commitments.reduce((s, c) => s + c.weight, 0);
  if (sum[n] !== weight) return `the sum's weight ${sum[n]} differs from the declared ${weight}`;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += sum[i] * sum[i];
  const norm = Math.sqrt(squares) * unit(config);
  const limit = commitments.reduce((s, c) => s + c.weight * c.normBound, 0) + 0.5 * unit(config) * Math.sqrt(n) * commitments.length;
  if (!(norm <= limit * (1 + 1e-9))) return `the sum's norm ${norm.toPrecision(6)} exceeds the declared bound ${limit.toPrecision(6)}`;
  return null;
}

// The server's FedAvg step from the unmasked sum of `clients` vectors.
export function secureAverage(sum: Int32Array, clients: number, config: FlConfig): Float32Array {
  const total = sum[sum.length - 1];
  if (clients < 1 || clients > config.clients_per_round) fail("BAD_UPDATE", `${clients} clients in a round of at most ${config.clients_per_round}`);
  if (!(total >= clients && total <= clients * secureWeightCap(config))) fail("BAD_UPDATE", `summed sample weight ${total} is impossible for ${clients} clients`);
  const scale = unit(config) / total;
  return Float32Array.from(sum.subarray(0, sum.length - 1), (v) => v * scale);
}
