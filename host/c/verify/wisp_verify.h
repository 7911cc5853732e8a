/* Verify-before-load for Wisp devices: Ed25519 signature checks (RFC 8032,
 * pure Ed25519) with no dependencies and no heap, for the fleet's signed
 * runtime modules and .wisp models (`wisp sign`, docs/fleet.md). Not
 * constant time: it handles only public data (keys, signatures, files). */
#ifndef WISP_VERIFY_H
#define WISP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

/* SHA-512, streaming. */
typedef struct {
  uint64_t state[8];
  uint64_t bytes; /* hashed so far (messages under 2^61 bytes) */
  uint8_t block[128];
} wisp_sha512;

void wisp_sha512_init(wisp_sha512 *h);
void wisp_sha512_update(wisp_sha512 *h, const uint8_t *data, size_t len);
void wisp_sha512_final(wisp_sha512 *h, uint8_t out[64]);

/* 1 when `signature` is `public_key`'s Ed25519 signature of the message made
 * of `parts` (concatenated), else 0. Refuses non-canonical S and keys that
 * do not decode. */
typedef struct {
  const uint8_t *data;
  size_t len;
} wisp_bytes;

int wisp_ed25519_verify_parts(const uint8_t signature[64], const wisp_bytes *parts, size_t count, const uint8_t public_key[32]);
int wisp_ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t len, const uint8_t public_key[32]);

/* A detached `wisp sign` signature: u32 version (little-endian), then the
 * signature over "wisp-file-v1", the version and the file. */
#define WISP_FILE_SIGNATURE_BYTES 68

#define WISP_VERIFY_OK 0
#define WISP_VERIFY_BAD_SIGNATURE (-1) /* wrong size, bad signature, or another key */
#define WISP_VERIFY_REPLAY (-2)        /* signed, but not newer than what is installed */

/* WISP_VERIFY_OK (and *version) when `file` is signed by the fleet's key with
 * a version above `installed` (pass -1 when nothing is installed). */
int wisp_verify_file(const uint8_t *file, size_t len, const uint8_t *signature, size_t signature_len,
                     const uint8_t public_key[32], int64_t installed, uint32_t *version);

#endif
