// What goes under the pairwise masks in a secure round (secure-agg.ts).
// The server never sees one client's update, so each client checks and clips
// its own delta, weights it by its sample count, and turns it into int32
// fixed point on a scale every client shares (clip_norm / 4096 per unit);
// the weight travels as one more element. The server unmasks the sum and
// divides by the summed weight: FedAvg without seeing any single update.
// The weight is capped so clients_per_round such vectors add up without
// overflowing int32.
import { fail } from "../errors";
import { clipUpdate, FlConfig } from "./aggregate";

export const SECURE_FRACTION_BITS = 12;

export function secureWeightCap(config: FlConfig): number {
  const cap = Math.floor(0x7fffffff / (config.clients_per_round * 2 ** SECURE_FRACTION_BITS));
  if (cap < 1) fail("BAD_CONFIG", `"clients_per_round" ${config.clients_per_round} is too many for secure aggregation`);
  return cap;
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

// The server's FedAvg step from the unmasked sum of `clients` vectors.
export function secureAverage(sum: Int32Array, clients: number, config: FlConfig): Float32Array {
  const total = sum[sum.length - 1];
  if (clients < 1 || clients > config.clients_per_round) fail("BAD_UPDATE", `${clients} clients in a round of at most ${config.clients_per_round}`);
  if (!(total >= clients && total <= clients * secureWeightCap(config))) fail("BAD_UPDATE", `summed sample weight ${total} is impossible for ${clients} clients`);
  const scale = unit(config) / total;
  return Float32Array.from(sum.subarray(0, sum.length - 1), (v) => v * scale);
}
