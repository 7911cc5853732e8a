// Who may connect to a fleet's MQTT broker, and what each may publish and
// read. `wisp fl provision` makes one credential per device and one for the
// server (docs/fleet.md); the broker knows only salted password hashes, in
// mosquitto's own password-file format, so the embedded broker (aedes) and
// mosquitto enforce one policy: the topic rules below, which are also
// written out as a mosquitto ACL file.
//
// Usernames carry the fleet and the role: "F.server", "F.device-7". A client
// must connect with its username as its client id, so no one can take over
// another's session, and the broker lets a device publish only on its own
// topics: the device id in a topic is the authenticated one.
import { generateKeyPairSync, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../errors";

const FLEET_NAME = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_DEVICE_ID = 0xffffffff;

export interface MqttLogin {
  username: string;
  password: string;
}

export interface DeviceCredential extends MqttLogin {
  fleet: string;
  id: number;
  serverPublicKey: string; // Ed25519, SPKI DER in base64: the key every global model is signed with
}

export interface ServerCredential extends MqttLogin {
  fleet: string;
  signingKey: string; // Ed25519 private key, PKCS#8 PEM
  publicKey: string; // SPKI DER in base64
  devices: number[]; // the provisioned device ids, the roster is sampled from them
}

export interface Provisioned {
  server: ServerCredential;
  devices: DeviceCredential[];
  passwd: string; // mosquitto password file
  acl: string; // mosquitto ACL file
}

export function checkFleetName(fleet: string): string {
  if (!FLEET_NAME.test(fleet)) fail("BAD_CONFIG", `fleet name "${fleet}" must be 1-64 letters, digits, '-' or '_'`);
  return fleet;
}

export const serverUsername = (fleet: string) => `${fleet}.server`;
export const deviceUsername = (fleet: string, id: number) => `${fleet}.device-${id}`;

export type Identity = { fleet: string; role: "server" } | { fleet: string; role: "device"; id: number };

export function parseUsername(username: string): Identity | null {
  const m = /^([A-Za-z0-9_-]{1,64})\.(?:(server)|device-(0|[1-9]\d{0,9}))$/.exec(username);
  if (!m) return null;
  if (m[2]) return { fleet: m[1], role: "server" };
  const id = Number(m[3]);
  return id <= MAX_DEVICE_ID ? { fleet: m[1], role: "device", id } : null;
}

// The topic filters each identity may publish to and read from. Devices read
// the model and the round's server messages, and their own inbox (secure
// rounds route each sealed key share through the server to its recipient),
// never another device's topics.
export function topicRules(who: Identity): { publish: string[]; read: string[] } {
  const round = `wisp/${who.fleet}/round/+`;
  const fromDevices = ["update", "key", "shares", "masked", "reveal"];
  const fromServer = ["roster", "maskers", "dropped"];
  if (who.role === "server") {
    return {
      publish: [`wisp/${who.fleet}/global`, `wisp/${who.fleet}/delta`, ...fromServer.map((k) => `${round}/${k}`), `${round}/inbox/+`],
      read: fromDevices.map((k) => `${round}/${k}/+`),
    };
  }
  return {
    publish: fromDevices.map((k) => `${round}/${k}/${who.id}`),
    read: [`wisp/${who.fleet}/global`, `wisp/${who.fleet}/delta`, ...fromServer.map((k) => `${round}/${k}`), `${round}/inbox/${who.id}`],
  };
}

// MQTT topic matching: does `topic` (no wildcards) match `filter`?
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/"), t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

// Is every topic that `subscription` (which may hold wildcards) matches also matched by `filter`?
export function filterCovers(filter: string, subscription: string): boolean {
  const f = filter.split("/"), s = subscription.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= s.length || s[i] === "#" || (f[i] !== "+" && (s[i] === "+" || f[i] !== s[i]))) return false;
  }
  return f.length === s.length;
}

// Password hashes in mosquitto 2's format: $7$iterations$salt$hash, PBKDF2-SHA512.
const ITERATIONS = 101;

export function hashPassword(password: string): string {
  const salt = randomBytes(12);
  return `$7$${ITERATIONS}$${salt.toString("base64")}$${pbkdf2Sync(password, salt, ITERATIONS, 64, "sha512").toString("base64")}`;
}

export function checkPassword(hash: string, password: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 1e6) return false;
  const want = Buffer.from(m[3], "base64");
  const got = pbkdf2Sync(password, Buffer.from(m[2], "base64"), Number(m[1]), want.length, "sha512");
  return want.length > 0 && timingSafeEqual(want, got);
}

// A password file's users: username -> hash.
export function parsePasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
    const at = line.indexOf(":");
    if (at < 1) fail("BAD_CONFIG", `password file line "${line.slice(0, 40)}" is not user:hash`);
    users.set(line.slice(0, at), line.slice(at + 1));
  }
  return users;
}

export function mosquittoAcl(identities: { username: string; who: Identity }[]): string {
  const blocks = identities.map(({ username, who }) => {
    const rules = topicRules(who);
    return [`user ${username}`, ...rules.publish.map((t) => `topic write ${t}`), ...rules.read.map((t) => `topic read ${t}`)].join("\n");
  });
  return `# Generated by wisp fl provision: a device publishes only its own topics and reads\n# only the model, the round's server messages and its own inbox.\n\n${blocks.join("\n\n")}\n`;
}

// A mosquitto configuration enforcing the policy in `brokerDir`.
export function mosquittoConf(brokerDir: string, port = 1883, host = "127.0.0.1"): string {
  return [
    `listener ${port} ${host}`,
    "allow_anonymous false",
    `password_file ${join(brokerDir, "passwd")}`,
    `acl_file ${join(brokerDir, "acl")}`,
    "use_username_as_clientid true",
    "max_packet_size 1048576",
    "",
  ].join("\n");
}

const secret = () => randomBytes(24).toString("base64url");

export function provisionFleet(fleet: string, devices: number): Provisioned {
  checkFleetName(fleet);
  if (!Number.isInteger(devices) || devices < 1 || devices > 100_000) fail("USAGE", `--devices must be an integer from 1 to 100000 (got ${devices})`);
  const keys = generateKeyPairSync("ed25519");
  const publicKey = keys.publicKey.export({ format: "der", type: "spki" }).toString("base64");
  const ids = Array.from({ length: devices }, (_, i) => i);
  const server: ServerCredential = {
    fleet, username: serverUsername(fleet), password: secret(),
    signingKey: keys.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), publicKey, devices: ids,
  };
  const deviceCredentials = ids.map((id): DeviceCredential => ({ fleet, id, username: deviceUsername(fleet, id), password: secret(), serverPublicKey: publicKey }));
  const logins = [server, ...deviceCredentials];
  return {
    server,
    devices: deviceCredentials,
    passwd: logins.map((l) => `${l.username}:${hashPassword(l.password)}\n`).join(""),
    acl: mosquittoAcl(logins.map((l) => ({ username: l.username, who: parseUsername(l.username)! }))),
  };
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

// dir/server.json, dir/devices/device-N.json, dir/broker/{passwd,acl,mosquitto.conf}.
export function writeProvisioned(dir: string, p: Provisioned): void {
  try {
    for (const sub of ["devices", "broker"]) mkdirSync(join(dir, sub), { recursive: true });
    writeSecret(join(dir, "server.json"), JSON.stringify(p.server, null, 2) + "\n");
    for (const d of p.devices) writeSecret(join(dir, "devices", `device-${d.id}.json`), JSON.stringify(d, null, 2) + "\n");
    writeSecret(join(dir, "broker", "passwd"), p.passwd);
    writeFileSync(join(dir, "broker", "acl"), p.acl);
    writeFileSync(join(dir, "broker", "mosquitto.conf"), mosquittoConf(join(dir, "broker")));
  } catch (e) {
    fail("IO", `cannot write the fleet's credentials to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const json = JSON.parse(text);
    if (typeof json === "object" && json !== null && !Array.isArray(json)) return json;
  } catch { /* reported below */ }
  return fail("BAD_CONFIG", `${path} is not a ${what} (JSON object)`);
}

export function readServerCredential(path: string): ServerCredential {
  const c = readJson(path, "server credential");
  const ok = typeof c.fleet === "string" && typeof c.username === "string" && typeof c.password === "string" && typeof c.signingKey === "string"
    && typeof c.publicKey === "string" && Array.isArray(c.devices) && c.devices.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DEVICE_ID);
  if (!ok || c.username !== serverUsername(c.fleet as string)) fail("BAD_CONFIG", `${path} is not a server credential from wisp fl provision`);
  return c as unknown as ServerCredential;
}

export function readDeviceCredential(path: string): DeviceCredential {
  const c = readJson(path, "device credential");
  const ok = typeof c.fleet === "string" && Number.isInteger(c.id) && typeof c.password === "string" && typeof c.serverPublicKey === "string";
  if (!ok || c.username !== deviceUsername(c.fleet as string, c.id as number)) fail("BAD_CONFIG", `${path} is not a device credential from wisp fl provision`);
  return c as unknown as DeviceCredential;
}

export function readPasswd(path: string): Map<string, string> {
  try {
    return parsePasswd(readFileSync(path, "utf8"));
  } catch (e) {
    if ((e as { code?: string }).code === "BAD_CONFIG") throw e;
    return fail("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
