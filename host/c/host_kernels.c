/*
 * Wisp's host kernels (host_kernels.h, docs/host-kernels.md). Byte-exact
 * with the module's own loops (assembly/kernels/conv.ts, dense.ts,
 * depthwise.ts) and TFLM's reference kernels: int32 sums that wrap as
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

static uint32_t offered = WISP_HOST_DOT | WISP_HOST_DEPTHWISE;

uint32_t wisp_host_kernels(void) { return WISP_HOST_KERNELS ? offered & (WISP_HOST_DOT | WISP_HOST_DEPTHWISE) : 0; }

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

/* acc already holds the bias. */
static inline int8_t requantize(int32_t acc, const channel_t *c, int32_t out_zp, int32_t lo, int32_t hi) {
  int32_t x = (int32_t)((uint32_t)acc << c->left);
  int32_t v = (int32_t)(((int64_t)x * c->multiplier + (1ll << 30)) >> 31);
  int32_t r = (v >> c->right) + ((v & c->mask) > c->half + (v < 0) ? 1 : 0) + out_zp;
  return (int8_t)(r < lo ? lo : r > hi ? hi : r);
}

static inline uint32_t word(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* ---- wisp_dot_s8 ---- */

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

static int32_t dot_1x1(const int8_t *x, const int8_t *w, uint32_t n, int32_t zp, int32_t acc) {
  for (uint32_t i = 0; i < n; i++) acc += (x[i] + zp) * w[i];
  return acc;
}

int wisp_host_dot_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_dot_args *a) {
  if (a->pixels == 0 || a->channels == 0) return 0;
  if (!inside(memory_bytes, a->out, reach(a->channels, a->pixels, a->out_step)) ||
      !inside(memory_bytes, a->input, reach(reach(a->run_length, a->pixels, a->pixel_step), a->rows, a->row_step)) ||
      !inside(memory_bytes, a->filter, reach(reach(a->run_length, a->channels, a->filter_step), a->rows, a->filter_row_step)) ||
      !inside(memory_bytes, a->records, (uint64_t)a->channels * RECORD_BYTES))
    return -1;
  const int8_t *input = (const int8_t *)memory + a->input, *filter = (const int8_t *)memory + a->filter;
  int8_t *out = (int8_t *)memory + a->out;
  const uint8_t *records = memory + a->records;
  const uint32_t rows = a->run_length ? a->rows : 0, n = a->run_length;
#if WISP_HOST_DSP
  const int16x2_t zp = (int16x2_t)(((uint32_t)(uint16_t)-a->in_zp << 16) | (uint16_t)-a->in_zp);
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

/* One channel's taps, its sum of weights taken out of the accumulator first
 * so that each tap is one multiply-accumulate of the raw input:
 * sum (x - zp) * w == sum x * w - zp * sum w, in wrapping int32 alike. */
static void depthwise_channel(const struct wisp_depthwise_args *a, const int8_t *x, const int8_t *w, int8_t *out, const channel_t *k) {
  const uint32_t rows = a->columns ? a->rows : 0, cols = a->columns;
  int32_t sum = 0;
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t j = 0; j < cols; j++) sum += w[r * a->filter_row_step + j];
  const int32_t start = k->bias - a->in_zp * sum;
  if (rows == 3 && cols == 3) {
    /* The common 3x3 window: its weights stay in registers. */
    const int32_t rs = (int32_t)a->row_step, cs = (int32_t)a->column_step, fr = (int32_t)a->filter_row_step;
#if WISP_HOST_DSP
    /* Taps 0 and 1 of each row as one int16 pair. */
    const int16x2_t p0 = PAIR(w[0], w[1]), p1 = PAIR(w[fr], w[fr + 1]);
    const int16x2_t p2 = PAIR(w[2 * fr], w[2 * fr + 1]);
#endif
    const int32_t w02 = w[2], w12 = w[fr + 2], w22 = w[2 * fr + 2];
#if !WISP_HOST_DSP
    const int32_t w00 = w[0], w01 = w[1], w10 = w[fr], w11 = w[fr + 1], w20 = w[2 * fr], w21 = w[2 * fr + 1];
#endif
    for (uint32_t p = 0; p < a->pixels; p++, x += a->pixel_step, out += a->out_step) {
      int32_t acc = start;
#if WISP_HOST_DSP
      acc = __smlad(PAIR(x[0], x[cs]), p0, acc);
      acc = __smlad(PAIR(x[rs], x[rs + cs]), p1, acc);
      acc = __smlad(PAIR(x[2 * rs], x[2 * rs + cs]), p2, acc);
#else
      acc += x[0] * w00 + x[cs] * w01 + x[rs] * w10 + x[rs + cs] * w11 + x[2 * rs] * w20 + x[2 * rs + cs] * w21;
#endif
      acc += x[2 * cs] * w02 + x[rs + 2 * cs] * w12 + x[2 * rs + 2 * cs] * w22;
      *out = requantize(acc, k, a->out_zp, a->act_min, a->act_max);
    }
    return;
  }
  for (uint32_t p = 0; p < a->pixels; p++, x += a->pixel_step, out += a->out_step) {
    int32_t acc = start;
    for (uint32_t r = 0; r < rows; r++) {
      const int8_t *xr = x + r * a->row_step, *wr = w + r * a->filter_row_step;
      for (uint32_t j = 0; j < cols; j++) acc += xr[j * a->column_step] * wr[j];
    }
    *out = requantize(acc, k, a->out_zp, a->act_min, a->act_max);
  }
}

int wisp_host_depthwise_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_depthwise_args *a) {
  if (a->pixels == 0 || a->channels == 0) return 0;
  const uint64_t tap = a->columns ? 1 : 0;
  if (!inside(memory_bytes, a->out, reach(a->channels, a->pixels, a->out_step)) ||
      !inside(memory_bytes, a->input, reach(reach(reach(tap ? a->channels : 0, a->pixels, a->pixel_step), a->rows, a->row_step), a->columns, a->column_step)) ||
      !inside(memory_bytes, a->filter, reach(reach(reach(tap, a->channels, a->filter_step), a->rows, a->filter_row_step), a->columns, 1)) ||
      !inside(memory_bytes, a->records, (uint64_t)a->channels * RECORD_BYTES))
    return -1;
  const uint64_t in_bytes = reach(reach(reach(a->channels, a->pixels, a->pixel_step), a->rows, a->row_step), a->columns, a->column_step);
  const uint64_t out_bytes = reach(a->channels, a->pixels, a->out_step);
  if ((uint64_t)a->out < a->input + in_bytes && (uint64_t)a->input < a->out + out_bytes) {
    /* The output lies over the input: pixel by pixel in ascending order, as
     * the module's loops go (docs/host-kernels.md). */
    struct wisp_depthwise_args one = *a;
    one.pixels = 1;
    for (uint32_t p = 0; p < a->pixels; p++, one.input += a->pixel_step, one.out += a->out_step)
      for (uint32_t c = 0; c < a->channels; c++) {
        const channel_t k = channel(memory + a->records + c * RECORD_BYTES);
        depthwise_channel(&one, (const int8_t *)memory + one.input + c, (const int8_t *)memory + a->filter + c * a->filter_step, (int8_t *)memory + one.out + c, &k);
      }
    return 0;
  }
  /* Apart: channel by channel, each channel's weights loaded once. */
  for (uint32_t c = 0; c < a->channels; c++) {
    const channel_t k = channel(memory + a->records + c * RECORD_BYTES);
    depthwise_channel(a, (const int8_t *)memory + a->input + c, (const int8_t *)memory + a->filter + c * a->filter_step, (int8_t *)memory + a->out + c, &k);
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
