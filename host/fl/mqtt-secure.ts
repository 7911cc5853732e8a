// Secure-aggregation rounds over MQTT: the protocol of secure-agg.ts (after
// Bonawitz et al. 2017) carried on topics, so the server learns only the sum
// of a round's updates. Round N of fleet F, all QoS 1:
//   wisp/F/global               retained: round, model version, parameters (mqtt.ts)
//   wisp/F/delta                retained: the last round's signed global delta (global-delta.ts)
//   wisp/F/round/N/key/C        C's X25519 public key for the round (32 bytes)
//   wisp/F/round/N/roster       server: u32 threshold, u32 n, n x (u32 id, 32-byte key)
//   wisp/F/round/N/shares/C     C's Shamir shares of its private key, one per
//                               roster member, each sealed to its recipient
//                               (u32 recipient, 61 bytes: IV, share, tag)
//   wisp/F/round/N/inbox/R      server: the shares sealed to R, routed to it
//                               (u32 sender, 61 bytes), so that no device
//                               reads another device's topics
//   wisp/F/round/N/maskers      server: u32 n, n x u32 ids (clients whose shares arrived)
//   wisp/F/round/N/masked/C     C's masked int32 vector (secure-round.ts values)
//   wisp/F/round/N/dropped      server: u32 n, n x u32 ids (maskers that sent no vector)
//   wisp/F/round/N/reveal/C     C's shares of the dropped clients' keys:
//                               n x (u32 dropped id, u8 x, 32 bytes y)
// The server waits for each phase until everyone answered or `phaseMs`
// passed; a round needs `threshold` (a majority of the roster) maskers and
// survivors, or it fails. Only shares of clients that sent no vector are
// ever revealed, so no single update is unmasked. Threat model: secure-agg.ts
// and docs/fleet.md; the broker's ACLs (fleet-policy.ts) let only the server
// publish the global model, its delta, roster, maskers, dropped and inbox
// topics. The server refuses (and logs) malformed messages and a device over
// its rate (RoundInbox, mqtt.ts); devices ignore malformed messages.
import { MqttClient } from "mqtt";
import { fail } from "../errors";
import { FlConfig } from "./aggregate";
import { DeviceCredential, ServerCredential } from "./fleet-policy";
import { addStep, ClientOptions, connect, Log, receiveGlobal, RosterSampler, RoundInbox, RoundServerOptions, sampleRoster, signedGlobal, stderrLog } from "./mqtt";
import { GlobalDeltas } from "./global-delta";
import { DeviceModel } from "./signing";
import { openStores, Stores } from "./sqlite-store";
import { maskValues, newParty, openShare, Party, SEALED_SHARE_BYTES, sealShare, shareKey, unmaskedSum } from "./secure-agg";
import { checkCommitment, checkSecureSum, Commitment, commitmentOf, secureAverage, secureValues, secureWeightCap } from "./secure-round";
import { Share } from "./shamir";

const KEY_BYTES = 32;

function ids(list: number[]): Buffer {
  const out = Buffer.alloc(4 + 4 * list.length);
  out.writeUInt32LE(list.length, 0);
  list.forEach((id, i) => out.writeUInt32LE(id, 4 + 4 * i));
  return out;
}

function readIds(bytes: Uint8Array): number[] {
  const b = Buffer.from(bytes);
  if (b.length < 4 || b.length !== 4 + 4 * b.readUInt32LE(0)) fail("BAD_UPDATE", "bad id list");
  return Array.from({ length: b.readUInt32LE(0) }, (_, i) => b.readUInt32LE(4 + 4 * i));
}

interface Roster {
  threshold: number;
  keys: Map<number, Uint8Array>; // id -> public key, in roster order
}

function encodeRoster(r: Roster): Buffer {
  const out = Buffer.alloc(8 + (4 + KEY_BYTES) * r.keys.size);
  out.writeUInt32LE(r.threshold, 0);
  out.writeUInt32LE(r.keys.size, 4);
  [...r.keys].forEach(([id, key], i) => {
    out.writeUInt32LE(id, 8 + (4 + KEY_BYTES) * i);
    out.set(key, 12 + (4 + KEY_BYTES) * i);
  });
  return out;
}

function decodeRoster(bytes: Uint8Array): Roster {
  const b = Buffer.from(bytes);
  if (b.length < 8 || b.length !== 8 + (4 + KEY_BYTES) * b.readUInt32LE(4)) fail("BAD_UPDATE", "bad roster");
  const keys = new Map<number, Uint8Array>();
  for (let i = 0; i < b.readUInt32LE(4); i++) keys.set(b.readUInt32LE(8 + (4 + KEY_BYTES) * i), new Uint8Array(b.subarray(12 + (4 + KEY_BYTES) * i, 12 + (4 + KEY_BYTES) * (i + 1))));
  return { threshold: b.readUInt32LE(0), keys };
}

// Topic wisp/F/round/N/<kind>[/C] -> its parts, or null for other topics.
function parseTopic(fleet: string, topic: string): { round: number; kind: string; client: number } | null {
  const m = new RegExp(`^wisp/${fleet}/round/(\\d+)/(\\w+)(?:/(\\d+))?$`).exec(topic);
  return m ? { round: Number(m[1]), kind: m[2], client: m[3] === undefined ? -1 : Number(m[3]) } : null;
}

// What secure rounds gather (keys, who shared, masked vectors, revealed
// shares), behind a small interface like RoundStore's, so that a fleet that
// outgrows one process can keep it elsewhere.
export interface SecureRoundStore {
  offerKey(round: number, client: number, key: Uint8Array): void;
  keys(round: number): Map<number, Uint8Array>;
  addShares(round: number, client: number, sealed: Map<number, Uint8Array>): void; // recipient -> sealed share
  shared(round: number): Set<number>;
  sharesFor(round: number, recipient: number): Map<number, Uint8Array>; // sender -> sealed share
  addMasked(round: number, client: number, vector: Uint32Array): void;
  masked(round: number): Map<number, Uint32Array>;
  addReveal(round: number, dropped: number, share: Share): void;
  reveals(round: number, dropped: number): Share[];
}

export class MemorySecureRoundStore implements SecureRoundStore {
  private rounds = new Map<number, { keys: Map<number, Uint8Array>; shares: Map<number, Map<number, Uint8Array>>; masked: Map<number, Uint32Array>; reveals: Map<number, Share[]> }>();
  private state(round: number) {
    if (!this.rounds.has(round)) this.rounds.set(round, { keys: new Map(), shares: new Map(), masked: new Map(), reveals: new Map() });
    return this.rounds.get(round)!;
  }
  offerKey(round: number, client: number, key: Uint8Array): void { this.state(round).keys.set(client, key); }
  keys(round: number): Map<number, Uint8Array> { return this.state(round).keys; }
  addShares(round: number, client: number, sealed: Map<number, Uint8Array>): void { this.state(round).shares.set(client, sealed); }
  shared(round: number): Set<number> { return new Set(this.state(round).shares.keys()); }
  sharesFor(round: number, recipient: number): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const [sender, sealed] of this.state(round).shares) if (sealed.has(recipient)) out.set(sender, sealed.get(recipient)!);
    return out;
  }
  addMasked(round: number, client: number, vector: Uint32Array): void { this.state(round).masked.set(client, vector); }
  masked(round: number): Map<number, Uint32Array> { return this.state(round).masked; }
  addReveal(round: number, dropped: number, share: Share): void {
    const list = this.state(round).reveals.get(dropped) ?? [];
    if (!list.some((s) => s.x === share.x)) list.push(share);
    this.state(round).reveals.set(dropped, list);
  }
  reveals(round: number, dropped: number): Share[] { return this.state(round).reveals.get(dropped) ?? []; }
}

// A key message: the 32-byte X25519 key, then the commitment (u32 weight, f32 norm bound).
const KEY_MESSAGE_BYTES = KEY_BYTES + 8;

function encodeKeyMessage(key: Uint8Array, c: Commitment): Buffer {
  const out = Buffer.alloc(KEY_MESSAGE_BYTES);
  out.set(key, 0);
  out.writeUInt32LE(c.weight, KEY_BYTES);
  out.writeFloatLE(c.normBound, KEY_BYTES + 4);
  return out;
}

function decodeKeyMessage(bytes: Uint8Array): { key: Uint8Array; commitment: Commitment } {
  if (bytes.length !== KEY_MESSAGE_BYTES) fail("BAD_UPDATE", `a key message is ${KEY_MESSAGE_BYTES} bytes (got ${bytes.length})`);
  const b = Buffer.from(bytes);
  return { key: bytes.slice(0, KEY_BYTES), commitment: { weight: b.readUInt32LE(KEY_BYTES), normBound: b.readFloatLE(KEY_BYTES + 4) } };
}

export interface SecureRoundResult {
  survivors: number[];
  dropped: number[];
  refused: string | null; // why the unmasked sum was refused (the model is then unchanged)
}

// A secure round's phases, each decided, stored, then announced, so that a
// restarted server resumes at the stored phase by announcing it again
// (devices ignore a repeated announcement):
//   keys    global model published; gathering keys and commitments
//   shares  roster decided and published; gathering sealed shares
//   masked  maskers decided, inboxes and maskers published; gathering masked vectors
//   reveal  dropped decided and published; gathering their key shares
//   done / dropped / failed
interface SecureDetail {
  roster?: number[];
  threshold?: number;
  maskers?: number[];
  dropped?: number[];
  refused?: string;
}

export class MqttSecureRoundServer {
  members: number[] = [];
  weights: Float32Array;
  round = 0;
  private client!: MqttClient;
  private open = false;
  private waiters: (() => void)[] = [];
  private roster: Roster | null = null;
  private maskers: number[] = [];
  private dropped = new Set<number>();
  private readonly log: Log;
  private readonly event: (e: string) => void;
  private readonly sample: RosterSampler;
  private readonly stores: Stores;
  private readonly store: SecureRoundStore;
  private readonly inbox: RoundInbox;
  private readonly deltas: GlobalDeltas;

  private constructor(private readonly credential: ServerCredential, private readonly config: FlConfig,
    private readonly modelVersion: number, initial: Float32Array, options: RoundServerOptions) {
    this.log = options.log ?? stderrLog;
    this.event = options.onEvent ?? (() => undefined);
    this.sample = options.sample ?? ((_, devices, n) => sampleRoster(devices, n));
    this.stores = options.stores ?? openStores(config.store);
    this.store = this.stores.secure;
    this.inbox = new RoundInbox(credential.fleet, this.log, options.rate);
    const latest = this.stores.history.latestModel();
    if (latest && latest.weights.length !== initial.length) fail("BAD_CONFIG", `the store ${config.store} holds a model of ${latest.weights.length} parameters, not ${initial.length}`);
    this.weights = latest ? latest.weights : initial.slice();
    this.round = latest ? latest.round : 0;
    this.deltas = new GlobalDeltas(credential, this.stores.history, initial);
    this.restore();
  }

  static async start(url: string, credential: ServerCredential, config: FlConfig, modelVersion: number, weights: Float32Array,
    options: RoundServerOptions = {}): Promise<MqttSecureRoundServer> {
    if (!config.secure_aggregation) fail("BAD_CONFIG", "this server runs secure rounds; the config has secure_aggregation false");
    secureWeightCap(config); // refuses a config whose sums could overflow
    const server = new MqttSecureRoundServer(credential, config, modelVersion, weights, options);
    server.client = await connect(url, credential, (topic, payload) => server.receive(topic, new Uint8Array(payload)));
    for (const kind of ["key", "shares", "masked", "reveal"]) await server.client.subscribeAsync(`wisp/${credential.fleet}/round/+/${kind}/+`, { qos: 1 });
    await server.deltas.publish(server.client); // the last round's delta again, after a restart
    return server;
  }

  // The current round's decisions, from the store (a resumed round) or none.
  private restore(): { phase: string; detail: SecureDetail } | null {
    const state = this.stores.history.roundState(this.round);
    if (!state || !["keys", "shares", "masked", "reveal"].includes(state.phase)) return null;
    const d = state.detail as SecureDetail;
    const keys = this.store.keys(this.round);
    this.members = state.members;
    this.open = true;
    this.roster = d.roster ? { threshold: d.threshold!, keys: new Map(d.roster.map((id) => [id, decodeKeyMessage(keys.get(id)!).key])) } : null;
    this.maskers = d.maskers ?? [];
    this.dropped = new Set(d.dropped ?? []);
    return { phase: state.phase, detail: d };
  }

  private declaredWeight(id: number): number {
    const key = this.store.keys(this.round).get(id);
    return key ? decodeKeyMessage(key).commitment.weight : 0;
  }

  private enter(phase: string, detail: SecureDetail): void {
    this.stores.history.setRoundState(this.round, { members: this.members, phase, detail: { ...detail } });
    this.event(`phase ${this.round} ${phase}`);
  }

  // Every refused message, "topic: reason", as logged.
  get refused(): string[] { return this.inbox.refused; }

  private receive(topic: string, payload: Uint8Array): void {
    const t = this.inbox.admit(topic, ["key", "shares", "masked", "reveal"], this.round, this.open);
    if (!t) return;
    try {
      if (!this.members.includes(t.client)) fail("BAD_UPDATE", `client ${t.client} is not on round ${this.round}'s roster`);
      if (t.kind === "key") {
        const { commitment } = decodeKeyMessage(payload);
        checkCommitment(commitment, this.config);
        if (this.roster) fail("BAD_UPDATE", "the key phase is over");
        if (this.store.keys(this.round).has(t.client)) fail("BAD_UPDATE", "a second key this round (replay)");
        this.store.offerKey(this.round, t.client, payload);
      } else if (t.kind === "shares") {
        if (!this.roster?.keys.has(t.client)) fail("BAD_UPDATE", "shares from a client outside the roster");
        if (payload.length !== this.roster.keys.size * (4 + SEALED_SHARE_BYTES)) fail("BAD_UPDATE", "shares of the wrong size");
        if (this.store.shared(this.round).has(t.client)) fail("BAD_UPDATE", "shares sent twice");
        const sealed = new Map<number, Uint8Array>();
        for (let at = 0; at < payload.length; at += 4 + SEALED_SHARE_BYTES) {
          const recipient = Buffer.from(payload).readUInt32LE(at);
          if (!this.roster.keys.has(recipient) || sealed.has(recipient)) fail("BAD_UPDATE", `a share for ${recipient}, not one per roster member`);
          sealed.set(recipient, payload.slice(at + 4, at + 4 + SEALED_SHARE_BYTES));
        }
        this.store.addShares(this.round, t.client, sealed);
      } else if (t.kind === "masked") {
        if (!this.maskers.includes(t.client)) fail("BAD_UPDATE", "a masked vector from a client that is not masking");
        if (payload.length !== 4 * (this.weights.length + 1)) fail("BAD_UPDATE", `masked vector of ${payload.length} bytes`);
        if (this.store.masked(this.round).has(t.client)) fail("BAD_UPDATE", "a second masked vector (replay)");
        this.store.addMasked(this.round, t.client, new Uint32Array(payload.slice().buffer));
      } else {
        if (!this.store.masked(this.round).has(t.client)) fail("BAD_UPDATE", "a reveal from a client that sent no vector");
        const b = Buffer.from(payload);
        if (b.length % 37 !== 0) fail("BAD_UPDATE", "reveal of the wrong size");
        for (let at = 0; at < b.length; at += 37) {
          const dropped = b.readUInt32LE(at);
          if (!this.dropped.has(dropped)) fail("BAD_UPDATE", `a share of client ${dropped}, which did not drop`);
          this.store.addReveal(this.round, dropped, { x: b[at + 4], y: new Uint8Array(b.subarray(at + 5, at + 37)) });
        }
      }
    } catch (e) {
      this.inbox.refuse(topic, (e as Error).message);
    }
    this.waiters.forEach((w) => w());
  }

  // Resolves when `done` holds or after `ms`.
  private until(done: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      const check = () => { if (done()) finish(); };
      const timer = setTimeout(finish, ms);
      this.waiters.push(check);
      check();
    });
  }

  private publish(kind: string, payload: Uint8Array): Promise<unknown> {
    return this.client.publishAsync(`wisp/${this.credential.fleet}/round/${this.round}/${kind}`, Buffer.from(payload), { qos: 1 });
  }

  // One round (or the rest of a resumed one). A round that cannot finish
  // (too few devices) throws RUNTIME, one whose unmasked sum breaks the
  // commitments leaves the model as it was; either way the next round follows.
  async runRound(phaseMs = 5000): Promise<SecureRoundResult> {
    let outcome: { phase: string; refused: string | null; survivors: number[]; dropped: number[] } = { phase: "failed", refused: null, survivors: [], dropped: [] };
    const before = this.weights;
    try {
      outcome = await this.phases(phaseMs);
      return { survivors: outcome.survivors, dropped: outcome.dropped, refused: outcome.refused };
    } finally {
      const history = this.stores.history;
      if (outcome.phase === "failed") this.weights = before;
      const counted = outcome.survivors.reduce((n, id) => n + this.declaredWeight(id), 0);
      history.transaction(() => {
        history.setRoundState(this.round, { members: this.members, phase: outcome.phase, detail: outcome.refused ? { refused: outcome.refused } : {} });
        history.saveModel(this.round + 1, this.weights);
        this.deltas.record(this.round, this.modelVersion, this.weights, counted);
      });
      await this.deltas.publish(this.client).catch((e) => this.log(`round ${this.round}: the global delta was not published: ${(e as Error).message}`));
      this.event(`done ${this.round}`);
      this.open = false;
      this.roster = null;
      this.maskers = [];
      this.dropped = new Set();
      this.round++;
    }
  }

  private async phases(phaseMs: number) {
    const keys = () => this.store.keys(this.round), masked = () => this.store.masked(this.round), shared = () => this.store.shared(this.round);
    let resumed = this.restore();
    if (!resumed) {
      this.members = this.sample(this.round, this.credential.devices, this.config.clients_per_round);
      this.stores.history.transaction(() => {
        this.stores.history.saveModel(this.round, this.weights);
        this.enter("keys", {});
      });
      resumed = this.restore()!;
    }
    let { phase } = resumed;
    const detail = resumed.detail;
    if (phase === "keys") {
      await this.client.publishAsync(`wisp/${this.credential.fleet}/global`,
        Buffer.from(signedGlobal(this.credential, { round: this.round, modelVersion: this.modelVersion, members: this.members, weights: this.weights })), { qos: 1, retain: true });
      await this.until(() => keys().size >= this.members.length, phaseMs);
      const offered = keys();
      if (offered.size < 2) fail("RUNTIME", `round ${this.round}: ${offered.size} client(s) offered keys; secure rounds need at least 2`);
      detail.roster = [...offered.keys()];
      detail.threshold = Math.floor(offered.size / 2) + 1;
      this.enter((phase = "shares"), detail);
      this.restore();
    }
    const roster = this.roster!, threshold = roster.threshold;
    if (phase === "shares") {
      await this.publish("roster", encodeRoster(roster));
      await this.until(() => shared().size === roster.keys.size, phaseMs);
      const sharedNow = shared();
      detail.maskers = [...roster.keys.keys()].filter((id) => sharedNow.has(id));
      if (detail.maskers.length < threshold) fail("RUNTIME", `round ${this.round}: ${detail.maskers.length} clients shared their keys, ${threshold} needed`);
      this.enter((phase = "masked"), detail);
      this.maskers = detail.maskers;
    }
    if (phase === "masked") {
      // Each masker gets the shares the other maskers sealed to it.
      for (const recipient of this.maskers) {
        const entries = [...this.store.sharesFor(this.round, recipient)].filter(([sender]) => this.maskers.includes(sender));
        await this.publish(`inbox/${recipient}`, Buffer.concat(entries.map(([sender, sealed]) => {
          const entry = Buffer.alloc(4 + SEALED_SHARE_BYTES);
          entry.writeUInt32LE(sender, 0);
          entry.set(sealed, 4);
          return entry;
        })));
      }
      await this.publish("maskers", ids(this.maskers));
      await this.until(() => masked().size === this.maskers.length, phaseMs);
      const got = masked();
      if (got.size < threshold) fail("RUNTIME", `round ${this.round}: ${got.size} masked vectors, ${threshold} needed`);
      detail.dropped = this.maskers.filter((id) => !got.has(id));
      this.enter((phase = "reveal"), detail);
      this.dropped = new Set(detail.dropped);
    }
    const vectors = masked();
    const survivors = [...vectors.keys()];
    if (this.dropped.size > 0) {
      await this.publish("dropped", ids([...this.dropped]));
      await this.until(() => [...this.dropped].every((d) => this.store.reveals(this.round, d).length >= threshold), phaseMs);
    }
    const publicKeys = new Map(this.maskers.map((id) => [id, roster.keys.get(id)!]));
    const droppedShares = new Map([...this.dropped].map((d) => [d, this.store.reveals(this.round, d)]));
    const sum = unmaskedSum(vectors, publicKeys, droppedShares, this.round, threshold);
    const offered = keys();
    const result = { survivors, dropped: [...this.dropped] };
    const why = checkSecureSum(sum, survivors.map((id) => decodeKeyMessage(offered.get(id)!).commitment), this.config);
    if (why) {
      // A device changed its vector after masking; the sum cannot say which one.
      this.log(`round ${this.round} dropped, the model is unchanged: ${why}`);
      return { ...result, phase: "dropped", refused: why };
    }
    this.weights = addStep(this.weights, secureAverage(sum, survivors.length, this.config));
    return { ...result, phase: "done", refused: null };
  }

  async close(): Promise<void> {
    await this.client.endAsync();
    this.stores.close();
  }
}

export interface SecureClientOptions extends ClientOptions {
  // Stop after sending the shares (before the masked vector) in this round:
  // a device that drops mid-round, for tests.
  dropInRound?: number;
  // Change the masked vector before sending it: a cheating device, for tests.
  afterMasking?: (round: number, masked: Uint32Array) => void;
  // Wait for this before sending the masked vector: a slow device, for tests.
  holdMasked?: Promise<unknown>;
}

// A device in secure rounds: on each new global model it trains (train
// returns its delta and sample count, or null to sit the round out), offers
// a fresh key, shares it, sends its clipped, weighted delta under pairwise
// masks, and reveals its shares of dropped peers' keys.
export async function runSecureClient(url: string, credential: DeviceCredential, config: FlConfig,
  train: (round: number, weights: Float32Array) => { delta: Float32Array; sampleCount: number } | null,
  options: SecureClientOptions = {}): Promise<MqttClient> {
  const { fleet, id } = credential;
  const model = options.model ?? new DeviceModel(fleet, credential.serverPublicKey);
  const client = await connect(url, credential);
  let round = -1;
  let party: Party | null = null;
  let values: Int32Array | null = null;
  let roster: Roster | null = null;
  let sentMasked = false;
  const held = new Map<number, Share>(); // sender -> its share for us
  // A message that cannot be sent makes this device one that dropped: the
  // round goes on without it.
  const publish = (kind: string, payload: Uint8Array, inRound = round) => {
    client.publishAsync(`wisp/${fleet}/round/${inRound}/${kind}/${id}`, Buffer.from(payload), { qos: 1 }).catch(() => undefined);
  };
  client.on("message", (topic, bytes) => {
    try {
      onMessage(topic, new Uint8Array(bytes));
    } catch {
      // A malformed message (anyone can publish) is ignored, never a crash.
    }
  });
  function onMessage(topic: string, payload: Uint8Array): void {
    if (topic === `wisp/${fleet}/global`) {
      const global = receiveGlobal(model, payload, options.log ?? stderrLog, id);
      if (!global) return; // refused (logged) or already applied
      round = global.round;
      roster = null;
      sentMasked = false;
      held.clear();
      party = null;
      if (!global.members.includes(id)) return; // not asked this round
      const result = train(round, global.weights);
      if (!result) return;
      values = secureValues(result.delta, result.sampleCount, config);
      party = newParty(id);
      publish("key", encodeKeyMessage(party.publicKey, commitmentOf(result.delta, result.sampleCount, config)));
      return;
    }
    const t = parseTopic(fleet, topic);
    if (!t || t.round !== round || !party || !values) return;
    if (t.kind === "roster") {
      if (roster) return; // one roster per round
      roster = decodeRoster(payload);
      if (!roster.keys.has(id)) { party = null; return; }
      const shares = shareKey(party, roster.keys.size, roster.threshold);
      const out = Buffer.alloc(roster.keys.size * (4 + SEALED_SHARE_BYTES));
      [...roster.keys].forEach(([peer, key], k) => {
        out.writeUInt32LE(peer, k * (4 + SEALED_SHARE_BYTES));
        out.set(sealShare(party!, key, round, shares[k]), k * (4 + SEALED_SHARE_BYTES) + 4);
      });
      publish("shares", out);
    } else if (t.kind === "inbox" && t.client === id && roster) {
      const b = Buffer.from(payload);
      for (let at = 0; at + 4 + SEALED_SHARE_BYTES <= b.length; at += 4 + SEALED_SHARE_BYTES) {
        const sender = b.readUInt32LE(at), senderKey = roster.keys.get(sender);
        const share = senderKey && openShare(party, senderKey, round, b.subarray(at + 4, at + 4 + SEALED_SHARE_BYTES));
        if (share) held.set(sender, share);
      }
    } else if (t.kind === "maskers" && roster) {
      const maskers = readIds(payload);
      if (!maskers.includes(id) || options.dropInRound === round || sentMasked) return;
      sentMasked = true;
      const peers = maskers.map((m) => ({ id: m, publicKey: roster!.keys.get(m)! })).filter((p) => p.publicKey);
      const masked = maskValues(party, values, peers, round);
      options.afterMasking?.(round, masked);
      const inRound = round;
      const send = () => publish("masked", new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength), inRound);
      if (options.holdMasked) void options.holdMasked.then(send);
      else send();
    } else if (t.kind === "dropped") {
      const reveal = readIds(payload).flatMap((d) => {
        const share = held.get(d);
        if (!share) return [];
        const entry = Buffer.alloc(37);
        entry.writeUInt32LE(d, 0);
        entry[4] = share.x;
        entry.set(share.y, 5);
        return [entry];
      });
      publish("reveal", Buffer.concat(reveal));
    }
  }
  await client.subscribeAsync(`wisp/${fleet}/global`, { qos: 1 });
  for (const kind of ["roster", "maskers", "dropped"]) await client.subscribeAsync(`wisp/${fleet}/round/+/${kind}`, { qos: 1 });
  await client.subscribeAsync(`wisp/${fleet}/round/+/inbox/${id}`, { qos: 1 });
  return client;
}
