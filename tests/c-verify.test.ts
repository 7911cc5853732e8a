// The C host's verify-before-load (host/c/verify/wisp_verify.c), built
// natively with cc and driven through host/c/verify/verify_check.c: SHA-512
// against node:crypto, Ed25519 against RFC 8032's vectors and against
// signatures node:crypto makes, and `wisp sign`'s detached signatures with
// versions. Skips when no C compiler is installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, KeyObject, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signFile } from "../host/fl/signing";
import { PACKAGE_ROOT } from "../host/node/package-root";
import { prng } from "./helpers";

const cc = ["cc", "gcc"].find((c) => !spawnSync(c, ["--version"]).error);
const random = prng(8032);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random(256)));
const rawPublic = (k: KeyObject) => k.export({ format: "der", type: "spki" }).subarray(12);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("the C verifier: SHA-512, Ed25519 (RFC 8032 and node:crypto's signatures) and signed files", { skip: cc ? false : "no C compiler" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "wisp-c-verify-"));
  try {
    const src = join(PACKAGE_ROOT, "host", "c", "verify");
    const exe = join(dir, "verify_check");
    const build = spawnSync(cc!, ["-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", join(src, "wisp_verify.c"), join(src, "verify_check.c"), "-o", exe], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    const cases: { line: string; want: string; what: string }[] = [];
    // SHA-512 around the block and padding boundaries.
    for (const n of [0, 1, 3, 111, 112, 113, 127, 128, 129, 239, 240, 256, 1000]) {
      const m = bytes(n);
      cases.push({ line: `sha512 ${hex(m)}`, want: createHash("sha512").update(m).digest("hex"), what: `sha512 of ${n} bytes` });
    }
    // RFC 8032 section 7.1, TEST 1 and TEST 2, and the second with its message changed.
    const t1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
    const t2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c 92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
    cases.push({ line: `ed25519 ${t1}`, want: "1", what: "RFC 8032 TEST 1" }, { line: `ed25519 ${t2} 72`, want: "1", what: "RFC 8032 TEST 2" }, { line: `ed25519 ${t2} 73`, want: "0", what: "TEST 2, another message" });
    // node:crypto's signatures of random messages, and each one broken.
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    for (let i = 0; i < 12; i++) {
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const other = rawPublic(generateKeyPairSync("ed25519").publicKey);
      const m = bytes(random(300)), sig = sign(null, m, privateKey), pub = rawPublic(publicKey);
      const flipped = Buffer.from(sig);
      flipped[random(64)] ^= 1 << random(8);
      const badMessage = Buffer.from(m.length ? m : [0]);
      badMessage[random(badMessage.length)] ^= 1;
      // S + L: the same point arithmetic, but not canonical: refused.
      const s = BigInt("0x" + hex(Buffer.from(sig.subarray(32)).reverse())) + L;
      const malleable = Buffer.concat([sig.subarray(0, 32), Buffer.from(s.toString(16).padStart(64, "0"), "hex").reverse()]);
      cases.push(
        { line: `ed25519 ${hex(pub)} ${hex(sig)} ${hex(m)}`, want: "1", what: `node signature ${i}` },
        { line: `ed25519 ${hex(pub)} ${hex(flipped)} ${hex(m)}`, want: "0", what: `flipped signature ${i}` },
        { line: `ed25519 ${hex(pub)} ${hex(sig)} ${hex(badMessage)}`, want: "0", what: `changed message ${i}` },
        { line: `ed25519 ${hex(other)} ${hex(sig)} ${hex(m)}`, want: "0", what: `another key ${i}` },
        { line: `ed25519 ${hex(pub)} ${hex(malleable)} ${hex(m)}`, want: "0", what: `S + L ${i}` },
      );
    }
    // A key whose y is not below p does not decode.
    cases.push({ line: `ed25519 ${"ff".repeat(31)}7f ${t1.split(" ")[1]}`, want: "0", what: "non-canonical key" });
    // `wisp sign` signatures: good, replayed, for another file, by another key, truncated.
    const fleet = generateKeyPairSync("ed25519"), stranger = generateKeyPairSync("ed25519");
    const file = bytes(5000), sig = signFile(file, 9, fleet.privateKey), pub = hex(rawPublic(fleet.publicKey));
    cases.push(
      { line: `file ${pub} ${hex(sig)} -1 ${hex(file)}`, want: "0 9", what: "signed file" },
      { line: `file ${pub} ${hex(sig)} 8 ${hex(file)}`, want: "0 9", what: "newer than installed" },
      { line: `file ${pub} ${hex(sig)} 9 ${hex(file)}`, want: "-2", what: "replayed version" },
      { line: `file ${pub} ${hex(sig)} -1 ${hex(file.subarray(1))}`, want: "-1", what: "another file" },
      { line: `file ${pub} ${hex(signFile(file, 9, stranger.privateKey))} -1 ${hex(file)}`, want: "-1", what: "another key" },
      { line: `file ${pub} ${hex(sig.subarray(0, 67))} -1 ${hex(file)}`, want: "-1", what: "truncated signature" },
    );
    const run = spawnSync(exe, { input: cases.map((c) => c.line).join("\n") + "\n", encoding: "utf8", maxBuffer: 1 << 24 });
    assert.equal(run.status, 0, run.stderr);
    const got = run.stdout.trim().split("\n");
    assert.equal(got.length, cases.length);
    cases.forEach((c, i) => assert.equal(got[i], c.want, c.what));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
