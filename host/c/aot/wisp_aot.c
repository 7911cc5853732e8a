/*
 * The wasm2c engine: the module translated ahead of time (wisp_module.c,
 * made at build time from build/wisp.wasm) over the static runtime. A trap
 * longjmps back here and becomes WISP_ERR_TRAP.
 */
#include <setjmp.h>

#include "engine.h"
#include "wisp.h"
#include "wisp_module.h"

extern jmp_buf wisp_trap_target;
extern int wisp_last_trap;

static Z_wisp_instance_t instance;

int engine_open(void) {
  if (setjmp(wisp_trap_target)) return WISP_ERR_TRAP;
  wasm_rt_init();
  Z_wisp_init_module();
  Z_wisp_instantiate(&instance, NULL);
  return WISP_OK;
}

int engine_call(enum wisp_export fn, uint32_t a, uint32_t b, float x, uint32_t *result) {
  if (setjmp(wisp_trap_target)) return WISP_ERR_TRAP;
  Z_wisp_instance_t *m = &instance;
  switch (fn) {
    case WISP_EXPORT_MODEL_BUFFER: *result = Z_wispZ_wisp_model_buffer(m, a); break;
    case WISP_EXPORT_LOAD: *result = Z_wispZ_wisp_load(m, a, b); break;
    case WISP_EXPORT_INVOKE: *result = Z_wispZ_wisp_invoke(m); break;
    case WISP_EXPORT_INPUT_PTR: *result = Z_wispZ_wisp_input_ptr(m); break;
    case WISP_EXPORT_INPUT_BYTES: *result = Z_wispZ_wisp_input_bytes(m); break;
    case WISP_EXPORT_OUTPUT_PTR: *result = Z_wispZ_wisp_output_ptr(m); break;
    case WISP_EXPORT_OUTPUT_BYTES: *result = Z_wispZ_wisp_output_bytes(m); break;
    case WISP_EXPORT_ARENA_PTR: *result = Z_wispZ_wisp_arena_ptr(m); break;
    case WISP_EXPORT_ARENA_BYTES: *result = Z_wispZ_wisp_arena_bytes(m); break;
    case WISP_EXPORT_ERROR_PTR: *result = Z_wispZ_wisp_error_ptr(m); break;
    case WISP_EXPORT_ERROR_LENGTH: *result = Z_wispZ_wisp_error_length(m); break;
    case WISP_EXPORT_LOAD_STREAMED: *result = Z_wispZ_wisp_load_streamed(m, a, b); break;
    case WISP_EXPORT_MEMORY_USED: *result = Z_wispZ_wisp_memory_used(m); break;
    case WISP_EXPORT_LFBE_INIT: *result = Z_wispZ_wisp_lfbe_init(m, x, a); break;
    case WISP_EXPORT_STREAM_HOP_PTR: *result = Z_wispZ_wisp_stream_hop_ptr(m); break;
    case WISP_EXPORT_STREAM_PUSH: *result = Z_wispZ_wisp_stream_push(m, x, a); break;
    case WISP_EXPORT_STREAM_INCREMENTAL: *result = Z_wispZ_wisp_stream_incremental(m); break;
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
