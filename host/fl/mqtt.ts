// Federated rounds over MQTT. Topic layout, for a fleet named F:
//   wisp/F/global                      retained, QoS 1: the current global
//                                      model (u32 round, u32 model version,
//                                      f32 parameters)
//   wisp/F/round/N/update/C            QoS 1: client C's update message for
//                                      round N (host/fl/update-format.ts)
//   wisp/F/delta                       retained, QoS 1: the last round's signed
//                                      global delta, for devices that apply
//                                      deltas (global-delta.ts)
// Clients keep persistent sessions (clean: false), so one that drops and
// reconnects mid-round still gets the global model and its update still
// arrives; the round aggregator refuses a repeated update as a replay.
// By default an in-process broker (aedes) on the loopback interface serves
// the fleet; any MQTT 3.1.1/5 broker (mosquitto in the tests) works the same.
// Either way only provisioned clients get in, and each publishes and reads
// only what the fleet policy allows (fleet-policy.ts).
// Rounds under secure aggregation have their own topics: mqtt-secure.ts.
import { randomInt } from "node:crypto";
import { AddressInfo, createServer } from "node:net";
import mqtt, { MqttClient } from "mqtt";
import { fail } from "../errors";
import { FlConfig, Log, MemoryRoundStore, RoundAggregator } from "./aggregate";
import { openStores, Stores } from "./sqlite-store";
import { checkPassword, DeviceCredential, filterCovers, Identity, MqttLogin, parseUsername, ServerCredential, topicMatches, topicRules } from "./fleet-policy";

export interface Broker {
  url: string;
  close(): Promise<void>;
}

export type { Log };
export const stderrLog: Log = (line) => process.stderr.write(`wisp fl: ${line}\n`);

export interface BrokerLimits {
  maxPayloadBytes: number; // a bigger publish is refused (and its connection closed)
  burst: number; // a device may publish this many messages at once...
  perSecond: number; // ...and this many a second after that; beyond, it is cut off
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = { maxPayloadBytes: 1 << 20, burst: 100, perSecond: 20 };

// The embedded broker: `users` (username -> password hash, a mosquitto
// password file's content) may connect, each under its username as client
// id; every publish, subscription and delivery is checked against the topic
// rules of its identity, and a device's publishes against the limits (the
// server's are not limited). Each refusal is logged; a refused publish
// closes the publisher's connection (MQTT 3.1.1 has no other answer).
export async function startBroker(users: Map<string, string>, log: Log = stderrLog, limits: BrokerLimits = DEFAULT_BROKER_LIMITS): Promise<Broker> {
  const { Aedes } = await import("aedes");
  const who = new WeakMap<object, Identity>(); // connection -> identity, once authenticated
  const identity = (client: object | null) => (client ? who.get(client) : undefined);
  const buckets = new WeakMap<object, { tokens: number; at: number }>();
  const withinRate = (client: object): boolean => {
    const now = Date.now(), b = buckets.get(client) ?? { tokens: limits.burst, at: now };
    b.tokens = Math.min(limits.burst, b.tokens + ((now - b.at) / 1000) * limits.perSecond);
    b.at = now;
    buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  };
  const aedes = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const hash = username === undefined ? undefined : users.get(username);
      const id = username === undefined ? null : parseUsername(username);
      const refuse = (why: string) => {
        log(`broker: refused connection of client "${client.id}": ${why}`);
        done(Object.assign(new Error(why), { returnCode: 4 as const }), false);
      };
      if (!hash || !id) return refuse(username === undefined ? "no credential" : `unknown user "${username}"`);
      if (!password || !checkPassword(hash, password.toString())) return refuse(`wrong password for "${username}"`);
      if (client.id !== username) return refuse(`client id must be the username "${username}"`);
      who.set(client, id);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      if (!client) return done(null); // the broker's own messages
      const id = identity(client);
      const refuse = (why: string) => {
        log(`broker: refused publish by "${client.id}" on ${packet.topic}: ${why}; connection closed`);
        done(new Error(why));
      };
      if (!id || !topicRules(id).publish.some((f) => topicMatches(f, packet.topic))) return refuse("not its topic");
      if (packet.payload.length > limits.maxPayloadBytes) return refuse(`payload of ${packet.payload.length} bytes, the limit is ${limits.maxPayloadBytes}`);
      if (id.role === "device" && !withinRate(client)) return refuse(`rate limit (${limits.burst} messages, then ${limits.perSecond} a second)`);
      done(null);
    },
    authorizeSubscribe: (client, sub, done) => {
      const id = identity(client);
      if (id && topicRules(id).read.some((f) => filterCovers(f, sub.topic))) return done(null, sub);
      log(`broker: refused subscription of "${client.id}" to ${sub.topic}: not its topics`);
      done(null, null);
    },
    // A second guard: nothing is delivered that the reader may not read.
    authorizeForward: (client, packet) => {
      const id = identity(client);
      return id && topicRules(id).read.some((f) => topicMatches(f, packet.topic)) ? packet : null;
    },
  });
  const server = createServer(aedes.handle as unknown as (socket: import("node:net").Socket) => void);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))),
  };
}

import { encodeGlobal, GlobalModel } from "./global-model";
import { GlobalDeltas } from "./global-delta";
import { DeviceModel, privateKey, signGlobal } from "./signing";
export { decodeGlobal, encodeGlobal } from "./global-model";
export type { GlobalModel } from "./global-model";

// A round's roster: `n` of the provisioned devices, drawn uniformly at
// random by the server, so no device picks the round it joins.
export function sampleRoster(devices: number[], n: number): number[] {
  const pool = [...new Set(devices)];
  for (let i = 0; i < Math.min(n, pool.length); i++) {
    const j = i + randomInt(pool.length - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, Math.min(n, pool.length)).sort((a, b) => a - b);
}

export type RosterSampler = (round: number, devices: number[], n: number) => number[];

export interface RoundServerOptions {
  log?: Log; // every refusal and every clipped claim; stderr by default
  sample?: RosterSampler; // who is asked in each round; sampleRoster by default
  stores?: Stores; // where rounds are kept; by default the config's "store" (SQLite file)
  onEvent?: (event: string) => void; // progress: "accepted R C", "phase R P", "done R"
  rate?: RateLimit; // each device's messages to the server; DEFAULT_DEVICE_RATE by default
}

// A device's messages the server takes: a burst, then so many a second (a
// token bucket per device). The embedded broker limits devices too;
// mosquitto cannot, so this limit is the one that holds there.
export interface RateLimit {
  burst: number;
  perSecond: number;
}

export const DEFAULT_DEVICE_RATE: RateLimit = { burst: 100, perSecond: 20 };

// What both round servers do with each message before reading it: parse
// its topic (wisp/F/round/N/<kind>/C), refuse other topics, kinds the server
// does not take, a device over its rate, and rounds that are closed, not open
// or not started. Every refusal is one log line and kept in `refused`.
export class RoundInbox {
  readonly refused: string[] = [];
  private readonly buckets = new Map<number, { tokens: number; at: number }>();
  private readonly pattern: RegExp;

  constructor(fleet: string, private readonly log: Log, private readonly rate: RateLimit = DEFAULT_DEVICE_RATE) {
    this.pattern = new RegExp(`^wisp/${fleet}/round/(\\d+)/(\\w+)/(\\d+)$`);
  }

  refuse(topic: string, why: string): null {
    this.refused.push(`${topic}: ${why}`);
    this.log(`refused ${topic}: ${why}`);
    return null;
  }

  private withinRate(client: number): boolean {
    const now = Date.now(), b = this.buckets.get(client) ?? { tokens: this.rate.burst, at: now };
    b.tokens = Math.min(this.rate.burst, b.tokens + ((now - b.at) / 1000) * this.rate.perSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  // The message's round, kind and device, when `round` is open and takes it; else null (refused).
  admit(topic: string, kinds: string[], round: number, open: boolean): { round: number; kind: string; client: number } | null {
    const m = this.pattern.exec(topic);
    if (!m || !kinds.includes(m[2])) return this.refuse(topic, `not a topic the server takes (${kinds.join(", ")})`);
    const t = { round: Number(m[1]), kind: m[2], client: Number(m[3]) };
    if (!this.withinRate(t.client)) return this.refuse(topic, `rate limit: device ${t.client} sent more than ${this.rate.burst} messages, then ${this.rate.perSecond} a second`);
    if (t.round < round) return this.refuse(topic, `round ${t.round} is closed`);
    if (!open) return this.refuse(topic, "no round is open");
    if (t.round !== round) return this.refuse(topic, `round ${t.round} has not started (this is round ${round})`);
    return t;
  }
}

// Connects with a provisioned login; the username is the client id. The
// session is persistent, so messages sent while this client was away arrive
// as soon as it is back: `onMessage` is listening before they can.
export function connect(url: string, login: MqttLogin, onMessage?: (topic: string, payload: Buffer) => void): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId: login.username, username: login.username, password: login.password, clean: false, reconnectPeriod: 0, connectTimeout: 5000 });
    if (onMessage) client.on("message", onMessage);
    client.once("connect", () => resolve(client));
    client.once("error", (e) => {
      client.end(true);
      reject(e);
    });
  });
}

// The server side of rounds: picks the round's roster, publishes the
// global model with it, gathers the members' updates through the round
// aggregator, and publishes the FedAvg result. Anything else is refused
// with a logged reason, never an exception. Every round is kept in the
// store, so a server restarted on the same store resumes its round.
export class MqttRoundServer {
  private client!: MqttClient;
  private aggregator: RoundAggregator | null = null;
  private onAnswer: (() => void) | null = null;
  private readonly inbox: RoundInbox;
  private readonly deltas: GlobalDeltas;
  members: number[] = [];
  weights: Float32Array;
  round = 0;
  private readonly log: Log;
  private readonly event: (e: string) => void;
  private readonly sample: RosterSampler;
  private readonly stores: Stores;

  private constructor(private readonly credential: ServerCredential, private readonly config: FlConfig,
    private readonly modelVersion: number, initial: Float32Array, options: RoundServerOptions) {
    this.log = options.log ?? stderrLog;
    this.event = options.onEvent ?? (() => undefined);
    this.sample = options.sample ?? ((_, devices, n) => sampleRoster(devices, n));
    this.stores = options.stores ?? openStores(config.store);
    this.inbox = new RoundInbox(credential.fleet, this.log, options.rate);
    const latest = this.stores.history.latestModel();
    if (latest && latest.weights.length !== initial.length) fail("BAD_CONFIG", `the store ${config.store} holds a model of ${latest.weights.length} parameters, not ${initial.length}`);
    this.weights = latest ? latest.weights : initial.slice();
    this.round = latest ? latest.round : 0;
    this.deltas = new GlobalDeltas(credential, this.stores.history, initial);
    const state = this.stores.history.roundState(this.round);
    if (state?.phase === "open") this.openRound(state.members); // resume
  }

  static async start(url: string, credential: ServerCredential, config: FlConfig, modelVersion: number, weights: Float32Array,
    options: RoundServerOptions = {}): Promise<MqttRoundServer> {
    if (config.secure_aggregation) fail("BAD_CONFIG", "secure_aggregation is true: run MqttSecureRoundServer (mqtt-secure.ts), which never sees a single update");
    const server = new MqttRoundServer(credential, config, modelVersion, weights, options);
    server.client = await connect(url, credential, (topic, payload) => server.receive(topic, new Uint8Array(payload)));
    await server.client.subscribeAsync(`wisp/${credential.fleet}/round/+/update/+`, { qos: 1 });
    await server.deltas.publish(server.client); // the last round's delta again, after a restart
    return server;
  }

  // Every refused message, "topic: reason", as logged.
  get refused(): string[] { return this.inbox.refused; }

  private openRound(members: number[]): void {
    this.members = members;
    this.aggregator = new RoundAggregator(this.config, this.modelVersion, this.weights.length, this.round, this.stores.plain, new Set(members), this.log);
  }

  private answered(): number {
    return this.stores.plain.updates(this.round).length;
  }

  private receive(topic: string, payload: Uint8Array): void {
    const t = this.inbox.admit(topic, ["update"], this.round, this.aggregator !== null);
    if (!t) return;
    const refuse = (why: string) => { this.inbox.refuse(topic, why); };
    if (payload.length > maxUpdateBytes(this.weights.length)) return refuse(`update of ${payload.length} bytes, more than any update of a ${this.weights.length}-parameter model`);
    try {
      // The topic's device id is the authenticated sender: the broker lets a
      // device publish only on its own. Stored (committed) before the ack.
      this.aggregator!.accept(payload, t.client);
      this.event(`accepted ${t.round} ${t.client}`);
      this.onAnswer?.();
    } catch (e) {
      refuse((e as Error).message);
    }
  }

  // Publishes the global model to a sampled roster and waits until every
  // member answered, or `timeoutMs`; then averages what was accepted. A
  // round found open in the store is resumed, its roster and updates kept.
  async runRound(timeoutMs = 30_000): Promise<void> {
    const history = this.stores.history;
    if (!this.aggregator) {
      const members = this.sample(this.round, this.credential.devices, this.config.clients_per_round);
      history.transaction(() => {
        history.saveModel(this.round, this.weights);
        history.setRoundState(this.round, { members, phase: "open", detail: {} });
      });
      this.openRound(members);
    }
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onAnswer = () => {
        if (this.answered() < this.members.length) return;
        clearTimeout(timer);
        resolve();
      };
    });
    await this.publishGlobal(this.members);
    this.onAnswer!();
    await done;
    this.onAnswer = null;
    const aggregator = this.aggregator!;
    this.aggregator = null; // closed: later updates for it are refused
    const answered = this.answered();
    const next = answered === 0 ? this.weights : addStep(this.weights, aggregator.average());
    const counted = this.stores.plain.updates(this.round).reduce((n, u) => n + u.sampleCount, 0);
    history.transaction(() => {
      history.setRoundState(this.round, { members: this.members, phase: answered ? "done" : "failed", detail: { answered } });
      history.saveModel(this.round + 1, next);
      this.deltas.record(this.round, this.modelVersion, next, counted);
    });
    await this.deltas.publish(this.client);
    this.event(`done ${this.round}`);
    this.weights = next;
    this.round++;
    if (answered === 0) fail("RUNTIME", `round ${this.round - 1}: none of the ${this.members.length} members sent an update within ${timeoutMs} ms`);
    if (answered < this.members.length) this.log(`round ${this.round - 1} closed with ${answered} of ${this.members.length} members' updates`);
  }

  // The current model, retained, with the devices asked to train on it (none after the last round).
  publishGlobal(members: number[] = []): Promise<unknown> {
    return this.client.publishAsync(`wisp/${this.credential.fleet}/global`,
      Buffer.from(signedGlobal(this.credential, { round: this.round, modelVersion: this.modelVersion, members, weights: this.weights })), { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
    this.stores.close();
  }
}

// The global model message as the server publishes it: signed with its key.
export function signedGlobal(credential: ServerCredential, g: GlobalModel): Uint8Array {
  return signGlobal(encodeGlobal(g), credential.fleet, privateKey(credential.signingKey));
}

// A device applies a global model only when it verifies (signing.ts); a
// refused one is logged, and the device keeps the weights it had.
export function receiveGlobal(model: DeviceModel, payload: Uint8Array, log: Log, id: number): GlobalModel | null {
  try {
    return model.receive(new Uint8Array(payload));
  } catch (e) {
    log(`device ${id}: refused global model: ${(e as Error).message}`);
    return null;
  }
}

// The largest update message a model of `elements` parameters can have:
// one scale group per element, every index a 5-byte varint, 8-bit values.
export const maxUpdateBytes = (elements: number) => 44 + 8 * elements + 5 * elements + elements;

export const addStep = (weights: Float32Array, step: Float32Array) => Float32Array.from(weights, (w, i) => w + step[i]);

// A device: on each new global model, train and send an update (or nothing,
// when train returns null).
export interface ClientOptions {
  log?: Log; // refused model messages; stderr by default
  model?: DeviceModel; // the device's verified copy of the global model
}

export async function runClient(url: string, credential: DeviceCredential,
  train: (round: number, weights: Float32Array) => Uint8Array | null | Promise<Uint8Array | null>, options: ClientOptions = {}): Promise<MqttClient> {
  const { fleet, id } = credential;
  const model = options.model ?? new DeviceModel(fleet, credential.serverPublicKey);
  const client = await connect(url, credential);
  client.on("message", async (topic, payload) => {
    if (topic !== `wisp/${fleet}/global`) return;
    const global = receiveGlobal(model, payload, options.log ?? stderrLog, id);
    if (!global || !global.members.includes(id)) return; // refused, already applied, or not asked this round
    const update = await train(global.round, global.weights);
    // An update that cannot be sent is a device that dropped out of the round.
    if (update) await client.publishAsync(`wisp/${fleet}/round/${global.round}/update/${id}`, Buffer.from(update), { qos: 1 }).catch(() => undefined);
  });
  await client.subscribeAsync(`wisp/${fleet}/global`, { qos: 1 });
  return client;
}
