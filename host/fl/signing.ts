// Ed25519 signatures (node:crypto) on what the fleet's server sends: every
// global model it publishes, and any runtime module or .wisp model shipped
// over the air (`wisp sign`). A device holds the server's public key from
// provisioning and refuses, whole, anything whose signature is missing, bad
// or made with another key, and anything older than what it already has
// (a replayed round or version), keeping what it had.
//
// Signed global model: the message of encodeGlobal, then 64 bytes of
// signature over "wisp-global-v1", the fleet name, a zero byte, and that
// message. Signed global delta (what a device that trains on itself applies,
// host/boards/firmware/train.c): the delta's update message (update-format.ts,
// its round field the round whose result it is), then 64 bytes of signature
// over "wisp-delta-v1", the fleet name, a zero byte, and that message.
// Signed file: a detached 68-byte .sig, u32 version (little-endian) then the
// signature over "wisp-file-v1", the version, and the file.
import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import { fail } from "../errors";
import { decodeGlobal, GlobalModel } from "./global-model";
import { UPDATE_MAGIC } from "./update-format";

export const SIGNATURE_BYTES = 64;
export const FILE_SIGNATURE_BYTES = 4 + SIGNATURE_BYTES;

export function privateKey(pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch { /* reported below */ }
  return fail("BAD_CONFIG", "the signing key is not an Ed25519 private key (PKCS#8 PEM)");
}

export function publicKey(spkiBase64: string): KeyObject {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiBase64, "base64"), format: "der", type: "spki" });
    if (key.asymmetricKeyType === "ed25519") return key;
  } catch { /* reported below */ }
  return fail("BAD_CONFIG", "the server's public key is not an Ed25519 key (SPKI DER, base64)");
}

// An Ed25519 key pair from a 32-byte seed (RFC 8032's private key), for
// measurements that must repeat (the check's instruction count depends on
// the key and the signature); fleets use wisp fl provision's random keys.
export function keyPairFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: string } {
  if (seed.length !== 32) fail("BAD_CONFIG", `an Ed25519 seed is 32 bytes (got ${seed.length})`);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  return { privateKey: key, publicKey: createPublicKey(key).export({ format: "der", type: "spki" }).toString("base64") };
}

const globalContext = (fleet: string, body: Uint8Array) => Buffer.concat([Buffer.from(`wisp-global-v1${fleet}\0`), body]);

export function signGlobal(body: Uint8Array, fleet: string, key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.concat([body, sign(null, globalContext(fleet, body), key)]));
}

// The model in a signed global message, or BAD_SIGNATURE.
export function openGlobal(signed: Uint8Array, fleet: string, key: KeyObject): GlobalModel {
  if (signed.length < SIGNATURE_BYTES + 12) fail("BAD_SIGNATURE", `global model message of ${signed.length} bytes has no signature`);
  const body = signed.subarray(0, signed.length - SIGNATURE_BYTES);
  if (!verify(null, globalContext(fleet, body), key, signed.subarray(signed.length - SIGNATURE_BYTES))) fail("BAD_SIGNATURE", "the global model's signature does not verify with the fleet's key");
  return decodeGlobal(body);
}

const deltaContext = (fleet: string, delta: Uint8Array) => Buffer.concat([Buffer.from(`wisp-delta-v1${fleet}\0`), delta]);
export const DELTA_HEADER_BYTES = 40; // an update message's header: its round is the u32 at 16

export function signDelta(delta: Uint8Array, fleet: string, key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.concat([delta, sign(null, deltaContext(fleet, delta), key)]));
}

// The round and the update message of a signed global delta, or BAD_SIGNATURE.
// The delta itself is checked by whoever applies it (the trainer module).
export function openDelta(signed: Uint8Array, fleet: string, key: KeyObject): { round: number; delta: Uint8Array } {
  if (signed.length < DELTA_HEADER_BYTES + SIGNATURE_BYTES) fail("BAD_SIGNATURE", `global delta message of ${signed.length} bytes has no signature`);
  const delta = signed.subarray(0, signed.length - SIGNATURE_BYTES);
  if (!verify(null, deltaContext(fleet, delta), key, signed.subarray(signed.length - SIGNATURE_BYTES))) fail("BAD_SIGNATURE", "the global delta's signature does not verify with the fleet's key");
  const v = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  if (v.getUint32(0, true) !== UPDATE_MAGIC) fail("BAD_SIGNATURE", "a signed global delta that is not an update message");
  return { round: v.getUint32(16, true), delta: delta.slice() };
}

const fileContext = (version: number, file: Uint8Array) => {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(version, 0);
  return { v, message: Buffer.concat([Buffer.from("wisp-file-v1"), v, file]) };
};

export function signFile(file: Uint8Array, version: number, key: KeyObject): Uint8Array {
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) fail("USAGE", `--version must be an integer from 0 to 4294967295 (got ${version})`);
  const { v, message } = fileContext(version, file);
  return Buffer.concat([v, sign(null, message, key)]);
}

// Checks a detached signature; returns its version. `installed`: the
// version the device runs now; anything not newer is refused as a replay.
export function verifyFile(file: Uint8Array, signature: Uint8Array, key: KeyObject, installed = -1): number {
  if (signature.length !== FILE_SIGNATURE_BYTES) fail("BAD_SIGNATURE", `a signature is ${FILE_SIGNATURE_BYTES} bytes (got ${signature.length})`);
  const version = Buffer.from(signature).readUInt32LE(0);
  const { message } = fileContext(version, file);
  if (!verify(null, message, key, signature.subarray(4))) fail("BAD_SIGNATURE", "the signature does not verify with the fleet's key");
  if (version <= installed) fail("BAD_SIGNATURE", `version ${version} is not newer than the installed ${installed} (replay)`);
  return version;
}

// A device's copy of the global model: changes only on a verified, newer
// round from its fleet's server.
export class DeviceModel {
  round = -1;
  members: number[] = [];
  private readonly key: KeyObject;

  constructor(private readonly fleet: string, serverPublicKey: string, public weights: Float32Array | null = null) {
    this.key = publicKey(serverPublicKey);
  }

  // The new model, applied; null for the round already applied (the broker
  // resends a retained model on reconnect); BAD_SIGNATURE otherwise.
  receive(signed: Uint8Array): GlobalModel | null {
    const g = openGlobal(signed, this.fleet, this.key);
    if (g.round === this.round) return null;
    if (g.round < this.round) fail("BAD_SIGNATURE", `a model for round ${g.round}, older than the applied round ${this.round} (replay)`);
    if (this.weights && g.weights.length !== this.weights.length) fail("BAD_SIGNATURE", `a model of ${g.weights.length} parameters, this device has ${this.weights.length}`);
    this.round = g.round;
    this.members = g.members;
    this.weights = g.weights;
    return g;
  }
}

// A device's guard for global deltas: opens only deltas its fleet's server
// signed for a round newer than the last one it applied. As train.c does
// on the device.
export class DeviceDeltas {
  private readonly key: KeyObject;

  // `applied`: the round whose delta the device applied last (-1: none; the
  // head it was provisioned with is the fleet's initial model).
  constructor(private readonly fleet: string, serverPublicKey: string, public applied = -1) {
    this.key = publicKey(serverPublicKey);
  }

  // The delta to apply; BAD_SIGNATURE (nothing to change) when the signature
  // is bad, missing or another fleet's, or the round is not newer (replay).
  open(signed: Uint8Array): { round: number; delta: Uint8Array } {
    const d = openDelta(signed, this.fleet, this.key);
    if (d.round <= this.applied) fail("BAD_SIGNATURE", `a delta for round ${d.round}, not newer than the applied round ${this.applied} (replay)`);
    return d;
  }
}
