/*
 * A native check of host_kernels.c: each primitive against a plain
 * reference (the ABI's sums written as literally as possible, and TFLM's
 * MultiplyByQuantizedMultiplier; ADD as assembly/kernels/add.ts computes it) on random shapes and data, plus every
 * region pushed past the end of memory refused with nothing written.
 * tests/host-kernels.test.ts builds and runs it with the host's cc; the M4
 * firmware runs the DSP variant on whole models (tests/firmware.test.ts).
 *   cc -O2 -I host/c host/c/host_kernels.c host/c/test/host_kernels_test.c && ./a.out
 * Prints "host kernels: N cases exact" and exits 0, or the first mismatch and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "host_kernels.h"

#define MEMORY 65536u
static uint8_t memory[MEMORY], expected[MEMORY];
static uint32_t seed = 12345;

static uint32_t next(uint32_t n) {
  seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
  return n ? seed % n : 0;
}

static int32_t mbqm(int32_t x, int32_t m, int32_t shift) {
  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int64_t p = (int64_t)(int32_t)((uint32_t)x << left) * m;
  int32_t v = (int32_t)((p + (1ll << 30)) >> 31);
  int32_t mask = (int32_t)((1u << right) - 1u), rem = v & mask, threshold = (mask >> 1) + (v < 0);
  return (v >> right) + (rem > threshold);
}

static int8_t store(int32_t acc, uint32_t record, int32_t out_zp, int32_t lo, int32_t hi) {
  int32_t r[3];
  memcpy(r, memory + record, sizeof r);
  int32_t v = mbqm((int32_t)((uint32_t)acc + (uint32_t)r[0]), r[1], r[2]) + out_zp;
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

static void random_records(uint32_t at, uint32_t channels) {
  for (uint32_t c = 0; c < channels; c++) {
    int32_t r[3] = {(int32_t)next(200000) - 100000, (int32_t)(0x40000000u + next(0x3fffffffu)), (int32_t)next(12) - 10};
    memcpy(memory + at + 12 * c, r, sizeof r);
  }
}

static int check_dot(void) {
  struct wisp_dot_args a;
  a.pixels = 1 + next(7), a.rows = next(4), a.run_length = next(5) == 0 ? 0 : 1 + next(70), a.channels = 1 + next(9);
  a.pixel_step = next(3) * 8 + next(2), a.row_step = a.run_length + next(50), a.filter_row_step = a.run_length + next(3);
  a.filter_step = a.rows * a.filter_row_step + next(4), a.out_step = a.channels + next(5);
  a.input = 64 + next(64), a.filter = 20000 + next(16), a.out = 40000 + next(16), a.records = 50000 + 4 * next(4) + (next(4) == 0); /* now and then unaligned */
  a.in_zp = (int32_t)next(256) - 128, a.out_zp = (int32_t)next(256) - 128, a.act_min = -128 + (int32_t)next(20), a.act_max = 127 - (int32_t)next(20);
  if (next(3) == 0) a.act_min = -128, a.act_max = 127; /* all of int8, as models clamp */
  for (uint32_t i = 0; i < 40000; i++) memory[i] = (uint8_t)next(256);
  random_records(a.records, a.channels);
  memcpy(expected, memory, MEMORY);
  for (uint32_t p = 0; p < a.pixels; p++)
    for (uint32_t c = 0; c < a.channels; c++) {
      int32_t acc = 0;
      for (uint32_t r = 0; r < (a.run_length ? a.rows : 0); r++)
        for (uint32_t i = 0; i < a.run_length; i++)
          acc += ((int8_t)memory[a.input + p * a.pixel_step + r * a.row_step + i] - a.in_zp) * (int8_t)memory[a.filter + c * a.filter_step + r * a.filter_row_step + i];
      expected[a.out + p * a.out_step + c] = (uint8_t)store(acc, a.records + 12 * c, a.out_zp, a.act_min, a.act_max);
    }
  if (wisp_host_dot_s8(memory, MEMORY, &a) != 0 || memcmp(memory, expected, MEMORY) != 0) {
    printf("dot mismatch: pixels %u rows %u run %u channels %u\n", a.pixels, a.rows, a.run_length, a.channels);
    return 1;
  }
  return 0;
}

static int check_depthwise(void) {
  struct wisp_depthwise_args a;
  a.pixels = next(4) ? 1 + next(7) : 1 + next(40), a.channels = next(4) ? 1 + next(20) : 60 + next(80), a.rows = next(4), a.columns = next(4);
  if (next(2)) a.rows = a.columns = 3;
  a.column_step = a.channels + next(3) * 4, a.row_step = a.columns * a.column_step + next(30), a.pixel_step = a.column_step * (1 + next(2));
  a.filter_row_step = a.columns + next(2), a.filter_step = a.rows * a.filter_row_step + next(3), a.out_step = a.channels + next(3);
  a.input = 64 + next(64), a.filter = 20000 + next(16), a.out = 40000 + next(16), a.records = 50000 + 4 * next(4) + (next(4) == 0); /* now and then unaligned */
  if (next(3) == 0) {
    /* In place, as the module may place it: every step whole pixels, each
     * pixel's output over input only earlier pixels read, over the same
     * channels or (one time in two) a byte off them. */
    a.out_step = a.column_step, a.row_step = a.out_step * (a.columns + next(3)), a.out = a.input + 500 - a.out_step * (1 + next(3)) - next(2);
    a.input += 500;
  }
  a.in_zp = (int32_t)next(256) - 128, a.out_zp = (int32_t)next(256) - 128, a.act_min = -128 + (int32_t)next(20), a.act_max = 127 - (int32_t)next(20);
  if (next(3) == 0) a.act_min = -128, a.act_max = 127; /* all of int8, as models clamp */
  for (uint32_t i = 0; i < 40000; i++) memory[i] = (uint8_t)next(256);
  random_records(a.records, a.channels);
  memcpy(expected, memory, MEMORY);
  for (uint32_t p = 0; p < a.pixels; p++) { /* a pixel's input all read before its output is written, as the module does */
    uint8_t pixel[160];
    for (uint32_t c = 0; c < a.channels; c++) {
      int32_t acc = 0;
      for (uint32_t r = 0; r < (a.columns ? a.rows : 0); r++)
        for (uint32_t k = 0; k < a.columns; k++)
          acc += ((int8_t)expected[a.input + p * a.pixel_step + r * a.row_step + k * a.column_step + c] - a.in_zp) * (int8_t)expected[a.filter + c * a.filter_step + r * a.filter_row_step + k];
      pixel[c] = (uint8_t)store(acc, a.records + 12 * c, a.out_zp, a.act_min, a.act_max);
    }
    memcpy(expected + a.out + p * a.out_step, pixel, a.channels);
  }
  if (wisp_host_depthwise_s8(memory, MEMORY, &a) != 0 || memcmp(memory, expected, MEMORY) != 0) {
    printf("depthwise mismatch: pixels %u rows %u columns %u channels %u\n", a.pixels, a.rows, a.columns, a.channels);
    return 1;
  }
  return 0;
}

/* The ADD of assembly/kernels/add.ts: shifts as wasm takes them (mod 32). */
static int8_t add_1(int8_t x, int8_t y, const struct wisp_add_args *a) {
  int32_t u = mbqm((int32_t)((uint32_t)(x - a->in1_zp) << (a->left_shift & 31)), a->in1_mult, a->in1_shift);
  int32_t v = mbqm((int32_t)((uint32_t)(y - a->in2_zp) << (a->left_shift & 31)), a->in2_mult, a->in2_shift);
  int32_t r = mbqm(u + v, a->out_mult, a->out_shift) + a->out_zp;
  if (r < a->act_min) r = a->act_min;
  if (r > a->act_max) r = a->act_max;
  return (int8_t)r;
}

/* Random operands and TFLM-like parameters (20 bits of headroom, input
 * shifts <= 0), the output apart from the inputs, on the first one or on the second. */
static int check_add(void) {
  struct wisp_add_args a;
  a.count = next(8) == 0 ? next(3) : 1 + next(300);
  a.input1 = 64 + next(64), a.input2 = 20000 + next(64);
  const uint32_t place = next(3);
  a.out = place == 0 ? 40000 + next(64) : place == 1 ? a.input1 : a.input2;
  a.in1_zp = (int32_t)next(256) - 128, a.in2_zp = (int32_t)next(256) - 128, a.out_zp = (int32_t)next(256) - 128;
  a.left_shift = next(4) ? 20 : (int32_t)next(21);
  a.in1_mult = (int32_t)(0x40000000u + next(0x3fffffffu)), a.in2_mult = (int32_t)(0x40000000u + next(0x3fffffffu)), a.out_mult = (int32_t)(0x40000000u + next(0x3fffffffu));
  a.in1_shift = -(int32_t)next(8), a.in2_shift = -(int32_t)next(8), a.out_shift = (int32_t)next(4) - 22 + (next(4) == 0 ? 20 : 0);
  a.act_min = -128 + (int32_t)next(20), a.act_max = 127 - (int32_t)next(20);
  for (uint32_t i = 0; i < 40000; i++) memory[i] = (uint8_t)next(256);
  memcpy(expected, memory, MEMORY);
  for (uint32_t i = 0; i < a.count; i++) expected[a.out + i] = (uint8_t)add_1((int8_t)memory[a.input1 + i], (int8_t)memory[a.input2 + i], &a);
  if (wisp_host_add_s8(memory, MEMORY, &a) != 0 || memcmp(memory, expected, MEMORY) != 0) {
    printf("add mismatch: count %u left shift %d shifts %d %d %d\n", a.count, a.left_shift, a.in1_shift, a.in2_shift, a.out_shift);
    return 1;
  }
  return 0;
}

/* Each of ADD's three regions ending one byte past memory, then at its end. */
static int check_add_refusals(void) {
  struct wisp_add_args a = {0, 100, 200, 8, 0, 0, 0, 20, 1 << 30, -1, 1 << 30, -1, 1 << 30, -20, -128, 127};
  uint32_t *regions[] = {&a.out, &a.input1, &a.input2};
  for (int i = 0; i < 3; i++) {
    const uint32_t was = *regions[i];
    memset(memory, 0x55, MEMORY);
    memcpy(expected, memory, MEMORY);
    *regions[i] = MEMORY - 7;
    if (wisp_host_add_s8(memory, MEMORY, &a) != -1) return printf("add region %d past the end was not refused\n", i), 1;
    *regions[i] = 0xfffffffcu;
    if (wisp_host_add_s8(memory, MEMORY, &a) != -1) return printf("add region %d at 2^32 - 4 was not refused\n", i), 1;
    if (memcmp(memory, expected, MEMORY) != 0) return printf("a refused add wrote\n"), 1;
    *regions[i] = MEMORY - 8;
    if (wisp_host_add_s8(memory, MEMORY, &a) != 0) return printf("add region %d ending at the end was refused\n", i), 1;
    *regions[i] = was;
  }
  return 0;
}

/* Each region of a small valid call moved so that it ends one byte past memory. */
static int check_refusals(void) {
  struct wisp_dot_args d = {0, 4, 2, 100, 4, 1, 0, 4, 200, 4, 0, 4, 300, 0, 0, -128, 127};
  struct wisp_depthwise_args w = {0, 4, 2, 100, 4, 1, 1, 0, 4, 200, 1, 0, 4, 300, 0, 0, -128, 127};
  memset(memory, 0, MEMORY);
  if (wisp_host_dot_s8(memory, MEMORY, &d) || wisp_host_depthwise_s8(memory, MEMORY, &w)) return printf("a valid call was refused\n"), 1;
  uint32_t *dots[] = {&d.out, &d.input, &d.filter, &d.records}, *wides[] = {&w.out, &w.input, &w.filter, &w.records};
  const uint32_t dot_bytes[] = {8, 8, 16, 48}, depthwise_bytes[] = {8, 8, 4, 48};
  for (int i = 0; i < 4; i++) {
    struct wisp_dot_args d2 = d;
    struct wisp_depthwise_args w2 = w;
    memset(memory, 0x55, MEMORY);
    memcpy(expected, memory, MEMORY);
    *(uint32_t *)((char *)&d2 + ((char *)dots[i] - (char *)&d)) = MEMORY - dot_bytes[i] + 1;
    *(uint32_t *)((char *)&w2 + ((char *)wides[i] - (char *)&w)) = MEMORY - depthwise_bytes[i] + 1;
    if (wisp_host_dot_s8(memory, MEMORY, &d2) != -1 || wisp_host_depthwise_s8(memory, MEMORY, &w2) != -1) return printf("region %d past the end was not refused\n", i), 1;
    *(uint32_t *)((char *)&d2 + ((char *)dots[i] - (char *)&d)) = 0xffffffffu;
    if (wisp_host_dot_s8(memory, MEMORY, &d2) != -1) return printf("region %d at 2^32 - 1 was not refused\n", i), 1;
    *(uint32_t *)((char *)&d2 + ((char *)dots[i] - (char *)&d)) = MEMORY - dot_bytes[i];
    *(uint32_t *)((char *)&w2 + ((char *)wides[i] - (char *)&w)) = MEMORY - depthwise_bytes[i];
    if (i > 0 && (wisp_host_dot_s8(memory, MEMORY, &d2) != 0 || wisp_host_depthwise_s8(memory, MEMORY, &w2) != 0)) return printf("region %d ending at the end was refused\n", i), 1;
    if (i == 0 && memcmp(memory + 8, expected + 8, MEMORY - 16) != 0) return printf("a refused call wrote\n"), 1;
  }
  d.pixel_step = 0x80000000u, d.pixels = 3; /* the steps sum past 2^32 */
  if (wisp_host_dot_s8(memory, MEMORY, &d) != -1) return printf("a wrapping step was not refused\n"), 1;
  return 0;
}

int main(void) {
  int cases = 0;
  if (wisp_host_kernels() != (WISP_HOST_DOT | WISP_HOST_DEPTHWISE | WISP_HOST_ADD)) return printf("mask %u\n", wisp_host_kernels()), 1;
  for (int i = 0; i < 2000; i++, cases += 3)
    if (check_dot() || check_depthwise() || check_add()) return 1;
  if (check_refusals() || check_add_refusals()) return 1;
  printf("host kernels: %d cases exact, out-of-range regions refused\n", cases);
  return 0;
}
