/*
 * wisp_train.h over the trainer module translated by wasm2c
 * (wisp_train_module.c, made by host/c/train/Makefile). Its linear memory is
 * the static buffer here; a trap longjmps back to the call that entered the
 * module and becomes WISP_TRAIN_ERR_TRAP.
 */
#include <setjmp.h>
#include <string.h>

#include "wisp_train.h"
#include "wisp_train_module.h"

#ifndef WISP_TRAIN_MEMORY_BYTES
#define WISP_TRAIN_MEMORY_BYTES (128u * 1024u)
#endif

uint8_t wisp_train_linear_memory[WISP_TRAIN_MEMORY_BYTES] __attribute__((aligned(16)));
const uint32_t wisp_train_linear_memory_bytes = WISP_TRAIN_MEMORY_BYTES;
extern jmp_buf wisp_trap_target;

static Z_wisp_train_instance_t instance;
static int opened, last_status;
static uint32_t dims[4]; /* in, hidden, classes, channel-record bytes */
static double units[4];

#define MAGIC 0x44454857u /* "WHED" */
#define PARAM_WORDS 21u
#define HEADER (20u + 4u * PARAM_WORDS + 32u)
#define M (&instance)
#define CALL(fn, ...) Z_wisp_trainZ_wisp_train_##fn(M, ##__VA_ARGS__)

/* The module never streams a model: its copy of the inference runtime's
 * import is a trap (the Makefile renames it so it stays apart from libwisp's). */
void Z_wisp_train_envZ_wisp_read(struct Z_env_instance_t *env, u32 dst, u32 offset, u32 bytes) {
  (void)env, (void)dst, (void)offset, (void)bytes;
  wasm_rt_trap(WASM_RT_TRAP_OOB);
}

/* Nor does it use host kernels: it asks for none, so the primitives never run. */
u32 Z_wisp_train_kernels(struct Z_wisp_kernels_instance_t *k) {
  (void)k;
  return 0;
}

void Z_wisp_train_dot_s8(struct Z_wisp_kernels_instance_t *k, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5, u32 a6, u32 a7, u32 a8, u32 a9, u32 a10,
                         u32 a11, u32 a12, u32 a13, u32 a14, u32 a15, u32 a16) {
  (void)k, (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8, (void)a9, (void)a10, (void)a11, (void)a12, (void)a13,
      (void)a14, (void)a15, (void)a16;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

void Z_wisp_train_depthwise_s8(struct Z_wisp_kernels_instance_t *k, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5, u32 a6, u32 a7, u32 a8, u32 a9,
                               u32 a10, u32 a11, u32 a12, u32 a13, u32 a14, u32 a15, u32 a16, u32 a17) {
  (void)k, (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8, (void)a9, (void)a10, (void)a11, (void)a12, (void)a13,
      (void)a14, (void)a15, (void)a16, (void)a17;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

void Z_wisp_train_add_s8(struct Z_wisp_kernels_instance_t *k, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5, u32 a6, u32 a7, u32 a8, u32 a9, u32 a10,
                         u32 a11, u32 a12, u32 a13, u32 a14, u32 a15) {
  (void)k, (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8, (void)a9, (void)a10, (void)a11, (void)a12, (void)a13,
      (void)a14, (void)a15;
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

/* The parts of a head image, as head-image.ts lays them out. */
struct layout {
  uint32_t w1, w2, r1, r2, rec1, rec2, residual, parameters, bytes;
};

static struct layout layout_of(const uint32_t d[4]) {
  struct layout l;
  uint32_t n1 = d[1] * d[0], n2 = d[2] * d[1];
  l.parameters = n1 + n2 + d[1] + d[2];
  l.w1 = HEADER;
  l.w2 = l.w1 + n1;
  l.r1 = (l.w2 + n2 + 3u) & ~3u;
  l.r2 = l.r1 + 4u * n1;
  l.rec1 = l.r2 + 4u * n2;
  l.rec2 = l.rec1 + d[3] * d[1];
  l.residual = l.rec2 + d[3] * d[2];
  l.bytes = l.residual + 4u * l.parameters;
  return l;
}

static uint32_t u32_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Where linear memory address `at` holds `bytes` bytes, or NULL. */
static uint8_t *memory_at(uint32_t at, uint32_t bytes) {
  wasm_rt_memory_t *memory = Z_wisp_trainZ_memory(M);
  return at <= memory->size && bytes <= memory->size - at ? memory->data + at : NULL;
}

/* The image's parts that live in the module's memory, in image order. */
struct part {
  uint32_t ptr, offset, bytes;
};

static size_t parts_of(const struct layout *l, struct part out[8]) {
  const uint32_t n1 = dims[1] * dims[0], n2 = dims[2] * dims[1];
  const struct part parts[8] = {
      {CALL(params_ptr), 20u, 4u * PARAM_WORDS},        {CALL(weights1_ptr), l->w1, n1},
      {CALL(weights2_ptr), l->w2, n2},                  {CALL(residuals1_ptr), l->r1, 4u * n1},
      {CALL(residuals2_ptr), l->r2, 4u * n2},           {CALL(records1_ptr), l->rec1, dims[3] * dims[1]},
      {CALL(records2_ptr), l->rec2, dims[3] * dims[2]}, {CALL(residual_ptr), l->residual, 4u * l->parameters},
  };
  memcpy(out, parts, sizeof parts);
  return 8;
}

/* Copies an image into the module: the parameter words first, then
 * prepare (it writes the records' multipliers), then the rest. */
static int load_parts(const uint8_t *image, const struct layout *l) {
  struct part parts[8];
  size_t count = parts_of(l, parts);
  for (size_t i = 0; i < count; i++) {
    uint8_t *at = memory_at(parts[i].ptr, parts[i].bytes);
    if (!at) return WISP_TRAIN_ERR_MEMORY;
    memcpy(at, image + parts[i].offset, parts[i].bytes);
    if (i == 0 && CALL(prepare) != 0) return WISP_TRAIN_ERR_IMAGE;
  }
  return WISP_TRAIN_OK;
}

int wisp_train_open(const uint8_t *image, size_t bytes) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  if (!image || bytes < HEADER || u32_at(image) != MAGIC) return WISP_TRAIN_ERR_IMAGE;
  for (int i = 0; i < 4; i++) dims[i] = u32_at(image + 4 + 4 * i);
  if (dims[3] == 0 || dims[3] > 64 || dims[0] > 4096 || dims[1] > 4096 || dims[2] > 256) return WISP_TRAIN_ERR_IMAGE;
  struct layout l = layout_of(dims);
  if (l.bytes != bytes) return WISP_TRAIN_ERR_IMAGE;
  if (!opened) {
    wasm_rt_init();
    Z_wisp_train_init_module();
    Z_wisp_train_instantiate(M, NULL, NULL);
    opened = 1;
  }
  int status = (int)CALL(init, dims[0], dims[1], dims[2]);
  if (status != 0) return status == 6 ? WISP_TRAIN_ERR_MEMORY : WISP_TRAIN_ERR_IMAGE;
  memcpy(units, image + 20u + 4u * PARAM_WORDS, sizeof units);
  if ((status = load_parts(image, &l)) != WISP_TRAIN_OK) return status;
  CALL(units, units[0], units[1], units[2], units[3]);
  return WISP_TRAIN_OK;
}

int wisp_train_begin_round(void) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  return (int)CALL(begin_round);
}

static int set_input(const int8_t *features) {
  uint8_t *input = opened ? memory_at(CALL(input_ptr), dims[0]) : NULL;
  if (!input) return WISP_TRAIN_ERR_IMAGE;
  memcpy(input, features, dims[0]);
  return WISP_TRAIN_OK;
}

int wisp_train_sample(const int8_t *features, int label) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  int status = set_input(features);
  return status != WISP_TRAIN_OK ? status : (int)CALL(accumulate, (u32)label);
}

int wisp_train_step(int *samples) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  int n = (int)CALL(update);
  if (n < 0) return -n;
  if (samples) *samples = n;
  return WISP_TRAIN_OK;
}

int wisp_train_predict(const int8_t *features, int *label) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  int status = set_input(features);
  if (status != WISP_TRAIN_OK) return status;
  *label = (int)CALL(predict);
  return WISP_TRAIN_OK;
}

int wisp_train_export(int bits, double topk, int groups, uint32_t model_version, uint32_t client_id, uint32_t round,
                      uint32_t sample_count, const uint8_t **message, size_t *bytes) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  int32_t n = (int32_t)CALL(export, (u32)bits, topk, (u32)groups, model_version, client_id, round, sample_count);
  if (n == -7) return WISP_TRAIN_ERR_IMAGE;
  if (n < 0) return WISP_TRAIN_ERR_OPTIONS;
  const uint8_t *at = memory_at(CALL(message_ptr), (uint32_t)n);
  if (!at) return WISP_TRAIN_ERR_MEMORY;
  *message = at;
  *bytes = (size_t)n;
  return WISP_TRAIN_OK;
}

int wisp_train_revert(void) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  return (int)CALL(revert);
}

int wisp_train_apply(const uint8_t *message, size_t bytes) {
  if (setjmp(wisp_trap_target)) return WISP_TRAIN_ERR_TRAP;
  if (!opened) return WISP_TRAIN_ERR_IMAGE;
  uint32_t capacity = CALL(message_capacity);
  uint8_t *at = memory_at(CALL(message_ptr), capacity);
  if (!at) return WISP_TRAIN_ERR_MEMORY;
  last_status = bytes > capacity ? 1 : 0;
  if (last_status == 0) {
    if (message != at) memcpy(at, message, bytes);
    last_status = (int)CALL(apply, (u32)bytes);
  }
  return last_status == 0 ? WISP_TRAIN_OK : WISP_TRAIN_ERR_MESSAGE;
}

int wisp_train_last_status(void) { return last_status; }

size_t wisp_train_image_bytes(void) { return opened ? layout_of(dims).bytes : 0; }

size_t wisp_train_image(wisp_train_write_fn write, void *context) {
  if (!opened) return 0;
  if (setjmp(wisp_trap_target)) return 0;
  struct layout l = layout_of(dims);
  struct part parts[8];
  size_t count = parts_of(&l, parts);
  uint8_t header[20];
  const uint32_t words[5] = {MAGIC, dims[0], dims[1], dims[2], dims[3]};
  for (int i = 0; i < 5; i++)
    for (int b = 0; b < 4; b++) header[4 * i + b] = (uint8_t)(words[i] >> (8 * b));
  write(context, header, sizeof header);
  uint32_t at = sizeof header;
  static const uint8_t zeros[4];
  for (size_t i = 0; i < count; i++) {
    const uint8_t *bytes = memory_at(parts[i].ptr, parts[i].bytes);
    if (!bytes) return 0;
    if (parts[i].offset > at) write(context, zeros, parts[i].offset - at); /* padding before r1 */
    write(context, bytes, parts[i].bytes);
    at = parts[i].offset + parts[i].bytes;
    if (i == 0) {
      write(context, (const uint8_t *)units, sizeof units); /* the units follow the parameter words */
      at += sizeof units;
    }
  }
  return at;
}

uint8_t *wisp_train_message_buffer(size_t *capacity) {
  if (!opened) return NULL;
  if (setjmp(wisp_trap_target)) return NULL;
  uint32_t bytes = CALL(message_capacity);
  uint8_t *at = memory_at(CALL(message_ptr), bytes);
  if (at && capacity) *capacity = bytes;
  return at;
}

/* The trainer's region starts with its parameter words and runs region_bytes. */
size_t wisp_train_memory_used(void) { return opened ? (size_t)CALL(params_ptr) + CALL(region_bytes) : 0; }
