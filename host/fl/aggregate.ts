// One federated round on the server: configuration checks, update
// validation (model version, size, CRC, replays, norm), clipping, and the
// sample-weighted average (FedAvg). Round state sits behind RoundStore so a
// fleet that outgrows one machine can keep it elsewhere.
import { fail } from "../errors";
import { dequantizeUpdate } from "./quantize";
import { decodeUpdate } from "./update-format";

export interface FlConfig {
  rounds: number;
  clients_per_round: number;
  local_epochs: number;
  lr: number;
  update_bits: 8 | 4;
  topk: number; // fraction sent, (0, 1]
  secure_aggregation: boolean;
  clip_norm: number; // each update is scaled down to at most this L2 norm
  reject_norm: number; // updates above this L2 norm (or not finite) are refused
  max_samples: number; // the most samples one device's update may count for
  over_max_samples: "clip" | "refuse"; // what happens to an update claiming more
  store: string; // the SQLite file the server keeps its rounds in; ":memory:" keeps them in memory (tests)
}

const DEFAULTS = { clip_norm: 1, reject_norm: 100, topk: 1, update_bits: 8, secure_aggregation: false, local_epochs: 1, max_samples: 10_000, over_max_samples: "clip", store: "fl-rounds.sqlite" };

export type Log = (line: string) => void;

export function parseConfig(json: unknown): FlConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("BAD_CONFIG", "the configuration must be a JSON object");
  const c = { ...DEFAULTS, ...(json as Record<string, unknown>) } as Record<string, unknown>;
  const known = new Set(["rounds", "clients_per_round", "local_epochs", "lr", "update_bits", "topk", "secure_aggregation", "clip_norm", "reject_norm", "max_samples", "over_max_samples", "store"]);
  for (const key of Object.keys(c)) if (!known.has(key)) fail("BAD_CONFIG", `unknown setting "${key}"`);
  const positiveInt = (k: string) => {
    if (!Number.isInteger(c[k]) || (c[k] as number) < 1) fail("BAD_CONFIG", `"${k}" must be a positive integer (got ${JSON.stringify(c[k])})`);
  };
  const positive = (k: string) => {
    if (typeof c[k] !== "number" || !((c[k] as number) > 0) || !Number.isFinite(c[k])) fail("BAD_CONFIG", `"${k}" must be a positive number (got ${JSON.stringify(c[k])})`);
  };
  positiveInt("rounds");
  positiveInt("clients_per_round");
  positiveInt("local_epochs");
  positive("lr");
  positive("clip_norm");
  positive("reject_norm");
  positiveInt("max_samples");
  if (typeof c.store !== "string" || c.store === "") fail("BAD_CONFIG", `"store" must be a file name, or ":memory:" (got ${JSON.stringify(c.store)})`);
  if (c.over_max_samples !== "clip" && c.over_max_samples !== "refuse") fail("BAD_CONFIG", `"over_max_samples" must be "clip" or "refuse" (got ${JSON.stringify(c.over_max_samples)})`);
  if (c.update_bits !== 8 && c.update_bits !== 4) fail("BAD_CONFIG", `"update_bits" must be 8 or 4 (got ${JSON.stringify(c.update_bits)})`);
  if (typeof c.topk !== "number" || !(c.topk > 0 && c.topk <= 1)) fail("BAD_CONFIG", `"topk" must be in (0, 1] (got ${JSON.stringify(c.topk)})`);
  if (typeof c.secure_aggregation !== "boolean") fail("BAD_CONFIG", `"secure_aggregation" must be true or false`);
  if ((c.reject_norm as number) < (c.clip_norm as number)) fail("BAD_CONFIG", `"reject_norm" must be at least "clip_norm"`);
  return c as unknown as FlConfig;
}

export interface StoredUpdate {
  clientId: number;
  sampleCount: number;
  delta: Float32Array; // clipped
}

// Where a round's accepted updates live.
export interface RoundStore {
  has(round: number, clientId: number): boolean;
  add(round: number, update: StoredUpdate): void;
  updates(round: number): StoredUpdate[];
}

// What a round server must not forget between rounds, beside the updates:
// the global model each round starts from, and each round's roster and
// phase (with what the phase decided), so a restarted server resumes.
export interface RoundState {
  members: number[];
  phase: string; // "open" and "done" for plain rounds; secure rounds: secure-phases in mqtt-secure.ts
  detail: Record<string, unknown>;
}

// The signed global delta of a round (global-delta.ts) and the model the
// devices hold once they applied it.
export interface StoredDelta {
  round: number;
  signed: Uint8Array;
  deviceModel: Float32Array;
}

export interface RoundHistory {
  latestModel(): { round: number; weights: Float32Array } | null;
  saveModel(round: number, weights: Float32Array): void; // the model round `round` starts from
  latestDelta(): StoredDelta | null;
  saveDelta(delta: StoredDelta): void;
  roundState(round: number): RoundState | null;
  setRoundState(round: number, state: RoundState): void;
  transaction<T>(f: () => T): T; // all of f's writes, or none
}

export class MemoryRoundHistory implements RoundHistory {
  private models = new Map<number, Float32Array>();
  private states = new Map<number, RoundState>();
  private delta: StoredDelta | null = null;
  latestDelta(): StoredDelta | null { return this.delta && { ...this.delta, deviceModel: this.delta.deviceModel.slice() }; }
  saveDelta(d: StoredDelta): void { if (!this.delta || d.round >= this.delta.round) this.delta = { ...d, deviceModel: d.deviceModel.slice() }; }
  latestModel() {
    const round = Math.max(-1, ...this.models.keys());
    return round < 0 ? null : { round, weights: this.models.get(round)!.slice() };
  }
  saveModel(round: number, weights: Float32Array): void { this.models.set(round, weights.slice()); }
  roundState(round: number): RoundState | null { return this.states.get(round) ?? null; }
  setRoundState(round: number, state: RoundState): void { this.states.set(round, structuredClone(state)); }
  transaction<T>(f: () => T): T { return f(); }
}

export class MemoryRoundStore implements RoundStore {
  private rounds = new Map<number, Map<number, StoredUpdate>>();
  has(round: number, clientId: number): boolean {
    return this.rounds.get(round)?.has(clientId) ?? false;
  }
  add(round: number, update: StoredUpdate): void {
    if (!this.rounds.has(round)) this.rounds.set(round, new Map());
    this.rounds.get(round)!.set(update.clientId, update);
  }
  updates(round: number): StoredUpdate[] {
    return [...(this.rounds.get(round)?.values() ?? [])];
  }
}

export function l2norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

// Refuses a delta whose norm is not finite or above reject_norm, and scales
// it down, in place, to at most clip_norm.
export function clipUpdate(delta: Float32Array, config: FlConfig): Float32Array {
  const norm = l2norm(delta);
  if (!Number.isFinite(norm) || norm > config.reject_norm) fail("BAD_UPDATE", `update norm ${norm} is out of range (limit ${config.reject_norm})`);
  if (norm > config.clip_norm) for (let i = 0; i < delta.length; i++) delta[i] *= config.clip_norm / norm;
  return delta;
}

// The weight a device's claimed sample count earns: at most max_samples
// (clipped, logged), or refused, as the config says.
export function boundedSamples(claimed: number, clientId: number, config: FlConfig, log: Log): number {
  if (!Number.isInteger(claimed) || claimed < 1) fail("BAD_UPDATE", `client ${clientId} claims ${claimed} samples`);
  if (claimed <= config.max_samples) return claimed;
  if (config.over_max_samples === "refuse") fail("BAD_UPDATE", `client ${clientId} claims ${claimed} samples, more than max_samples ${config.max_samples}`);
  log(`client ${clientId} claims ${claimed} samples: counted as max_samples ${config.max_samples}`);
  return config.max_samples;
}

export class RoundAggregator {
  // `members`: the round's roster; updates from anyone else are refused.
  constructor(
    private readonly config: FlConfig, private readonly modelVersion: number, private readonly elements: number,
    readonly round: number, private readonly store: RoundStore = new MemoryRoundStore(),
    private readonly members: ReadonlySet<number> | null = null, private readonly log: Log = () => undefined,
  ) {}

  // Validates one message and keeps its clipped delta; throws BAD_UPDATE.
  // `sender`, when given, is the authenticated device the message came from
  // (its topic, which the broker checked); the message must name the same.
  accept(message: Uint8Array, sender?: number): StoredUpdate {
    const u = decodeUpdate(message);
    if (sender !== undefined && u.clientId !== sender) fail("BAD_UPDATE", `message from client ${sender} names client ${u.clientId}`);
    if (u.modelVersion !== this.modelVersion) fail("BAD_UPDATE", `update for model version ${u.modelVersion}, the round is on ${this.modelVersion}`);
    if (u.round !== this.round) fail("BAD_UPDATE", `update for round ${u.round}, this is round ${this.round}`);
    if (this.members && !this.members.has(u.clientId)) fail("BAD_UPDATE", `client ${u.clientId} is not on round ${this.round}'s roster`);
    if (u.elements !== this.elements) fail("BAD_UPDATE", `update has ${u.elements} elements, the model ${this.elements}`);
    if (this.store.has(this.round, u.clientId)) fail("BAD_UPDATE", `client ${u.clientId} already sent an update this round (replay)`);
    const sampleCount = boundedSamples(u.sampleCount, u.clientId, this.config, this.log);
    const delta = clipUpdate(dequantizeUpdate(u), this.config);
    const stored = { clientId: u.clientId, sampleCount, delta };
    this.store.add(this.round, stored);
    return stored;
  }

  // FedAvg: the sample-weighted mean of the clipped deltas, summed in client
  // id order, so the result does not depend on the order updates arrived in.
  average(): Float32Array {
    const updates = this.store.updates(this.round).sort((a, b) => a.clientId - b.clientId);
    if (updates.length === 0) fail("BAD_UPDATE", "no update was accepted this round");
    const total = updates.reduce((s, u) => s + u.sampleCount, 0);
    const out = new Float32Array(this.elements);
    for (const u of updates) for (let i = 0; i < out.length; i++) out[i] += (u.sampleCount / total) * u.delta[i];
    return out;
  }
}
