// Shamir secret sharing over GF(2^8), byte by byte: any `threshold` of the
// shares rebuild the secret, fewer reveal nothing about it.
import { randomBytes } from "node:crypto";
import { fail } from "../errors";

// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, by log tables.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x ^= (x << 1) ^ (x & 0x80 ? 0x11b : 0); // multiply by the generator 3
    x &= 0xff;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}
const mul = (a: number, b: number) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);
const div = (a: number, b: number) => (a ? EXP[LOG[a] + 255 - LOG[b]] : 0);

export interface Share {
  x: number; // 1..255
  y: Uint8Array;
}

export function splitSecret(secret: Uint8Array, shares: number, threshold: number): Share[] {
  if (threshold < 1 || threshold > shares || shares > 255) fail("BAD_CONFIG", `cannot split into ${shares} shares with threshold ${threshold}`);
  const coefficients = Array.from({ length: threshold - 1 }, () => randomBytes(secret.length));
  return Array.from({ length: shares }, (_, s) => {
    const x = s + 1;
    const y = Uint8Array.from(secret, (byte, b) => {
      // Horner: secret + c1 x + c2 x^2 + ...
      let acc = 0;
      for (let c = coefficients.length - 1; c >= 0; c--) acc = mul(acc, x) ^ coefficients[c][b];
      return mul(acc, x) ^ byte;
    });
    return { x, y };
  });
}

// Lagrange interpolation at 0.
export function combineShares(shares: Share[]): Uint8Array {
  if (shares.length === 0 || new Set(shares.map((s) => s.x)).size !== shares.length) fail("BAD_UPDATE", "shares must be distinct and non-empty");
  const secret = new Uint8Array(shares[0].y.length);
  for (const share of shares) {
    let weight = 1;
    for (const other of shares) if (other !== share) weight = mul(weight, div(other.x, other.x ^ share.x));
    for (let b = 0; b < secret.length; b++) secret[b] ^= mul(share.y[b], weight);
  }
  return secret;
}
