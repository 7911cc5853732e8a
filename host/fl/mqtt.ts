// Federated rounds over MQTT. Topic layout, for a fleet named F:
//   wisp/F/global                      retained, QoS 1: the current global
//                                      model (u32 round, u32 model version,
//                                      f32 parameters)
//   wisp/F/round/N/update/C            QoS 1: client C's update message for
//                                      round N (host/fl/update-format.ts)
// Clients keep persistent sessions (clean: false), so one that drops and
// reconnects mid-round still gets the global model and its update still
// arrives; the round aggregator refuses a repeated update as a replay.
// By default an in-process broker (aedes) on the loopback interface serves
// the fleet; any MQTT 3.1.1/5 broker (mosquitto in the tests) works the same.
// Either way only provisioned clients get in, and each publishes and reads
// only what the fleet policy allows (fleet-policy.ts).
// Rounds under secure aggregation have their own topics: mqtt-secure.ts.
import { AddressInfo, createServer } from "node:net";
import mqtt, { MqttClient } from "mqtt";
import { fail } from "../errors";
import { FlConfig, RoundAggregator } from "./aggregate";
import { checkPassword, DeviceCredential, filterCovers, Identity, MqttLogin, parseUsername, ServerCredential, topicMatches, topicRules } from "./fleet-policy";

export interface Broker {
  url: string;
  close(): Promise<void>;
}

export type Log = (line: string) => void;
export const stderrLog: Log = (line) => process.stderr.write(`wisp fl: ${line}\n`);

// The embedded broker: `users` (username -> password hash, a mosquitto
// password file's content) may connect, each under its username as client
// id; every publish, subscription and delivery is checked against the topic
// rules of its identity. Each refusal is logged.
export async function startBroker(users: Map<string, string>, log: Log = stderrLog): Promise<Broker> {
  const { Aedes } = await import("aedes");
  const who = new WeakMap<object, Identity>(); // connection -> identity, once authenticated
  const identity = (client: object | null) => (client ? who.get(client) : undefined);
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
      if (id && topicRules(id).publish.some((f) => topicMatches(f, packet.topic))) return done(null);
      log(`broker: refused publish by "${client.id}" on ${packet.topic}: not its topic`);
      done(new Error(`not allowed to publish on ${packet.topic}`));
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

export function encodeGlobal(round: number, modelVersion: number, weights: Float32Array): Uint8Array {
  const out = new Uint8Array(8 + 4 * weights.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, round, true);
  v.setUint32(4, modelVersion, true);
  weights.forEach((w, i) => v.setFloat32(8 + 4 * i, w, true));
  return out;
}

export function decodeGlobal(bytes: Uint8Array): { round: number; modelVersion: number; weights: Float32Array } {
  if (bytes.length < 8 || bytes.length % 4 !== 0) fail("BAD_UPDATE", "global model message has a bad size");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    round: v.getUint32(0, true),
    modelVersion: v.getUint32(4, true),
    weights: Float32Array.from({ length: (bytes.length - 8) / 4 }, (_, i) => v.getFloat32(8 + 4 * i, true)),
  };
}

// Connects with a provisioned login; the username is the client id.
export function connect(url: string, login: MqttLogin): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId: login.username, username: login.username, password: login.password, clean: false, reconnectPeriod: 0, connectTimeout: 5000 });
    client.once("connect", () => resolve(client));
    client.once("error", (e) => {
      client.end(true);
      reject(e);
    });
  });
}

// The server side of rounds: publishes the global model, gathers updates
// through the round aggregator, and publishes the FedAvg result.
export class MqttRoundServer {
  private aggregator!: RoundAggregator;
  private accepted = 0;
  private onRoundDone: (() => void) | null = null;
  readonly refused: string[] = [];

  private constructor(private readonly client: MqttClient, private readonly fleet: string, private readonly config: FlConfig,
    private readonly modelVersion: number, public weights: Float32Array, public round = 0) {}

  static async start(url: string, credential: ServerCredential, config: FlConfig, modelVersion: number, weights: Float32Array): Promise<MqttRoundServer> {
    if (config.secure_aggregation) fail("BAD_CONFIG", "secure_aggregation is true: run MqttSecureRoundServer (mqtt-secure.ts), which never sees a single update");
    const fleet = credential.fleet;
    const client = await connect(url, credential);
    const server = new MqttRoundServer(client, fleet, config, modelVersion, weights);
    client.on("message", (topic, payload) => server.receive(topic, payload));
    await client.subscribeAsync(`wisp/${fleet}/round/+/update/+`, { qos: 1 });
    return server;
  }

  private receive(topic: string, payload: Buffer): void {
    try {
      this.aggregator.accept(new Uint8Array(payload));
      this.accepted++;
      if (this.accepted >= this.config.clients_per_round) this.onRoundDone?.();
    } catch (e) {
      this.refused.push(`${topic}: ${(e as Error).message}`);
    }
  }

  // Publishes the global model, waits for clients_per_round updates, averages.
  async runRound(timeoutMs = 30_000): Promise<void> {
    this.aggregator = new RoundAggregator(this.config, this.modelVersion, this.weights.length, this.round);
    this.accepted = 0;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`round ${this.round}: ${this.accepted} of ${this.config.clients_per_round} updates`)), timeoutMs);
      this.onRoundDone = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await this.client.publishAsync(`wisp/${this.fleet}/global`, Buffer.from(encodeGlobal(this.round, this.modelVersion, this.weights)), { qos: 1, retain: true });
    await done;
    const step = this.aggregator.average();
    this.weights = Float32Array.from(this.weights, (w, i) => w + step[i]);
    this.round++;
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}

// A device: on each new global model, train and send an update (or nothing,
// when train returns null).
export async function runClient(url: string, credential: DeviceCredential,
  train: (round: number, weights: Float32Array) => Uint8Array | null | Promise<Uint8Array | null>): Promise<MqttClient> {
  const { fleet, id } = credential;
  const client = await connect(url, credential);
  let lastRound = -1;
  client.on("message", async (topic, payload) => {
    if (topic !== `wisp/${fleet}/global`) return;
    let global: ReturnType<typeof decodeGlobal>;
    try {
      global = decodeGlobal(new Uint8Array(payload));
    } catch {
      return; // a malformed model message (anyone can publish) is ignored
    }
    if (global.round <= lastRound) return;
    lastRound = global.round;
    const update = await train(global.round, global.weights);
    // An update that cannot be sent is a device that dropped out of the round.
    if (update) await client.publishAsync(`wisp/${fleet}/round/${global.round}/update/${id}`, Buffer.from(update), { qos: 1 }).catch(() => undefined);
  });
  await client.subscribeAsync(`wisp/${fleet}/global`, { qos: 1 });
  return client;
}
