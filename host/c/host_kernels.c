/*
 * Wisp's host kernels (host_kernels.h, docs/host-kernels.md). Byte-exact
 * with the module's own loops (assembly/kernels/conv.ts, dense.ts,
 * depthwise.ts, add.ts) and TFLM's reference kernels: int32 sums that wrap as
 * WebAssembly's i32 does, then TFLM's MultiplyByQuantizedMultiplier.
 */
#include "host_kernels.h"

#include <string.h>

#if WISP_HOST_KERNELS && defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define WISP_HOST_DSP 1
#else
#define WISP_HOST_DSP 0
#endif

#define RECORD_BYTES 12u /* bias, multiplier, shift: int32 each (assembly/format.ts) */

static uint32_t offered = WISP_HOST_ALL;

uint32_t wisp_host_kernels(void) { return WISP_HOST_KERNELS ? offered & WISP_HOST_ALL : 0; }

void wisp_host_kernels_use(uint32_t mask) { offered = mask; }

#if WISP_HOST_KERNELS
/* ---- ranges: each region checked once, in 64 bits so nothing wraps ---- */

/* Bytes from a region's start to one past its last byte: `last` bytes at
 * the end of `n` steps of `step`; 0 when a count is 0 (nothing is read). */
static uint64_t reach(uint64_t last, uint32_t n, uint32_t step) { return last && n ? last + (uint64_t)(n - 1) * step : 0; }

static int inside(uint32_t memory_bytes, uint32_t start, uint64_t bytes) { return bytes == 0 || (uint64_t)start + bytes <= memory_bytes; }

/* ---- requantization, TFLM's arithmetic; shifts taken mod 32 as wasm does ---- */

typedef struct {
  int32_t bias, multiplier, left, right, mask, half;
} channel_t;

static channel_t channel(const uint8_t *record) {
  int32_t v[3];
  channel_t c;
  memcpy(v, record, sizeof v);
  c.bias = v[0];
  c.multiplier = v[1];
  c.left = v[2] > 0 ? v[2] & 31 : 0;
  c.right = v[2] > 0 ? 0 : (int32_t)((uint32_t)-v[2] & 31);
  c.mask = (int32_t)((1u << c.right) - 1u);
  c.half = c.mask >> 1;
  return c;
}

/* MBQM(acc, multiplier, shift) in one rounding step where the shift is to
 * the right (right = -shift mod 32 >= 1, no left shift): with P = acc * m,
 * TFLM's two roundings, v = floor((P + 2^30) / 2^31) and then
 * floor((v + 2^(right-1) - [v < 0]) / 2^right), are together
 * floor((P + 2^30 * (2^right + 1 - 2 [v < 0])) / 2^(31 + right)), since a
 * floor of a floor over a power of two is one floor. [acc < 0] may stand for
 * [v < 0]: they differ only when -2^30 <= P < 0, where both give 0. So one
 * multiply-accumulate into the constant and a shift of its high word (SMLAL,
 * ASR on Arm) replace the 64-bit rounding, the mask and the compare. */
static inline int32_t scale(int32_t acc, int32_t m, int32_t shift) {
  const uint32_t right = shift > 0 ? 0 : (uint32_t)-shift & 31;
  if (right == 0) {
    const int32_t x = (int32_t)((uint32_t)acc << (shift > 0 ? shift & 31 : 0));
    return (int32_t)(((int64_t)x * m + (1ll << 30)) >> 31);
  }
  const uint32_t k = (1u << right) + 1u - ((uint32_t)acc >> 31 << 1);
  return (int32_t)(((int64_t)acc * m + (int64_t)((uint64_t)k << 30)) >> 32) >> (right - 1);
}

/* acc already holds the bias. */
static inline int8_t requantize(int32_t acc, const channel_t *c, int32_t out_zp, int32_t lo, int32_t hi) {
#if WISP_HOST_DSP
  const int32_t r = scale(acc, c->multiplier, c->right ? -c->right : c->left) + out_zp;
#else
  int32_t x = (int32_t)((uint32_t)acc << c->left);
  int32_t v = (int32_t)(((int64_t)x * c->multiplier + (1ll << 30)) >> 31);
  int32_t r = (v >> c->right) + ((v & c->mask) > c->half + (v < 0) ? 1 : 0) + out_zp;
#endif
  return (int8_t)(r < lo ? lo : r > hi ? hi : r);
}

/* The same straight from a channel record (no channel_t to keep about: GCC
 * spills arrays of them around the hot loops). */
static inline int32_t record_word(const uint8_t *record, int i) {
  int32_t v;
  memcpy(&v, record + 4 * i, 4);
  return v;
}

static inline int8_t requantize_at(int32_t acc, const uint8_t *record, int32_t out_zp, int32_t lo, int32_t hi) {
#if WISP_HOST_DSP
  /* scale() where right = -shift is 2..31 (t = right - 2), from the shift as
   * it stands: its constant k << 30 is, in 64 bits, hi = 2^t - [acc < 0] and
   * lo = 2^30 + 2^31 [acc < 0]. SMLAL by hand: GCC would multiply in 64 bits. */
  const int32_t m = record_word(record, 1), shift = record_word(record, 2);
  const uint32_t t = ~(uint32_t)shift - 1u;
  int32_t r;
  if (t <= 29u) {
    uint32_t low = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
    int32_t high = (int32_t)(1u << t) + (acc >> 31);
    __asm__("smlal %0, %1, %2, %3" : "+r"(low), "+r"(high) : "r"(acc), "r"(m));
    r = (high >> (t + 1)) + out_zp;
  } else {
    r = scale(acc, m, shift) + out_zp;
  }
#else
  const int32_t shift = record_word(record, 2);
  const int32_t left = shift > 0 ? shift & 31 : 0, right = shift > 0 ? 0 : (int32_t)((uint32_t)-shift & 31);
  const int32_t x = (int32_t)((uint32_t)acc << left);
  const int32_t v = (int32_t)(((int64_t)x * record_word(record, 1) + (1ll << 30)) >> 31);
  const int32_t mask = (int32_t)((1u << right) - 1u);
  const int32_t r = (v >> right) + ((v & mask) > (mask >> 1) + (v < 0) ? 1 : 0) + out_zp;
#endif
  return (int8_t)(r < lo ? lo : r > hi ? hi : r);
}

/* Four bytes at any address (Armv7-M and later load them unaligned in one LDR). */
typedef uint32_t __attribute__((aligned(1), may_alias)) unaligned_word;
static inline uint32_t word(const int8_t *p) { return *(const unaligned_word *)p; }

#if WISP_HOST_DSP
/* The hand-written kernels' parameters, read by their assembly. */
#define UNUSED __attribute__((unused))

/* requantize_at over n outputs of consecutive channels (sums at acc,
 * records from rec, bytes to o) clamped to all of int8, by hand (17
 * instructions an output, GCC's 24), up to the first whose shift is not a
 * right shift of 2..31: returns how many it wrote. r4 sum, r5 multiplier,
 * r6 right - 1, r7 right - 2, r8:r9 the SMLAL, r12 out_zp, lr 1. */
static __attribute__((naked, noinline)) uint32_t requantize_run(UNUSED const int32_t *acc, UNUSED const uint8_t *rec, UNUSED int8_t *o, UNUSED uint32_t n, UNUSED int32_t out_zp) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr r12, [sp, #36]\n\t"
      "mov r11, r0\n\t"
      "add r3, r0, r3, lsl #2\n\t" /* the end of the sums */
      "add r1, #4\n\t"
      "mov lr, #1\n\t"
      "cmp r0, r3\n\t"
      "beq 9f\n"
      "1:\n\t"
      "ldr r4, [r0], #4\n\t"
      "ldrd r5, r6, [r1], #12\n\t"
      "mvn r6, r6\n\t"
      "sub r7, r6, #1\n\t"
      "cmp r7, #29\n\t"
      "bhi 8f\n\t"
      "lsl r8, lr, r7\n\t"
      "add r8, r8, r4, asr #31\n\t"
      "and r9, r4, #0x80000000\n\t"
      "orr r9, r9, #0x40000000\n\t"
      "smlal r9, r8, r4, r5\n\t"
      "asr r8, r8, r6\n\t"
      "add r8, r12\n\t"
      "ssat r8, #8, r8\n\t"
      "strb r8, [r2], #1\n\t"
      "cmp r0, r3\n\t"
      "bne 1b\n\t"
      "b 9f\n"
      "8:\n\t"
      "sub r0, #4\n"
      "9:\n\t"
      "sub r0, r0, r11\n\t"
      "lsr r0, r0, #2\n\t"
      "pop {r4-r11, pc}\n");
}

/* requantize_at over n outputs of consecutive channels (requantize_run's
 * LDRD takes records at word-aligned addresses only). */
static void requantize_channels(const int32_t *acc, const uint8_t *rec, int8_t *o, uint32_t n, int32_t out_zp, int32_t act_min, int32_t act_max) {
  const int by_hand = act_min == -128 && act_max == 127 && ((uintptr_t)rec & 3) == 0;
  uint32_t j = 0;
  while (j < n) {
    if (by_hand) j += requantize_run(acc + j, rec + j * RECORD_BYTES, o + j, n - j, out_zp);
    if (j < n) o[j] = requantize_at(acc[j], rec + j * RECORD_BYTES, out_zp, act_min, act_max), j++;
  }
}
#endif

/* ---- wisp_dot_s8 ---- */

static int32_t dot_1x1(const int8_t *x, const int8_t *w, uint32_t n, int32_t zp, int32_t acc) {
  for (uint32_t i = 0; i < n; i++) acc += (x[i] + zp) * w[i];
  return acc;
}

#if WISP_HOST_DSP
/* Four int8 lanes as two int16 pairs (lanes 0,2 and 1,3), plus `zp` in each half. */
/* GCC folds neither the rotation into SXTB16 nor the pair into PKHBT. */
static inline int16x2_t lanes_13(uint32_t v) {
  int16x2_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
/* Two int16 values as one pair, a in the low half. */
static inline int16x2_t pair(int32_t a, int32_t b) {
  int16x2_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#define LANES_02(v) __sxtb16(v)
#define LANES_13(v) lanes_13(v)
#define PAIR(a, b) pair((a), (b))

/* Two pixels (x0, x1) times two channels (w0, w1) over one run. */
static inline void dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, uint32_t n, int16x2_t zp, int32_t acc[4]) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t u = word(x0 + i), v = word(x1 + i);
    int16x2_t u02 = __sadd16(LANES_02(u), zp), u13 = __sadd16(LANES_13(u), zp);
    int16x2_t v02 = __sadd16(LANES_02(v), zp), v13 = __sadd16(LANES_13(v), zp);
    uint32_t f = word(w0 + i);
    int16x2_t f02 = LANES_02(f), f13 = LANES_13(f);
    a00 = __smlad(u02, f02, a00);
    a00 = __smlad(u13, f13, a00);
    a10 = __smlad(v02, f02, a10);
    a10 = __smlad(v13, f13, a10);
    f = word(w1 + i);
    f02 = LANES_02(f);
    f13 = LANES_13(f);
    a01 = __smlad(u02, f02, a01);
    a01 = __smlad(u13, f13, a01);
    a11 = __smlad(v02, f02, a11);
    a11 = __smlad(v13, f13, a11);
  }
  for (; i < n; i++) {
    int32_t u = x0[i] + (int16_t)zp, v = x1[i] + (int16_t)zp;
    a00 += u * w0[i];
    a01 += u * w1[i];
    a10 += v * w0[i];
    a11 += v * w1[i];
  }
  acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

/* One pixel times two channels over one run. */
static inline void dot_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t n, int16x2_t zp, int32_t acc[2]) {
  int32_t a0 = acc[0], a1 = acc[1];
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t u = word(x + i);
    int16x2_t u02 = __sadd16(LANES_02(u), zp), u13 = __sadd16(LANES_13(u), zp);
    uint32_t f = word(w0 + i), g = word(w1 + i);
    a0 = __smlad(u02, LANES_02(f), a0);
    a0 = __smlad(u13, LANES_13(f), a0);
    a1 = __smlad(u02, LANES_02(g), a1);
    a1 = __smlad(u13, LANES_13(g), a1);
  }
  for (; i < n; i++) {
    int32_t u = x[i] + (int16_t)zp;
    a0 += u * w0[i];
    a1 += u * w1[i];
  }
  acc[0] = a0, acc[1] = a1;
}

/* A pixel's input rows minus the zero point as int16 pairs in the order
 * LANES_02 / LANES_13 split the weights, converted once per pixel and call
 * rather than once per channel, each pair `step` words after the last (4:
 * two pixels interleaved). Rows of up to Q15_BYTES bytes in all. */
#define Q15_BYTES 640u
static void to_q15(const int8_t *x, uint32_t rows, uint32_t row_step, uint32_t n, int16x2_t zp, int32_t *q, uint32_t step) {
  /* A run that ends inside a word: its lanes past the run are 0, so the
   * weight bytes read beside them add nothing. */
  static const uint32_t keep02[4] = {~0u, 0xffffu, 0xffffu, ~0u}, keep13[4] = {~0u, 0, 0xffffu, 0xffffu};
  const uint32_t k02 = keep02[n % 4], k13 = keep13[n % 4];
  for (uint32_t r = 0; r < rows; r++, x += row_step) {
    for (uint32_t i = 0; i < n; i += 4) {
      uint32_t u = word(x + i);
      q[0] = __sadd16(LANES_02(u), zp);
      q[1] = __sadd16(LANES_13(u), zp);
      q += step;
    }
    if (n % 4) q[-step] &= k02, q[1 - step] &= k13;
  }
}

/* Two converted pixels (interleaved at p) times two channels (w0, w0 + fs)
 * over `words` 4-byte groups, acc = {p0 c0, p0 c1, p1 c0, p1 c1}. By hand:
 * one LDM takes a group's four pairs and every register is in use, where
 * GCC's loop spills and loads each pair alone (21 instructions a group, 16
 * here, two groups a turn). */
static __attribute__((naked, noinline)) void dot_2x2_q15_words(UNUSED int32_t acc[4], UNUSED const int32_t *p, UNUSED const int32_t *end, UNUSED const int8_t *w0, UNUSED uint32_t fs) {
  __asm__ volatile(
      ".macro wisp_dot_group\n\t"
      "ldm r1!, {r8-r11}\n\t" /* u02 u13 v02 v13 */
      "ldr r0, [r3, r12]\n\t" /* channel 1 */
      "sxtb16 lr, r0\n\t"
      "smlad r5, r8, lr, r5\n\t"
      "smlad r7, r10, lr, r7\n\t"
      "sxtb16 r0, r0, ror #8\n\t"
      "smlad r5, r9, r0, r5\n\t"
      "smlad r7, r11, r0, r7\n\t"
      "ldr r0, [r3], #4\n\t" /* channel 0 */
      "sxtb16 lr, r0\n\t"
      "smlad r4, r8, lr, r4\n\t"
      "smlad r6, r10, lr, r6\n\t"
      "sxtb16 r0, r0, ror #8\n\t"
      "smlad r4, r9, r0, r4\n\t"
      "smlad r6, r11, r0, r6\n\t"
      ".endm\n\t"
      "push {r0, r4-r11, lr}\n\t"
      "ldr r12, [sp, #40]\n\t" /* fs */
      "ldm r0, {r4-r7}\n\t"
      "cmp r1, r2\n\t"
      "beq 2f\n\t"
      "sub r0, r2, r1\n\t" /* an odd number of groups: start at the second */
      "tst r0, #16\n\t"
      "bne 3f\n"
      "1:\n\t"
      "wisp_dot_group\n"
      "3:\n\t"
      "wisp_dot_group\n\t"
      "cmp r1, r2\n\t"
      "bne 1b\n"
      "2:\n\t"
      "pop {r0}\n\t"
      "stm r0, {r4-r7}\n\t"
      "pop {r4-r11, pc}\n\t"
      ".purgem wisp_dot_group\n");
}

static inline void dot_2x2_q15(const int32_t *p, const int8_t *w0, uint32_t fs, uint32_t words, int32_t acc[4]) { dot_2x2_q15_words(acc, p, p + 4 * words, w0, fs); }

static inline void dot_1x2_q15(const int32_t *p, const int8_t *w0, const int8_t *w1, uint32_t words, int32_t acc[2]) {
  int32_t a0 = acc[0], a1 = acc[1];
  while (words--) {
    const int16x2_t u02 = p[0], u13 = p[1];
    uint32_t f = word(w0), g = word(w1);
    a0 = __smlad(u02, LANES_02(f), a0);
    a0 = __smlad(u13, LANES_13(f), a0);
    a1 = __smlad(u02, LANES_02(g), a1);
    a1 = __smlad(u13, LANES_13(g), a1);
    p += 2, w0 += 4, w1 += 4;
  }
  acc[0] = a0, acc[1] = a1;
}

/* One converted pixel times four channels (w0 + j * fs): a single row
 * (a dense layer) has no second pixel to share the weight loads with, so
 * each input pair serves four channels instead. By hand as the 2x2 (21
 * instructions a group, GCC's 29). r10: w0 + 2 fs. */
static __attribute__((naked, noinline)) void dot_1x4_q15_words(UNUSED int32_t acc[4], UNUSED const int32_t *p, UNUSED const int32_t *end, UNUSED const int8_t *w0, UNUSED uint32_t fs) {
  __asm__ volatile(
      ".macro wisp_dot_channel acc, at\n\t"
      "ldr r0, \\at\n\t"
      "sxtb16 lr, r0\n\t"
      "smlad \\acc, r8, lr, \\acc\n\t"
      "sxtb16 r0, r0, ror #8\n\t"
      "smlad \\acc, r9, r0, \\acc\n\t"
      ".endm\n\t"
      ".macro wisp_dot_group4\n\t"
      "ldrd r8, r9, [r1], #8\n\t" /* u02 u13 */
      "wisp_dot_channel r5, \"[r3, r12]\"\n\t"
      "wisp_dot_channel r7, \"[r10, r12]\"\n\t"
      "wisp_dot_channel r6, \"[r10], #4\"\n\t"
      "wisp_dot_channel r4, \"[r3], #4\"\n\t"
      ".endm\n\t"
      "push {r0, r4-r11, lr}\n\t"
      "ldr r12, [sp, #40]\n\t" /* fs */
      "add r10, r3, r12, lsl #1\n\t"
      "ldm r0, {r4-r7}\n\t"
      "cmp r1, r2\n\t"
      "beq 2f\n\t"
      "sub r0, r2, r1\n\t" /* an odd number of groups: start at the second */
      "tst r0, #8\n\t"
      "bne 3f\n"
      "1:\n\t"
      "wisp_dot_group4\n"
      "3:\n\t"
      "wisp_dot_group4\n\t"
      "cmp r1, r2\n\t"
      "bne 1b\n"
      "2:\n\t"
      "pop {r0}\n\t"
      "stm r0, {r4-r7}\n\t"
      "pop {r4-r11, pc}\n\t"
      ".purgem wisp_dot_group4\n\t"
      ".purgem wisp_dot_channel\n");
}

static inline void dot_1x4_q15(const int32_t *p, const int8_t *w0, uint32_t fs, uint32_t words, int32_t acc[4]) { dot_1x4_q15_words(acc, p, p + 2 * words, w0, fs); }

/* wisp_dot_s8 when every run is whole words and a pixel's rows fit Q15_BYTES. */
#define PAIR_CHANNELS 64u
static inline __attribute__((always_inline)) void dot_q15(const struct wisp_dot_args *a, const int8_t *input, const int8_t *filter, int8_t *out, const uint8_t *records, int16x2_t zp, int full) {
  /* Locals, as int8 stores may alias *a; with `full` the constants of all of
   * int8, as every model has them, so each clamp is one SSAT. */
  const int32_t out_zp = a->out_zp, act_min = full ? -128 : a->act_min, act_max = full ? 127 : a->act_max;
  int32_t p[Q15_BYTES]; /* one pixel's pairs, or two pixels' interleaved */
  const uint32_t n = a->run_length, rows = a->rows, words = (n + 3) / 4;
  /* The filter rows are one run when single (dense) or a whole number of
   * words apart (a whole window, or one cut short by a column at an edge:
   * the bytes past the run meet zero lanes, see to_q15). */
  const int whole = rows == 1 || a->filter_row_step == 4 * words;
  uint32_t px = 0;
  for (; px < a->pixels; px += 2) {
    const int two = px + 1 < a->pixels;
    const int8_t *x = input + px * a->pixel_step;
    int8_t *o = out + px * a->out_step;
    to_q15(x, rows, a->row_step, n, zp, p, two ? 4 : 2);
    if (two) to_q15(x + a->pixel_step, rows, a->row_step, n, zp, p + 2, 4);
    uint32_t c = 0;
    if (!two)
      for (; c + 4 <= a->channels; c += 4) {
        const uint8_t *rec = records + c * RECORD_BYTES;
        int32_t acc[4] = {record_word(rec, 0), record_word(rec, 3), record_word(rec, 6), record_word(rec, 9)};
        const int8_t *w0 = filter + c * a->filter_step;
        if (whole) dot_1x4_q15(p, w0, a->filter_step, rows * words, acc);
        else for (uint32_t r = 0; r < rows; r++) dot_1x4_q15(p + 2 * r * words, w0 + r * a->filter_row_step, a->filter_step, words, acc);
        for (int j = 0; j < 4; j++) o[c + j] = requantize_at(acc[j], rec + j * RECORD_BYTES, out_zp, act_min, act_max);
      }
    if (two && full)
      /* Both pixels' sums for PAIR_CHANNELS channels at a time, then each
       * pixel's requantized by hand (requantize_channels). */
      while (c + 2 <= a->channels) {
        int32_t sums[2 * PAIR_CHANNELS];
        const uint32_t c0 = c, end = (a->channels & ~1u) - c0 < PAIR_CHANNELS ? a->channels & ~1u : c0 + PAIR_CHANNELS;
        for (; c < end; c += 2) {
          const uint8_t *r0 = records + c * RECORD_BYTES;
          const int8_t *w0 = filter + c * a->filter_step;
          int32_t acc[4] = {record_word(r0, 0), record_word(r0, 3), record_word(r0, 0), record_word(r0, 3)};
          if (whole) dot_2x2_q15(p, w0, a->filter_step, rows * words, acc);
          else for (uint32_t r = 0; r < rows; r++) dot_2x2_q15(p + 4 * r * words, w0 + r * a->filter_row_step, a->filter_step, words, acc);
          int32_t *sum = sums + (c - c0);
          sum[0] = acc[0], sum[1] = acc[1], sum[PAIR_CHANNELS] = acc[2], sum[PAIR_CHANNELS + 1] = acc[3];
        }
        requantize_channels(sums, records + c0 * RECORD_BYTES, o + c0, end - c0, out_zp, act_min, act_max);
        requantize_channels(sums + PAIR_CHANNELS, records + c0 * RECORD_BYTES, o + a->out_step + c0, end - c0, out_zp, act_min, act_max);
      }
    for (; c + 2 <= a->channels; c += 2) {
      const uint8_t *r0 = records + c * RECORD_BYTES, *r1 = r0 + RECORD_BYTES;
      const int8_t *w0 = filter + c * a->filter_step, *w1 = w0 + a->filter_step;
      int32_t acc[4] = {record_word(r0, 0), record_word(r1, 0), record_word(r0, 0), record_word(r1, 0)};
      if (two) {
        if (whole) dot_2x2_q15(p, w0, a->filter_step, rows * words, acc);
        else for (uint32_t r = 0; r < rows; r++) dot_2x2_q15(p + 4 * r * words, w0 + r * a->filter_row_step, a->filter_step, words, acc);
        o[a->out_step + c] = requantize_at(acc[2], r0, out_zp, act_min, act_max);
        o[a->out_step + c + 1] = requantize_at(acc[3], r1, out_zp, act_min, act_max);
      } else {
        if (whole) dot_1x2_q15(p, w0, w1, rows * words, acc);
        else for (uint32_t r = 0; r < rows; r++) dot_1x2_q15(p + 2 * r * words, w0 + r * a->filter_row_step, w1 + r * a->filter_row_step, words, acc);
      }
      o[c] = requantize_at(acc[0], r0, out_zp, act_min, act_max);
      o[c + 1] = requantize_at(acc[1], r1, out_zp, act_min, act_max);
    }
    if (c < a->channels) {
      const channel_t k = channel(records + c * RECORD_BYTES);
      for (int j = 0; j <= two; j++) {
        int32_t acc = k.bias;
        for (uint32_t r = 0; r < rows; r++) acc = dot_1x1(x + j * a->pixel_step + r * a->row_step, filter + c * a->filter_step + r * a->filter_row_step, n, -a->in_zp, acc);
        o[j * a->out_step + c] = requantize(acc, &k, out_zp, act_min, act_max);
      }
    }
  }
}
#else
static inline void dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, uint32_t n, int32_t zp, int32_t acc[4]) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  for (uint32_t i = 0; i < n; i++) {
    int32_t u = x0[i] + zp, v = x1[i] + zp, f = w0[i], g = w1[i];
    a00 += u * f;
    a01 += u * g;
    a10 += v * f;
    a11 += v * g;
  }
  acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

static inline void dot_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1, uint32_t n, int32_t zp, int32_t acc[2]) {
  int32_t a0 = acc[0], a1 = acc[1];
  for (uint32_t i = 0; i < n; i++) {
    int32_t u = x[i] + zp;
    a0 += u * w0[i];
    a1 += u * w1[i];
  }
  acc[0] = a0, acc[1] = a1;
}
#endif

int wisp_host_dot_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_dot_args *a) {
  if (a->pixels == 0 || a->channels == 0) return 0;
  const uint64_t in_reach = reach(reach(a->run_length, a->pixels, a->pixel_step), a->rows, a->row_step);
  const uint64_t filter_reach = reach(reach(a->run_length, a->channels, a->filter_step), a->rows, a->filter_row_step);
  if (!inside(memory_bytes, a->out, reach(a->channels, a->pixels, a->out_step)) ||
      !inside(memory_bytes, a->input, in_reach) ||
      !inside(memory_bytes, a->filter, filter_reach) ||
      !inside(memory_bytes, a->records, (uint64_t)a->channels * RECORD_BYTES))
    return -1;
  const int8_t *input = (const int8_t *)memory + a->input, *filter = (const int8_t *)memory + a->filter;
  int8_t *out = (int8_t *)memory + a->out;
  const uint8_t *records = memory + a->records;
  const uint32_t rows = a->run_length ? a->rows : 0, n = a->run_length;
#if WISP_HOST_DSP
  const int16x2_t zp = (int16x2_t)(((uint32_t)(uint16_t)-a->in_zp << 16) | (uint16_t)-a->in_zp);
  /* Runs that end inside a word read up to 3 bytes past them (input and
   * filter), still inside linear memory. */
  const uint32_t over = (4 - n % 4) % 4;
  if ((uint64_t)rows * (n + over) <= Q15_BYTES &&
      (over == 0 || (inside(memory_bytes, a->input, in_reach + over) && inside(memory_bytes, a->filter, filter_reach + over)))) {
    if (a->act_min == -128 && a->act_max == 127) dot_q15(a, input, filter, out, records, zp, 1);
    else dot_q15(a, input, filter, out, records, zp, 0);
    return 0;
  }
#else
  const int32_t zp = -a->in_zp;
#endif
  /* Pixels in ascending order, two at a time, as the module's own loops go:
   * the module may place the output over input it has finished with
   * (docs/host-kernels.md), never over a pixel's own or its pair's. */
  uint32_t p = 0;
  for (; p + 2 <= a->pixels; p += 2) {
    const int8_t *x = input + p * a->pixel_step;
    int8_t *o = out + p * a->out_step;
    uint32_t c = 0;
    for (; c + 2 <= a->channels; c += 2) {
      const channel_t k0 = channel(records + c * RECORD_BYTES), k1 = channel(records + (c + 1) * RECORD_BYTES);
      const int8_t *w0 = filter + c * a->filter_step, *w1 = w0 + a->filter_step;
      int32_t acc[4] = {k0.bias, k1.bias, k0.bias, k1.bias};
      for (uint32_t r = 0; r < rows; r++) dot_2x2(x + r * a->row_step, x + a->pixel_step + r * a->row_step, w0 + r * a->filter_row_step, w1 + r * a->filter_row_step, n, zp, acc);
      o[c] = requantize(acc[0], &k0, a->out_zp, a->act_min, a->act_max);
      o[c + 1] = requantize(acc[1], &k1, a->out_zp, a->act_min, a->act_max);
      o[a->out_step + c] = requantize(acc[2], &k0, a->out_zp, a->act_min, a->act_max);
      o[a->out_step + c + 1] = requantize(acc[3], &k1, a->out_zp, a->act_min, a->act_max);
    }
    if (c < a->channels) {
      const channel_t k = channel(records + c * RECORD_BYTES);
      const int8_t *w = filter + c * a->filter_step;
      int32_t a0 = k.bias, a1 = k.bias;
      for (uint32_t r = 0; r < rows; r++) {
        a0 = dot_1x1(x + r * a->row_step, w + r * a->filter_row_step, n, -a->in_zp, a0);
        a1 = dot_1x1(x + a->pixel_step + r * a->row_step, w + r * a->filter_row_step, n, -a->in_zp, a1);
      }
      o[c] = requantize(a0, &k, a->out_zp, a->act_min, a->act_max);
      o[a->out_step + c] = requantize(a1, &k, a->out_zp, a->act_min, a->act_max);
    }
  }
  if (p < a->pixels) {
    const int8_t *x = input + p * a->pixel_step;
    int8_t *o = out + p * a->out_step;
    uint32_t c = 0;
    for (; c + 2 <= a->channels; c += 2) {
      const channel_t k0 = channel(records + c * RECORD_BYTES), k1 = channel(records + (c + 1) * RECORD_BYTES);
      const int8_t *w0 = filter + c * a->filter_step, *w1 = w0 + a->filter_step;
      int32_t acc[2] = {k0.bias, k1.bias};
      for (uint32_t r = 0; r < rows; r++) dot_1x2(x + r * a->row_step, w0 + r * a->filter_row_step, w1 + r * a->filter_row_step, n, zp, acc);
      o[c] = requantize(acc[0], &k0, a->out_zp, a->act_min, a->act_max);
      o[c + 1] = requantize(acc[1], &k1, a->out_zp, a->act_min, a->act_max);
    }
    if (c < a->channels) {
      const channel_t k = channel(records + c * RECORD_BYTES);
      int32_t acc = k.bias;
      for (uint32_t r = 0; r < rows; r++) acc = dot_1x1(x + r * a->row_step, filter + c * a->filter_step + r * a->filter_row_step, n, -a->in_zp, acc);
      o[c] = requantize(acc, &k, a->out_zp, a->act_min, a->act_max);
    }
  }
  return 0;
}

/* ---- wisp_depthwise_s8 ---- */

/* One channel of one pixel over its taps. */
static int32_t depthwise_1(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *w, int32_t acc) {
  for (uint32_t r = 0; r < a->rows; r++, x += a->row_step, w += a->filter_row_step)
    for (uint32_t k = 0; k < a->columns; k++) acc += (x[k * a->column_step] - a->in_zp) * w[k];
  return acc;
}

#if WISP_HOST_DSP
/* A run's sums for four neighbouring channels, their weights packed as
 * int16 pairs (two words a tap, row by row) and the zero point already in
 * `start`: 9 instructions a tap, 3x3 windows unrolled. acc: four sums a pixel.
 * r0 x, r1 packed, r2 cs, r3 x_row, r4-r7 sums, r12 the pixel's x, lr acc;
 * on the stack: 0 rows left, 4 columns left, 8 pixels left, 12 ps, 16 start,
 * 20 rows, 24 columns, 28 packed. */
struct dw4_run {
  const int8_t *x;
  const int16x2_t *packed;
  uint32_t cs, x_row, ps, rows, columns, pixels; /* x_row: to the next row from past a row's last tap */
  const int32_t *start;
  int32_t *acc;
};

static __attribute__((naked, noinline)) void dw4_run(UNUSED const struct dw4_run *r) {
  __asm__ volatile(
      ".macro wisp_dw4_packed_tap\n\t"
      "ldr r10, [r0]\n\t"
      "add r0, r2\n\t"
      "ldrd r8, r9, [r1], #8\n\t"
      "sxtb16 r11, r10\n\t" /* channels 0, 2 */
      "sxtb16 r10, r10, ror #8\n\t" /* channels 1, 3 */
      "smlabb r4, r11, r8, r4\n\t"
      "smlatt r6, r11, r8, r6\n\t"
      "smlabb r5, r10, r9, r5\n\t"
      "smlatt r7, r10, r9, r7\n\t"
      ".endm\n\t"
      "push {r4-r11, lr}\n\t"
      "sub sp, #32\n\t"
      "ldr r2, [r0, #8]\n\t"
      "ldr r3, [r0, #12]\n\t"
      "ldr r9, [r0, #16]\n\t"
      "str r9, [sp, #12]\n\t"
      "ldr r9, [r0, #20]\n\t"
      "str r9, [sp, #20]\n\t"
      "ldr r9, [r0, #24]\n\t"
      "str r9, [sp, #24]\n\t"
      "ldr r9, [r0, #32]\n\t"
      "str r9, [sp, #16]\n\t"
      "ldr r9, [r0, #4]\n\t"
      "str r9, [sp, #28]\n\t"
      "ldr lr, [r0, #36]\n\t"
      "ldr r12, [r0, #0]\n\t"
      "ldr r9, [r0, #28]\n\t"
      "str r9, [sp, #8]\n\t"
      "cmp r9, #0\n\t"
      "beq 9f\n"
      "0:\n\t" /* a pixel */
      "ldr r9, [sp, #16]\n\t"
      "ldm r9, {r4-r7}\n\t"
      "mov r0, r12\n\t"
      "ldr r1, [sp, #28]\n\t"
      "ldr r9, [sp, #20]\n\t"
      "ldr r10, [sp, #24]\n\t"
      "cmp r9, #3\n\t"
      "bne 5f\n\t"
      "cmp r10, #3\n\t"
      "bne 5f\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "add r0, r3\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "add r0, r3\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "wisp_dw4_packed_tap\n\t"
      "b 8f\n"
      "5:\n\t" /* any other window */
      "cmp r9, #0\n\t"
      "beq 8f\n\t"
      "cmp r10, #0\n\t"
      "beq 8f\n\t"
      "str r9, [sp, #0]\n"
      "6:\n\t"
      "ldr r10, [sp, #24]\n\t"
      "str r10, [sp, #4]\n"
      "7:\n\t"
      "wisp_dw4_packed_tap\n\t"
      "ldr r10, [sp, #4]\n\t"
      "subs r10, #1\n\t"
      "str r10, [sp, #4]\n\t"
      "bne 7b\n\t"
      "add r0, r3\n\t"
      "ldr r9, [sp, #0]\n\t"
      "subs r9, #1\n\t"
      "str r9, [sp, #0]\n\t"
      "bne 6b\n"
      "8:\n\t"
      "stm lr!, {r4-r7}\n\t"
      "ldr r9, [sp, #12]\n\t"
      "add r12, r9\n\t"
      "ldr r9, [sp, #8]\n\t"
      "subs r9, #1\n\t"
      "str r9, [sp, #8]\n\t"
      "bne 0b\n"
      "9:\n\t"
      "add sp, #32\n\t"
      "pop {r4-r11, pc}\n\t"
      ".purgem wisp_dw4_packed_tap\n");
}

/* A run of PACKED_PIXELS or more windows of rows x columns taps for four
 * neighbouring channels, their filters filter_step apart: their weights packed once as
 * int16 pairs, and the zero point taken out of the sums first (sum (x - zp)
 * * w == sum x * w - zp * sum w, in wrapping int32 alike); the sums by
 * dw4_run, RUN_PIXELS at a time, each run read whole before it is written. */
#define PACKED_TAPS 16u
#define PACKED_PIXELS 4u /* fewer: packing costs more than it saves */
#define RUN_PIXELS 16u
static void depthwise_4(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *w, int8_t *o, uint32_t pixels, const uint8_t *rec) {
  const uint32_t rows = a->rows, columns = a->columns;
  const int32_t out_zp = a->out_zp, act_min = a->act_min, act_max = a->act_max; /* locals: int8 stores may alias *a */
  const uint32_t fs = a->filter_step, cs = a->column_step, fr = a->filter_row_step, ps = a->pixel_step, os = a->out_step;
  int16x2_t packed[2 * PACKED_TAPS];
  uint32_t start[4] = {record_word(rec, 0), record_word(rec, 3), record_word(rec, 6), record_word(rec, 9)};
  int16x2_t *pk = packed;
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < columns; c++, pk += 2) {
      const int8_t *wt = w + r * fr + c;
      pk[0] = PAIR(wt[0], wt[2 * fs]);
      pk[1] = PAIR(wt[fs], wt[3 * fs]);
      for (uint32_t j = 0; j < 4; j++) start[j] -= (uint32_t)(a->in_zp * wt[j * fs]);
    }
  int32_t acc[4 * RUN_PIXELS];
  struct dw4_run run = {x, packed, cs, a->row_step - columns * cs, ps, rows, columns, 0, (const int32_t *)start, acc};
  while (pixels) {
    const uint32_t n = pixels < RUN_PIXELS ? pixels : RUN_PIXELS;
    run.pixels = n;
    dw4_run(&run);
    for (uint32_t p = 0; p < n; p++, o += os)
      for (uint32_t j = 0; j < 4; j++) o[j] = requantize_at(acc[4 * p + j], rec + j * RECORD_BYTES, out_zp, act_min, act_max);
    run.x += n * ps, pixels -= n;
  }
}

/* One pixel's windows for `groups` groups of four neighbouring channels (x:
 * the first group's first tap, w: its channel 0's first weight, the others
 * filter_step apart), each started at its channels' biases (records from
 * rec), into acc. By hand, as dw4_windows() below. */
struct dw4_window {
  const int8_t *x, *w;
  uint32_t fs, cs;
  int16x2_t zp;
  uint32_t rows, columns, x_row, w_row; /* x_row, w_row: to the next row from past a row's last tap */
  uint32_t groups;
  const uint8_t *rec;
  int32_t *acc;
};

/* 16 instructions a tap with every value in a register (GCC's loops spill
 * the strides and the zero point: 26). Rows of 2 and 3 taps unrolled.
 * r0 x, r1 w, r12 w + 2 fs, r2 fs, r3 cs, r4-r7 acc, r8 zp; on the stack:
 * 0 rows left, 4 columns, 8 x_row, 12 w_row, 16 columns left, 20 groups
 * left, 24 the group's x, 28 its w, 32 rec, 36 acc, 40 rows. */
static __attribute__((naked, noinline)) void dw4_windows(UNUSED const struct dw4_window *t) {
  __asm__ volatile(
      ".macro wisp_dw4_tap\n\t"
      "ldr r9, [r0]\n\t"
      "add r0, r3\n\t"
      "sxtb16 r10, r9\n\t" /* channels 0, 2 */
      "sadd16 r10, r10, r8\n\t"
      "sxtb16 r9, r9, ror #8\n\t" /* channels 1, 3 */
      "sadd16 r9, r9, r8\n\t"
      "ldrsb r11, [r1, r2]\n\t"
      "ldrsb lr, [r12, r2]\n\t"
      "pkhbt r11, r11, lr, lsl #16\n\t"
      "smlabb r5, r9, r11, r5\n\t"
      "smlatt r7, r9, r11, r7\n\t"
      "ldrsb r11, [r1], #1\n\t"
      "ldrsb lr, [r12], #1\n\t"
      "pkhbt r11, r11, lr, lsl #16\n\t"
      "smlabb r4, r10, r11, r4\n\t"
      "smlatt r6, r10, r11, r6\n\t"
      ".endm\n\t"
      "push {r4-r11, lr}\n\t"
      "sub sp, #48\n\t"
      "ldr r2, [r0, #8]\n\t"
      "ldr r3, [r0, #12]\n\t"
      "ldr r8, [r0, #16]\n\t"
      "ldr r9, [r0, #20]\n\t"
      "str r9, [sp, #40]\n\t"
      "ldr r9, [r0, #24]\n\t"
      "str r9, [sp, #4]\n\t"
      "ldr r9, [r0, #28]\n\t"
      "str r9, [sp, #8]\n\t"
      "ldr r9, [r0, #32]\n\t"
      "str r9, [sp, #12]\n\t"
      "ldr r9, [r0, #36]\n\t"
      "str r9, [sp, #20]\n\t"
      "ldr r9, [r0, #40]\n\t"
      "str r9, [sp, #32]\n\t"
      "ldr r9, [r0, #44]\n\t"
      "str r9, [sp, #36]\n\t"
      "ldr r9, [r0, #4]\n\t"
      "str r9, [sp, #28]\n\t"
      "ldr r9, [r0, #0]\n\t"
      "str r9, [sp, #24]\n\t"
      "ldr r9, [sp, #20]\n\t"
      "cmp r9, #0\n\t"
      "beq 9f\n"
      "0:\n\t" /* a group */
      "ldr r9, [sp, #32]\n\t"
      "ldr r4, [r9]\n\t"
      "ldr r5, [r9, #12]\n\t"
      "ldr r6, [r9, #24]\n\t"
      "ldr r7, [r9, #36]\n\t"
      "add r9, #48\n\t"
      "str r9, [sp, #32]\n\t"
      "ldr r0, [sp, #24]\n\t"
      "ldr r1, [sp, #28]\n\t"
      "add r12, r1, r2, lsl #1\n\t"
      "ldr r9, [sp, #40]\n\t"
      "str r9, [sp, #0]\n\t"
      "cmp r9, #0\n\t"
      "beq 8f\n"
      "1:\n\t" /* a row */
      "ldr r9, [sp, #4]\n\t"
      "cmp r9, #3\n\t"
      "beq 3f\n\t"
      "cmp r9, #2\n\t"
      "beq 2f\n\t"
      "str r9, [sp, #16]\n"
      "4:\n\t"
      "wisp_dw4_tap\n\t"
      "ldr r9, [sp, #16]\n\t"
      "subs r9, #1\n\t"
      "str r9, [sp, #16]\n\t"
      "bne 4b\n\t"
      "b 5f\n"
      "3:\n\t"
      "wisp_dw4_tap\n"
      "2:\n\t"
      "wisp_dw4_tap\n\t"
      "wisp_dw4_tap\n"
      "5:\n\t"
      "ldr r9, [sp, #8]\n\t"
      "add r0, r9\n\t"
      "ldr r9, [sp, #12]\n\t"
      "add r1, r9\n\t"
      "add r12, r9\n\t"
      "ldr r9, [sp, #0]\n\t"
      "subs r9, #1\n\t"
      "str r9, [sp, #0]\n\t"
      "bne 1b\n"
      "8:\n\t" /* the group's sums out, on to the next group */
      "ldr r9, [sp, #36]\n\t"
      "stm r9!, {r4-r7}\n\t"
      "str r9, [sp, #36]\n\t"
      "ldr r9, [sp, #24]\n\t"
      "add r9, #4\n\t"
      "str r9, [sp, #24]\n\t"
      "ldr r9, [sp, #28]\n\t"
      "add r9, r9, r2, lsl #2\n\t"
      "str r9, [sp, #28]\n\t"
      "ldr r9, [sp, #20]\n\t"
      "subs r9, #1\n\t"
      "str r9, [sp, #20]\n\t"
      "bne 0b\n"
      "9:\n\t"
      "add sp, #48\n\t"
      "pop {r4-r11, pc}\n\t"
      ".purgem wisp_dw4_tap\n");
}

/* Every whole group of four channels of `pixels` pixels from x, pixel by
 * pixel (the pixels' output may lie over their input, see
 * wisp_host_depthwise_s8), WINDOW_CHANNELS a pass: dw4_windows, then requantized. */
#define WINDOW_CHANNELS 64u
static void depthwise_windows(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *filter, int8_t *o, const uint8_t *records, uint32_t pixels, int16x2_t zp) {
  const int32_t out_zp = a->out_zp, act_min = a->act_min, act_max = a->act_max; /* locals: int8 stores may alias *a */
  const uint32_t cs = a->column_step, columns = a->columns, channels = a->channels & ~3u, fs = a->filter_step;
  int32_t acc[WINDOW_CHANNELS];
  struct dw4_window t = {x, filter, fs, cs, zp, a->rows, columns, a->row_step - columns * cs, a->filter_row_step - columns, 0, records, acc};
  for (; pixels--; x += a->pixel_step, o += a->out_step)
    for (uint32_t c = 0; c < channels; c += WINDOW_CHANNELS) {
      const uint32_t n = channels - c < WINDOW_CHANNELS ? channels - c : WINDOW_CHANNELS;
      t.x = x + c, t.w = filter + c * fs, t.groups = n / 4, t.rec = records + c * RECORD_BYTES;
      dw4_windows(&t);
      requantize_channels(acc, t.rec, o + c, n, out_zp, act_min, act_max);
    }
}

#endif

/* Channels [c, channels) one at a time for `pixels` pixels from x. */
static void depthwise_rest(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *filter, int8_t *o, const uint8_t *records, uint32_t c, uint32_t pixels) {
  for (; c < a->channels; c++) {
    const channel_t k = channel(records + c * RECORD_BYTES);
    for (uint32_t p = 0; p < pixels; p++)
      o[p * a->out_step + c] = requantize(depthwise_1(a, x + p * a->pixel_step + c, filter + c * a->filter_step, k.bias), &k, a->out_zp, a->act_min, a->act_max);
  }
}

/* Every channel of `pixels` pixels from x, four at a time where the DSP has them. */
static void depthwise_pixels(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *filter, int8_t *o, const uint8_t *records, uint32_t pixels) {
  uint32_t c = 0;
#if WISP_HOST_DSP
  const int16x2_t zp = (int16x2_t)(((uint32_t)(uint16_t)-a->in_zp << 16) | (uint16_t)-a->in_zp);
  if (pixels < PACKED_PIXELS || a->rows * a->columns > PACKED_TAPS) {
    depthwise_windows(a, x, filter, o, records, pixels, zp);
    c = a->channels & ~3u;
  }
  for (; c + 4 <= a->channels; c += 4) depthwise_4(a, x + c, filter + c * a->filter_step, o + c, pixels, records + c * RECORD_BYTES);
#endif
  depthwise_rest(a, x, filter, o, records, c, pixels);
}

int wisp_host_depthwise_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_depthwise_args *a) {
  if (a->pixels == 0 || a->channels == 0) return 0;
  const uint64_t tap = a->columns ? 1 : 0;
  const uint64_t in_bytes = reach(reach(reach(tap ? a->channels : 0, a->pixels, a->pixel_step), a->rows, a->row_step), a->columns, a->column_step);
  const uint64_t out_bytes = reach(a->channels, a->pixels, a->out_step);
  if (!inside(memory_bytes, a->out, out_bytes) || !inside(memory_bytes, a->input, in_bytes) ||
      !inside(memory_bytes, a->filter, reach(reach(reach(tap, a->channels, a->filter_step), a->rows, a->filter_row_step), a->columns, 1)) ||
      !inside(memory_bytes, a->records, (uint64_t)a->channels * RECORD_BYTES))
    return -1;
  struct wisp_depthwise_args t = *a;
  if (!a->columns) t.rows = 0;
  const int8_t *input = (const int8_t *)memory + a->input, *filter = (const int8_t *)memory + a->filter;
  int8_t *out = (int8_t *)memory + a->out;
  const uint8_t *records = memory + a->records;
  const uint32_t os = a->out_step, apart = a->out > a->input ? a->out - a->input : a->input - a->out;
  /* Each output byte over the same channel's input bytes (the offset and
   * every input step whole pixels of out_step >= channels bytes): a channel
   * then reads only its own, so four channels may run across the pixels. */
  const int own_channels = os >= a->channels && apart % os == 0 && a->pixel_step % os == 0 && a->row_step % os == 0 && a->column_step % os == 0;
  if (!own_channels && (uint64_t)a->out < a->input + in_bytes && (uint64_t)a->input < a->out + out_bytes) {
    /* The output lies over the input: pixel by pixel in ascending order, as
     * the module's own loops go (docs/host-kernels.md). */
    for (uint32_t p = 0; p < a->pixels; p++) depthwise_pixels(&t, input + p * a->pixel_step, filter, out + p * a->out_step, records, 1);
  } else {
    depthwise_pixels(&t, input, filter, out, records, a->pixels);
  }
  return 0;
}
#else
/* Built without host kernels: wisp_kernels() says 0, so these are never called. */
int wisp_host_dot_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_dot_args *a) {
  (void)memory, (void)memory_bytes, (void)a;
  return -1;
}

int wisp_host_depthwise_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_depthwise_args *a) {
  (void)memory, (void)memory_bytes, (void)a;
  return -1;
}
#endif

/* ---- wisp_add_s8 ---- */
#if WISP_HOST_KERNELS
/* MBQM(x, multiplier, shift) with the shifts of channel() (mod 32, as wasm);
 * on the DSP in scale()'s one rounding step, as requantize() does. */
static inline int32_t rescale(int32_t x, const channel_t *c) {
#if WISP_HOST_DSP
  return scale(x, c->multiplier, c->right ? -c->right : c->left);
#else
  const int32_t v = (int32_t)(((int64_t)(int32_t)((uint32_t)x << c->left) * c->multiplier + (1ll << 30)) >> 31);
  return (v >> c->right) + ((v & c->mask) > c->half + (v < 0) ? 1 : 0);
#endif
}

static channel_t scaling(int32_t multiplier, int32_t shift) {
  const int32_t record[3] = {0, multiplier, shift};
  return channel((const uint8_t *)record);
}

int wisp_host_add_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_add_args *a) {
  const uint32_t n = a->count;
  if (n == 0) return 0;
  if (!inside(memory_bytes, a->out, n) || !inside(memory_bytes, a->input1, n) || !inside(memory_bytes, a->input2, n)) return -1;
  /* In locals: the stores below may alias *a as far as the compiler knows. */
  const channel_t s1 = scaling(a->in1_mult, a->in1_shift), s2 = scaling(a->in2_mult, a->in2_shift), so = scaling(a->out_mult, a->out_shift);
  const uint32_t left = (uint32_t)a->left_shift & 31, zp1 = (uint32_t)a->in1_zp, zp2 = (uint32_t)a->in2_zp, out_zp = (uint32_t)a->out_zp;
  const int32_t lo = a->act_min, hi = a->act_max;
  const int8_t *x = (const int8_t *)memory + a->input1, *y = (const int8_t *)memory + a->input2;
  int8_t *out = (int8_t *)memory + a->out;
  /* Element by element in ascending order, as the module's loop: the output
   * may lie over either input. Sums and differences wrap as wasm's i32 do;
   * the clamp goes in the module's order. */
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t u = (uint32_t)rescale((int32_t)(((uint32_t)x[i] - zp1) << left), &s1);
    const uint32_t v = (uint32_t)rescale((int32_t)(((uint32_t)y[i] - zp2) << left), &s2);
    int32_t r = (int32_t)((uint32_t)rescale((int32_t)(u + v), &so) + out_zp);
    if (r < lo) r = lo;
    if (r > hi) r = hi;
    out[i] = (int8_t)r;
  }
  return 0;
}
#else
int wisp_host_add_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_add_args *a) {
  (void)memory, (void)memory_bytes, (void)a;
  return -1;
}
#endif
