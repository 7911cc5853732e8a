/*
 * The wasm2c engine: the module translated ahead of time (wisp_module.c,
 * made at build time from build/wisp.wasm) over the static runtime. A trap
 * longjmps back here and becomes WISP_ERR_TRAP.
 */
#include <setjmp.h>

#include "engine.h"
#include "host_kernels.h"
#include "wisp.h"
#include "wisp_module.h"

extern jmp_buf wisp_trap_target;
extern int wisp_last_trap;

static Z_wisp_instance_t instance;

int engine_open(void) {
  if (setjmp(wisp_trap_target)) return WISP_ERR_TRAP;
  wasm_rt_init();
  Z_wisp_init_module();
  Z_wisp_instantiate(&instance, NULL, NULL);
  return WISP_OK;
}

/* The dispatch: one case per export of wisp_exports.h, calling wasm2c's
 * Z_wispZ_<export>(instance, arguments...). */
#define WISP_SELF m
#define WISP_ARG_I32(n) args[n].i32
#define WISP_ARG_F32(n) args[n].f32
#define WISP_CASE(id, name, call) \
  case WISP_EXPORT_##id: *result = (uint32_t)Z_wispZ_##name call; break;

int engine_call(enum wisp_export fn, const union wisp_value *args, uint32_t *result) {
  if (setjmp(wisp_trap_target)) return WISP_ERR_TRAP;
  Z_wisp_instance_t *m = &instance;
  switch (fn) {
    WISP_EXPORTS(WISP_CASE)
    default: return WISP_ERR_ENGINE;
  }
  return WISP_OK;
}

/* The module's import env.wisp_read: a bad range is a trap, never a stray copy. */
void Z_envZ_wisp_read(struct Z_env_instance_t *env, u32 dst, u32 offset, u32 bytes) {
  (void)env;
  if (wisp_host_read(dst, offset, bytes) != 0) wasm_rt_trap(WASM_RT_TRAP_OOB);
}

uint8_t *engine_memory(uint32_t *bytes) {
  wasm_rt_memory_t *memory = Z_wispZ_memory(&instance);
  *bytes = memory->size;
  return memory->data;
}

const char *engine_failure(void) { return "the Wisp module trapped"; }

/* The host kernels (host_kernels.h): a range outside linear memory is a trap. */
u32 Z_wisp_kernelsZ_wisp_kernels(struct Z_wisp_kernels_instance_t *k) {
  (void)k;
  return wisp_host_kernels();
}

void Z_wisp_kernelsZ_wisp_dot_s8(struct Z_wisp_kernels_instance_t *k, u32 out, u32 out_step, u32 pixels, u32 input, u32 pixel_step, u32 rows, u32 row_step,
                                 u32 run_length, u32 filter, u32 filter_step, u32 filter_row_step, u32 channels, u32 records, u32 in_zp, u32 out_zp,
                                 u32 act_min, u32 act_max) {
  const struct wisp_dot_args a = {out, out_step, pixels, input, pixel_step, rows, row_step, run_length, filter, filter_step, filter_row_step, channels, records,
                                  (int32_t)in_zp, (int32_t)out_zp, (int32_t)act_min, (int32_t)act_max};
  uint32_t bytes;
  uint8_t *memory = engine_memory(&bytes);
  (void)k;
  if (wisp_host_dot_s8(memory, bytes, &a) != 0) wasm_rt_trap(WASM_RT_TRAP_OOB);
}

void Z_wisp_kernelsZ_wisp_depthwise_s8(struct Z_wisp_kernels_instance_t *k, u32 out, u32 out_step, u32 pixels, u32 input, u32 pixel_step, u32 rows, u32 columns,
                                       u32 row_step, u32 column_step, u32 filter, u32 filter_step, u32 filter_row_step, u32 channels, u32 records, u32 in_zp,
                                       u32 out_zp, u32 act_min, u32 act_max) {
  const struct wisp_depthwise_args a = {out, out_step, pixels, input, pixel_step, rows, columns, row_step, column_step, filter, filter_step, filter_row_step,
                                        channels, records, (int32_t)in_zp, (int32_t)out_zp, (int32_t)act_min, (int32_t)act_max};
  uint32_t bytes;
  uint8_t *memory = engine_memory(&bytes);
  (void)k;
  if (wisp_host_depthwise_s8(memory, bytes, &a) != 0) wasm_rt_trap(WASM_RT_TRAP_OOB);
}

void Z_wisp_kernelsZ_wisp_add_s8(struct Z_wisp_kernels_instance_t *k, u32 out, u32 input1, u32 input2, u32 count, u32 in1_zp, u32 in2_zp, u32 out_zp,
                                 u32 left_shift, u32 in1_mult, u32 in1_shift, u32 in2_mult, u32 in2_shift, u32 out_mult, u32 out_shift, u32 act_min,
                                 u32 act_max) {
  const struct wisp_add_args a = {out, input1, input2, count, (int32_t)in1_zp, (int32_t)in2_zp, (int32_t)out_zp, (int32_t)left_shift, (int32_t)in1_mult,
                                  (int32_t)in1_shift, (int32_t)in2_mult, (int32_t)in2_shift, (int32_t)out_mult, (int32_t)out_shift, (int32_t)act_min,
                                  (int32_t)act_max};
  uint32_t bytes;
  uint8_t *memory = engine_memory(&bytes);
  (void)k;
  if (wisp_host_add_s8(memory, bytes, &a) != 0) wasm_rt_trap(WASM_RT_TRAP_OOB);
}
