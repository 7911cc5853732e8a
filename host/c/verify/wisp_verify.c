/* Ed25519 verification and SHA-512 (RFC 8032, FIPS 180-4), written for
 * Wisp. Field elements mod p = 2^255 - 19 are 16 signed 64-bit limbs of 16
 * bits; points are in extended coordinates on -x^2 + y^2 = 1 + d x^2 y^2.
 * The curve constants (d, sqrt(-1), the base point) are computed at first
 * use from their definitions instead of being written out. */
#include "wisp_verify.h"

#include <string.h>

/* ---- SHA-512 ---- */

/* The first 64 bits of the fractional parts of the square roots of the
 * first 8 primes, and of the cube roots of the first 80 (computed exactly
 * with integer roots). */
static const uint64_t sha512_initial[8] = {
  0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
  0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

static const uint64_t sha512_rounds[80] = {
  0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
  0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
  0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
  0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
  0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
  0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
  0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
  0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
  0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
  0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
  0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
  0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
  0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
  0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
  0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
  0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
  0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
  0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
  0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
  0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};

static uint64_t rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static uint64_t load64be(const uint8_t *p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x = (x << 8) | p[i];
  return x;
}

static void sha512_block(uint64_t s[8], const uint8_t *p) {
  uint64_t w[80];
  for (int i = 0; i < 16; i++) w[i] = load64be(p + 8 * i);
  for (int i = 16; i < 80; i++) {
    uint64_t s0 = rotr(w[i - 15], 1) ^ rotr(w[i - 15], 8) ^ (w[i - 15] >> 7);
    uint64_t s1 = rotr(w[i - 2], 19) ^ rotr(w[i - 2], 61) ^ (w[i - 2] >> 6);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint64_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int i = 0; i < 80; i++) {
    uint64_t t1 = h + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) + sha512_rounds[i] + w[i];
    uint64_t t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

void wisp_sha512_init(wisp_sha512 *h) {
  memcpy(h->state, sha512_initial, sizeof h->state);
  h->bytes = 0;
}

void wisp_sha512_update(wisp_sha512 *h, const uint8_t *data, size_t len) {
  while (len > 0) {
    size_t used = (size_t)(h->bytes % 128), take = 128 - used < len ? 128 - used : len;
    memcpy(h->block + used, data, take);
    h->bytes += take;
    data += take;
    len -= take;
    if (h->bytes % 128 == 0) sha512_block(h->state, h->block);
  }
}

void wisp_sha512_final(wisp_sha512 *h, uint8_t out[64]) {
  uint64_t bits = h->bytes * 8;
  uint8_t pad[128 + 16] = {0x80};
  size_t used = (size_t)(h->bytes % 128), padding = (used < 112 ? 112 : 240) - used;
  for (int i = 0; i < 8; i++) pad[padding + 8 + i] = (uint8_t)(bits >> (56 - 8 * i)); /* a 128-bit length, high half 0 */
  wisp_sha512_update(h, pad, padding + 16);
  for (int i = 0; i < 64; i++) out[i] = (uint8_t)(h->state[i / 8] >> (56 - 8 * (i % 8)));
}

/* ---- the field mod p = 2^255 - 19 ---- */

typedef int64_t fe[16];

static void fe_copy(fe o, const fe a) { memcpy(o, a, sizeof(fe)); }
static void fe_set(fe o, int64_t v) { memset(o, 0, sizeof(fe)); o[0] = v; }

/* Carries every limb into [0, 2^16); bit 256 wraps to bit 0 times 38 (2^256 = 38 mod p). */
static void fe_carry(fe o) {
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 16; i++) {
      int64_t c = o[i] >> 16; /* floor division by 2^16 */
      o[i] -= c * 65536;
      if (i < 15) o[i + 1] += c; else o[0] += 38 * c;
    }
  }
}

static void fe_add(fe o, const fe a, const fe b) { for (int i = 0; i < 16; i++) o[i] = a[i] + b[i]; }
static void fe_sub(fe o, const fe a, const fe b) { for (int i = 0; i < 16; i++) o[i] = a[i] - b[i]; }

static void fe_mul(fe o, const fe a, const fe b) {
  int64_t t[31] = {0};
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) t[i + j] += a[i] * b[j];
  for (int i = 0; i < 15; i++) t[i] += 38 * t[i + 16];
  for (int i = 0; i < 16; i++) o[i] = t[i];
  fe_carry(o);
}

static void fe_square(fe o, const fe a) { fe_mul(o, a, a); }

/* The canonical 32-byte little-endian encoding. */
static void fe_pack(uint8_t out[32], const fe a) {
  fe t, m;
  fe_copy(t, a);
  fe_carry(t);
  fe_carry(t);
  for (int k = 0; k < 2; k++) { /* t < 2p: subtract p while it fits */
    m[0] = t[0] - 0xffed;
    for (int i = 1; i < 15; i++) {
      m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
      m[i - 1] &= 0xffff;
    }
    m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
    m[14] &= 0xffff;
    if (!((m[15] >> 16) & 1)) fe_copy(t, m);
  }
  for (int i = 0; i < 16; i++) {
    out[2 * i] = (uint8_t)(t[i] & 0xff);
    out[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
  }
}

static void fe_unpack(fe o, const uint8_t in[32]) {
  for (int i = 0; i < 16; i++) o[i] = in[2 * i] | ((int64_t)in[2 * i + 1] << 8);
  o[15] &= 0x7fff;
}

static int fe_equal(const fe a, const fe b) {
  uint8_t x[32], y[32];
  fe_pack(x, a);
  fe_pack(y, b);
  return memcmp(x, y, 32) == 0;
}

static int fe_parity(const fe a) {
  uint8_t x[32];
  fe_pack(x, a);
  return x[0] & 1;
}

/* a^e for an exponent given as "all of bits 0..top set, except those in `clear`". */
static void fe_pow_ones(fe o, const fe a, int top, const int *clear, int nclear) {
  fe c;
  fe_copy(c, a);
  for (int i = top - 1; i >= 0; i--) {
    fe_square(c, c);
    int skip = 0;
    for (int k = 0; k < nclear; k++) skip |= clear[k] == i;
    if (!skip) fe_mul(c, c, a);
  }
  fe_copy(o, c);
}

/* 1/a = a^(p-2), p - 2 = 2^255 - 21: bits 0..254 but 2 and 4. */
static void fe_invert(fe o, const fe a) {
  static const int clear[] = {2, 4};
  fe_pow_ones(o, a, 254, clear, 2);
}

/* a^((p-5)/8), (p-5)/8 = 2^252 - 3: bits 0..251 but 1. */
static void fe_pow2523(fe o, const fe a) {
  static const int clear[] = {1};
  fe_pow_ones(o, a, 251, clear, 1);
}

/* ---- the curve ---- */

typedef struct {
  fe x, y, z, t;
} point;

static fe curve_d, curve_2d, sqrt_m1;
static point base;
static int constants_ready;

static void point_add(point *o, const point *p, const point *q) {
  fe a, b, c, d, e, f, g, h, t;
  fe_sub(a, p->y, p->x);
  fe_sub(t, q->y, q->x);
  fe_mul(a, a, t);
  fe_add(b, p->y, p->x);
  fe_add(t, q->y, q->x);
  fe_mul(b, b, t);
  fe_mul(c, p->t, q->t);
  fe_mul(c, c, curve_2d);
  fe_mul(d, p->z, q->z);
  fe_add(d, d, d);
  fe_sub(e, b, a);
  fe_sub(f, d, c);
  fe_add(g, d, c);
  fe_add(h, b, a);
  fe_mul(o->x, e, f);
  fe_mul(o->y, g, h);
  fe_mul(o->t, e, h);
  fe_mul(o->z, f, g);
}

static void point_identity(point *o) {
  fe_set(o->x, 0);
  fe_set(o->y, 1);
  fe_set(o->z, 1);
  fe_set(o->t, 0);
}

/* [s]p for a 256-bit little-endian scalar. */
static void point_mul(point *o, const point *p, const uint8_t s[32]) {
  point q;
  point_identity(&q);
  for (int i = 255; i >= 0; i--) {
    point_add(&q, &q, &q);
    if ((s[i / 8] >> (i % 8)) & 1) point_add(&q, &q, p);
  }
  *o = q;
}

static void point_pack(uint8_t out[32], const point *p) {
  fe zi, x, y;
  fe_invert(zi, p->z);
  fe_mul(x, p->x, zi);
  fe_mul(y, p->y, zi);
  fe_pack(out, y);
  out[31] ^= (uint8_t)(fe_parity(x) << 7);
}

/* RFC 8032 5.1.3: x from y and its sign; 0 when no point has this y. */
static int point_from_y(point *o, const fe y, int sign) {
  fe u, v, v3, x, vx2, t, one;
  fe_set(one, 1);
  fe_square(u, y);
  fe_mul(v, u, curve_d);
  fe_sub(u, u, one); /* u = y^2 - 1 */
  fe_add(v, v, one); /* v = d y^2 + 1 */
  fe_square(v3, v);
  fe_mul(v3, v3, v); /* v^3 */
  fe_square(x, v3);
  fe_mul(x, x, v);
  fe_mul(x, x, u); /* u v^7 */
  fe_pow2523(x, x);
  fe_mul(x, x, v3);
  fe_mul(x, x, u); /* u v^3 (u v^7)^((p-5)/8) */
  fe_square(vx2, x);
  fe_mul(vx2, vx2, v);
  if (!fe_equal(vx2, u)) {
    fe zero;
    fe_set(zero, 0);
    fe_sub(t, zero, u);
    if (!fe_equal(vx2, t)) return 0;
    fe_mul(x, x, sqrt_m1);
  }
  fe zero;
  fe_set(zero, 0);
  if (fe_equal(x, zero) && sign) return 0;
  if (fe_parity(x) != sign) fe_sub(x, zero, x);
  fe_copy(o->x, x);
  fe_copy(o->y, y);
  fe_set(o->z, 1);
  fe_mul(o->t, x, y);
  return 1;
}

static void constants(void) {
  if (constants_ready) return;
  fe a, b;
  fe_set(a, -121665);
  fe_set(b, 121666);
  fe_invert(b, b);
  fe_mul(curve_d, a, b); /* d = -121665 / 121666 */
  fe_add(curve_2d, curve_d, curve_d);
  static const int clear[] = {2}; /* sqrt(-1) = 2^((p-1)/4), (p-1)/4 = 2^253 - 5: bits 0..252 but 2 */
  fe_set(a, 2);
  fe_pow_ones(sqrt_m1, a, 252, clear, 1);
  fe_set(a, 4);
  fe_set(b, 5);
  fe_invert(b, b);
  fe_mul(a, a, b); /* the base point: y = 4/5, x even */
  point_from_y(&base, a, 0);
  constants_ready = 1;
}

/* ---- scalars mod L = 2^252 + 27742317777372353535851937790883648493 ---- */

static const uint8_t group_order[32] = {
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

/* a >= b, both little-endian of n bytes. */
static int at_least(const uint8_t *a, const uint8_t *b, int n) {
  for (int i = n - 1; i >= 0; i--)
    if (a[i] != b[i]) return a[i] > b[i];
  return 1;
}

/* A 64-byte little-endian number mod L, bit by bit (speed does not matter here). */
static void reduce_mod_order(uint8_t out[32], const uint8_t in[64]) {
  uint8_t r[33] = {0}, l[33] = {0};
  memcpy(l, group_order, 32);
  for (int bit = 511; bit >= 0; bit--) {
    int carry = (in[bit / 8] >> (bit % 8)) & 1;
    for (int i = 0; i < 33; i++) {
      int next = r[i] >> 7;
      r[i] = (uint8_t)((r[i] << 1) | carry);
      carry = next;
    }
    if (at_least(r, l, 33)) {
      int borrow = 0;
      for (int i = 0; i < 33; i++) {
        int d = r[i] - l[i] - borrow;
        borrow = d < 0;
        r[i] = (uint8_t)(d & 0xff);
      }
    }
  }
  memcpy(out, r, 32);
}

/* ---- verification ---- */

int wisp_ed25519_verify_parts(const uint8_t signature[64], const wisp_bytes *parts, size_t count, const uint8_t public_key[32]) {
  constants();
  if (at_least(signature + 32, group_order, 32)) return 0; /* S must be below L */
  fe y;
  uint8_t canonical[32];
  fe_unpack(y, public_key);
  fe_pack(canonical, y);
  canonical[31] |= public_key[31] & 0x80;
  if (memcmp(canonical, public_key, 32) != 0) return 0; /* y >= p */
  point a;
  if (!point_from_y(&a, y, public_key[31] >> 7)) return 0;
  /* k = SHA-512(R || A || M) mod L */
  wisp_sha512 h;
  uint8_t digest[64], k[32];
  wisp_sha512_init(&h);
  wisp_sha512_update(&h, signature, 32);
  wisp_sha512_update(&h, public_key, 32);
  for (size_t i = 0; i < count; i++) wisp_sha512_update(&h, parts[i].data, parts[i].len);
  wisp_sha512_final(&h, digest);
  reduce_mod_order(k, digest);
  /* [S]B - [k]A must encode as R. */
  point sb, ka;
  point_mul(&sb, &base, signature + 32);
  fe zero;
  fe_set(zero, 0);
  fe_sub(a.x, zero, a.x);
  fe_sub(a.t, zero, a.t);
  point_mul(&ka, &a, k);
  point_add(&sb, &sb, &ka);
  uint8_t r[32];
  point_pack(r, &sb);
  return memcmp(r, signature, 32) == 0;
}

int wisp_ed25519_verify(const uint8_t signature[64], const uint8_t *message, size_t len, const uint8_t public_key[32]) {
  wisp_bytes part = {message, len};
  return wisp_ed25519_verify_parts(signature, &part, 1, public_key);
}

int wisp_verify_file(const uint8_t *file, size_t len, const uint8_t *signature, size_t signature_len,
                     const uint8_t public_key[32], int64_t installed, uint32_t *version) {
  if (signature_len != WISP_FILE_SIGNATURE_BYTES) return WISP_VERIFY_BAD_SIGNATURE;
  static const uint8_t context[] = "wisp-file-v1";
  wisp_bytes parts[3] = {{context, sizeof context - 1}, {signature, 4}, {file, len}};
  if (!wisp_ed25519_verify_parts(signature + 4, parts, 3, public_key)) return WISP_VERIFY_BAD_SIGNATURE;
  uint32_t v = signature[0] | (uint32_t)signature[1] << 8 | (uint32_t)signature[2] << 16 | (uint32_t)signature[3] << 24;
  if ((int64_t)v <= installed) return WISP_VERIFY_REPLAY;
  if (version) *version = v;
  return WISP_VERIFY_OK;
}
