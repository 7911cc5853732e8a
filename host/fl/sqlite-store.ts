// The persistent round store (the default): one SQLite file, written
// through better-sqlite3, whose calls are synchronous, so an update is
// committed before the server's MQTT client acknowledges it (mqtt.js sends
// the PUBACK after the message handler returns). A server killed at any
// point restarts on the same file and resumes: an acknowledged update is
// in the file, an unacknowledged one is redelivered by the broker, and a
// redelivered one that was already stored is refused as a replay.
// WAL journal, synchronous=FULL: a commit survives the process and power.
import { fail } from "../errors";
import { MemoryRoundHistory, MemoryRoundStore, RoundHistory, RoundState, RoundStore, StoredDelta, StoredUpdate } from "./aggregate";
import { MemorySecureRoundStore, SecureRoundStore } from "./mqtt-secure";
import { Share } from "./shamir";

interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
}

interface Database {
  pragma(source: string): unknown;
  exec(source: string): unknown;
  prepare(source: string): Statement;
  transaction<T>(f: () => T): () => T;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS models (round INTEGER PRIMARY KEY, weights BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (round INTEGER PRIMARY KEY, members TEXT NOT NULL, phase TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deltas (round INTEGER PRIMARY KEY, signed BLOB NOT NULL, device_model BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS updates (round INTEGER, client INTEGER, samples INTEGER NOT NULL, delta BLOB NOT NULL, PRIMARY KEY (round, client));
CREATE TABLE IF NOT EXISTS secure_keys (round INTEGER, client INTEGER, message BLOB NOT NULL, PRIMARY KEY (round, client));
CREATE TABLE IF NOT EXISTS secure_shares (round INTEGER, sender INTEGER, recipient INTEGER, sealed BLOB NOT NULL, PRIMARY KEY (round, sender, recipient));
CREATE TABLE IF NOT EXISTS secure_masked (round INTEGER, client INTEGER, vector BLOB NOT NULL, PRIMARY KEY (round, client));
CREATE TABLE IF NOT EXISTS secure_reveals (round INTEGER, dropped INTEGER, x INTEGER, y BLOB NOT NULL, PRIMARY KEY (round, dropped, x));
`;

const blob = (a: Float32Array | Uint32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const bytes = (b: unknown) => new Uint8Array(b as Buffer);
const floats = (b: unknown) => new Float32Array(bytes(b).slice().buffer);
const words = (b: unknown) => new Uint32Array(bytes(b).slice().buffer);

export class SqliteRoundStore implements RoundStore, SecureRoundStore, RoundHistory {
  private readonly db: Database;
  private readonly q: Record<string, Statement>;

  constructor(readonly path: string) {
    let open: new (file: string) => Database;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      open = require("better-sqlite3");
    } catch (e) {
      fail("BAD_CONFIG", `the SQLite round store needs the better-sqlite3 package (${(e as Error).message.split("\n")[0]}); or set "store": ":memory:"`);
    }
    try {
      this.db = new open(path);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.pragma("busy_timeout = 5000");
      this.db.exec(SCHEMA);
    } catch (e) {
      fail("IO", `cannot open the round store ${path}: ${(e as Error).message}`);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      latestModel: p("SELECT round, weights FROM models ORDER BY round DESC LIMIT 1"),
      saveModel: p("INSERT OR REPLACE INTO models (round, weights) VALUES (?, ?)"),
      latestDelta: p("SELECT round, signed, device_model FROM deltas ORDER BY round DESC LIMIT 1"),
      saveDelta: p("INSERT OR REPLACE INTO deltas (round, signed, device_model) VALUES (?, ?, ?)"),
      roundState: p("SELECT members, phase, detail FROM rounds WHERE round = ?"),
      setRoundState: p("INSERT OR REPLACE INTO rounds (round, members, phase, detail) VALUES (?, ?, ?, ?)"),
      hasUpdate: p("SELECT 1 FROM updates WHERE round = ? AND client = ?"),
      addUpdate: p("INSERT INTO updates (round, client, samples, delta) VALUES (?, ?, ?, ?)"),
      updates: p("SELECT client, samples, delta FROM updates WHERE round = ? ORDER BY client"),
      offerKey: p("INSERT INTO secure_keys (round, client, message) VALUES (?, ?, ?)"),
      keys: p("SELECT client, message FROM secure_keys WHERE round = ? ORDER BY rowid"),
      addShare: p("INSERT INTO secure_shares (round, sender, recipient, sealed) VALUES (?, ?, ?, ?)"),
      shared: p("SELECT DISTINCT sender FROM secure_shares WHERE round = ?"),
      sharesFor: p("SELECT sender, sealed FROM secure_shares WHERE round = ? AND recipient = ? ORDER BY sender"),
      addMasked: p("INSERT INTO secure_masked (round, client, vector) VALUES (?, ?, ?)"),
      masked: p("SELECT client, vector FROM secure_masked WHERE round = ? ORDER BY rowid"),
      addReveal: p("INSERT OR IGNORE INTO secure_reveals (round, dropped, x, y) VALUES (?, ?, ?, ?)"),
      reveals: p("SELECT x, y FROM secure_reveals WHERE round = ? AND dropped = ? ORDER BY x"),
    };
  }

  transaction<T>(f: () => T): T { return this.db.transaction(f)(); }
  close(): void { this.db.close(); }

  latestModel() {
    const row = this.q.latestModel.get();
    return row ? { round: Number(row.round), weights: floats(row.weights) } : null;
  }
  saveModel(round: number, weights: Float32Array): void { this.q.saveModel.run(round, blob(weights)); }
  latestDelta(): StoredDelta | null {
    const row = this.q.latestDelta.get();
    return row ? { round: Number(row.round), signed: bytes(row.signed).slice(), deviceModel: floats(row.device_model) } : null;
  }
  saveDelta(d: StoredDelta): void { this.q.saveDelta.run(d.round, blob(d.signed), blob(d.deviceModel)); }
  roundState(round: number): RoundState | null {
    const row = this.q.roundState.get(round);
    return row ? { members: JSON.parse(row.members as string), phase: row.phase as string, detail: JSON.parse(row.detail as string) } : null;
  }
  setRoundState(round: number, s: RoundState): void { this.q.setRoundState.run(round, JSON.stringify(s.members), s.phase, JSON.stringify(s.detail)); }

  has(round: number, clientId: number): boolean { return this.q.hasUpdate.get(round, clientId) !== undefined; }
  add(round: number, u: StoredUpdate): void { this.q.addUpdate.run(round, u.clientId, u.sampleCount, blob(u.delta)); }
  updates(round: number): StoredUpdate[] {
    return this.q.updates.all(round).map((r) => ({ clientId: Number(r.client), sampleCount: Number(r.samples), delta: floats(r.delta) }));
  }

  offerKey(round: number, client: number, key: Uint8Array): void { this.q.offerKey.run(round, client, blob(key)); }
  keys(round: number): Map<number, Uint8Array> { return new Map(this.q.keys.all(round).map((r) => [Number(r.client), bytes(r.message)])); }
  addShares(round: number, client: number, sealed: Map<number, Uint8Array>): void {
    this.transaction(() => { for (const [recipient, s] of sealed) this.q.addShare.run(round, client, recipient, blob(s)); });
  }
  shared(round: number): Set<number> { return new Set(this.q.shared.all(round).map((r) => Number(r.sender))); }
  sharesFor(round: number, recipient: number): Map<number, Uint8Array> {
    return new Map(this.q.sharesFor.all(round, recipient).map((r) => [Number(r.sender), bytes(r.sealed)]));
  }
  addMasked(round: number, client: number, vector: Uint32Array): void { this.q.addMasked.run(round, client, blob(vector)); }
  masked(round: number): Map<number, Uint32Array> { return new Map(this.q.masked.all(round).map((r) => [Number(r.client), words(r.vector)])); }
  addReveal(round: number, dropped: number, share: Share): void { this.q.addReveal.run(round, dropped, share.x, blob(share.y)); }
  reveals(round: number, dropped: number): Share[] { return this.q.reveals.all(round, dropped).map((r) => ({ x: Number(r.x), y: bytes(r.y) })); }
}

// The stores a server runs on, as the config's "store" says.
export interface Stores {
  plain: RoundStore;
  secure: SecureRoundStore;
  history: RoundHistory;
  close(): void;
}

export function openStores(store: string): Stores {
  if (store === ":memory:") {
    return { plain: new MemoryRoundStore(), secure: new MemorySecureRoundStore(), history: new MemoryRoundHistory(), close: () => undefined };
  }
  const s = new SqliteRoundStore(store);
  return { plain: s, secure: s, history: s, close: () => s.close() };
}
