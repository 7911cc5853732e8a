// Secure aggregation of quantized updates (pairwise masking, after Bonawitz
// et al. 2017). Each pair of clients agrees a key (X25519); each client adds,
// modulo 2^32, a mask from a PRG seeded by every pairwise key, with opposite
// signs on the two sides, so the masks cancel in the sum and the server
// learns only the sum. Each client also Shamir-shares its private key with
// the others; if it drops out after the others masked against it, any
// `threshold` survivors' shares let the server rebuild its key and remove
// the masks that would not cancel.
//
// Threat model: the server and clients follow the protocol (honest but
// curious); the server never sees fewer than `threshold` clients' sums and
// does not collude with `threshold` or more clients. Without the extra
// self-masks of the full protocol, a server that falsely declared a client
// dropped could unmask that client's update; rounds therefore finish with at
// least `threshold` survivors, and a client's key is rebuilt only when it
// sent no masked update.
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, KeyObject, randomBytes } from "node:crypto";
import { fail } from "../errors";
import { combineShares, Share, splitSecret } from "./shamir";

const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");

export interface Party {
  id: number;
  privateKey: KeyObject;
  publicKey: Uint8Array; // raw 32 bytes, what a client publishes
}

export function newParty(id: number): Party {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return { id, privateKey, publicKey: publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_X25519.length) };
}

function rawPrivateKey(party: Party): Uint8Array {
  return party.privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_X25519.length);
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: "der", type: "spki" });
}

// The mask two parties share for a round: AES-256-CTR keystream keyed by a
// hash of their X25519 secret and the round, as n words.
function pairMask(privateKey: KeyObject, peerPublic: Uint8Array, round: number, n: number): Uint32Array {
  const secret = diffieHellman({ privateKey, publicKey: publicKeyObject(peerPublic) });
  const key = createHash("sha256").update(secret).update(`wisp-secagg-round-${round}`).digest();
  const stream = createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(4 * n));
  return new Uint32Array(stream.buffer, stream.byteOffset, n);
}

// A share travels through the server encrypted to its recipient:
// AES-256-GCM keyed by a hash of the pair's X25519 secret and the round.
function shareCipherKey(privateKey: KeyObject, peerPublic: Uint8Array, round: number): Buffer {
  const secret = diffieHellman({ privateKey, publicKey: publicKeyObject(peerPublic) });
  return createHash("sha256").update(secret).update(`wisp-secagg-share-${round}`).digest();
}

export const SEALED_SHARE_BYTES = 12 + 33 + 16; // IV, share (x, 32 bytes of y), tag

export function sealShare(self: Party, peerPublic: Uint8Array, round: number, share: Share): Uint8Array {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", shareCipherKey(self.privateKey, peerPublic, round), iv);
  const body = Buffer.concat([cipher.update(Buffer.concat([Buffer.from([share.x]), share.y])), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

// The share `sender` sealed for `self`, or null when it does not open.
export function openShare(self: Party, senderPublic: Uint8Array, round: number, sealed: Uint8Array): Share | null {
  if (sealed.length !== SEALED_SHARE_BYTES) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", shareCipherKey(self.privateKey, senderPublic, round), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(45));
    const plain = Buffer.concat([decipher.update(sealed.subarray(12, 45)), decipher.final()]);
    return { x: plain[0], y: new Uint8Array(plain.subarray(1)) };
  } catch {
    return null;
  }
}

// The client's masked vector: values + sum of +mask (peer id above) or -mask (below), mod 2^32.
export function maskValues(self: Party, values: Int32Array, peers: { id: number; publicKey: Uint8Array }[], round: number): Uint32Array {
  const out = Uint32Array.from(values, (v) => v >>> 0);
  for (const peer of peers) {
    if (peer.id === self.id) continue;
    const mask = pairMask(self.privateKey, peer.publicKey, round, values.length);
    const sign = self.id < peer.id ? 1 : -1;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] + sign * mask[i]) >>> 0;
  }
  return out;
}

// Shares of a client's private key, one per peer (x = position + 1).
export function shareKey(party: Party, peers: number, threshold: number): Share[] {
  return splitSecret(rawPrivateKey(party), peers, threshold);
}

// The server's sum of the survivors' masked vectors, with the masks against
// dropped clients removed using their rebuilt keys. Exact: equals the plain
// sum of the survivors' values (as int32).
export function unmaskedSum(
  masked: Map<number, Uint32Array>, publicKeys: Map<number, Uint8Array>, droppedShares: Map<number, Share[]>, round: number, threshold: number,
): Int32Array {
  const n = masked.values().next().value?.length ?? 0;
  const sum = new Uint32Array(n);
  for (const vector of masked.values()) {
    if (vector.length !== n) fail("BAD_UPDATE", "masked vectors differ in length");
    for (let i = 0; i < n; i++) sum[i] = (sum[i] + vector[i]) >>> 0;
  }
  for (const [dropped, shares] of droppedShares) {
    if (masked.has(dropped)) fail("BAD_UPDATE", `client ${dropped} sent an update; its key is never rebuilt`);
    if (shares.length < threshold) fail("BAD_UPDATE", `only ${shares.length} shares of client ${dropped}'s key, ${threshold} needed`);
    const raw = combineShares(shares.slice(0, threshold));
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
    for (const survivor of masked.keys()) {
      // The survivor added sign(survivor, dropped) * mask; take it back out.
      const mask = pairMask(privateKey, publicKeys.get(survivor)!, round, n);
      const sign = survivor < dropped ? 1 : -1;
      for (let i = 0; i < n; i++) sum[i] = (sum[i] - sign * mask[i]) >>> 0;
    }
  }
  return new Int32Array(sum.buffer);
}

// The whole protocol for one round, played locally (simulations and tests):
// every client (id -> values) shares its key, the `dropped` ones never send,
// survivors hand in their shares of the dropped clients' keys, and the server
// unmasks the sum.
export function simulateSecureRound(values: Map<number, Int32Array>, dropped: Set<number>, round: number, threshold: number) {
  const parties = [...values.keys()].map((id) => newParty(id));
  const publicKeys = new Map(parties.map((p) => [p.id, p.publicKey]));
  const shares = new Map(parties.map((p) => [p.id, shareKey(p, parties.length, threshold)])); // share k goes to the k-th client
  const masked = new Map<number, Uint32Array>();
  for (const p of parties) if (!dropped.has(p.id)) masked.set(p.id, maskValues(p, values.get(p.id)!, parties, round));
  const position = new Map(parties.map((p, k) => [p.id, k]));
  const survivors = [...masked.keys()];
  const droppedShares = new Map([...dropped].map((d) => [d, survivors.map((s) => shares.get(d)![position.get(s)!])]));
  return { masked, survivors, sum: unmaskedSum(masked, publicKeys, droppedShares, round, threshold) };
}
