/*
 * Wisp's host kernels (docs/host-kernels.md): the optional native
 * primitives the module imports from "wisp_kernels" for its innermost
 * loops, in one file pair for both C engines (aot/wisp_aot.c and
 * wasm3/wisp_wasm3.c) and the Node wasm3 binding. Each takes linear memory
 * and the import's arguments, checks every range it will touch against
 * that memory once, and then works without further checks.
 *
 * On Armv7E-M / Armv8-M with the DSP extension (__ARM_FEATURE_DSP) the
 * sums use dual 16-bit multiply-accumulates (SMLAD); elsewhere plain C.
 * Built with -DWISP_HOST_KERNELS=0 the host provides none (mask 0) and the
 * module computes every loop itself.
 */
#ifndef WISP_HOST_KERNELS_H
#define WISP_HOST_KERNELS_H

#include <stdint.h>

#ifndef WISP_HOST_KERNELS
#define WISP_HOST_KERNELS 1
#endif

/* The bits of wisp_kernels(): which primitives the host provides. */
#define WISP_HOST_DOT 1u
#define WISP_HOST_DEPTHWISE 2u
#define WISP_HOST_ADD 4u
#define WISP_HOST_ALL (WISP_HOST_DOT | WISP_HOST_DEPTHWISE | WISP_HOST_ADD)

/* wisp_dot_s8's arguments, in the import's order. */
struct wisp_dot_args {
  uint32_t out, out_step, pixels, input, pixel_step, rows, row_step, run_length;
  uint32_t filter, filter_step, filter_row_step, channels, records;
  int32_t in_zp, out_zp, act_min, act_max;
};

/* wisp_depthwise_s8's arguments, in the import's order. */
struct wisp_depthwise_args {
  uint32_t out, out_step, pixels, input, pixel_step, rows, columns, row_step, column_step;
  uint32_t filter, filter_step, filter_row_step, channels, records;
  int32_t in_zp, out_zp, act_min, act_max;
};

/* wisp_add_s8's arguments, in the import's order. */
struct wisp_add_args {
  uint32_t out, input1, input2, count;
  int32_t in1_zp, in2_zp, out_zp, left_shift, in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift, act_min, act_max;
};

/* What wisp_kernels() answers: the primitives built in, limited by the last
 * wisp_host_kernels_use(). The module asks once per load. */
uint32_t wisp_host_kernels(void);

/* Limits the primitives offered to the next loads to `mask` (all by
 * default), so one firmware can run a model both ways. */
void wisp_host_kernels_use(uint32_t mask);

/* The primitives: 0, or -1 when a range lies outside the `memory_bytes`
 * bytes of linear memory at `memory` (nothing is written; the engine traps). */
int wisp_host_dot_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_dot_args *a);
int wisp_host_depthwise_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_depthwise_args *a);
int wisp_host_add_s8(uint8_t *memory, uint32_t memory_bytes, const struct wisp_add_args *a);

/* The same with the arguments as an interpreter's stack slots (one uint64_t
 * per i32 argument, in order, as wasm3 passes them): both wasm3 hosts. Every
 * argument struct is all 32-bit fields, in the import's order. */
static inline void wisp_host_args_from_slots(void *args, unsigned bytes, const uint64_t *slots) {
  uint32_t *v = (uint32_t *)args;
  for (unsigned i = 0; i < bytes / sizeof *v; i++) v[i] = (uint32_t)slots[i];
}

static inline int wisp_host_dot_s8_slots(uint8_t *memory, uint32_t memory_bytes, const uint64_t *slots) {
  struct wisp_dot_args a;
  wisp_host_args_from_slots(&a, sizeof a, slots);
  return wisp_host_dot_s8(memory, memory_bytes, &a);
}

static inline int wisp_host_depthwise_s8_slots(uint8_t *memory, uint32_t memory_bytes, const uint64_t *slots) {
  struct wisp_depthwise_args a;
  wisp_host_args_from_slots(&a, sizeof a, slots);
  return wisp_host_depthwise_s8(memory, memory_bytes, &a);
}

static inline int wisp_host_add_s8_slots(uint8_t *memory, uint32_t memory_bytes, const uint64_t *slots) {
  struct wisp_add_args a;
  wisp_host_args_from_slots(&a, sizeof a, slots);
  return wisp_host_add_s8(memory, memory_bytes, &a);
}

#endif
