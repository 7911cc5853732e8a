/*
 * The Wisp C API over the module translated by wasm2c (wisp_module.c, made
 * at build time from build/wisp.wasm) and the static runtime.
 */
#include <setjmp.h>
#include <string.h>

#include "wisp.h"
#include "wisp_module.h"

extern jmp_buf wisp_trap_target;
extern int wisp_last_trap;

static Z_wisp_instance_t instance;
static int opened;
static int last_code;
static char message[161];

static uint8_t *memory_at(uint32_t offset) { return Z_wispZ_memory(&instance)->data + offset; }

/* Records a code; for module errors copies the module's message. */
static int result(int code) {
  last_code = code;
  if (code == WISP_OK) {
    message[0] = 0;
  } else if (code == WISP_ERR_TRAP) {
    strcpy(message, "the Wisp module trapped");
  } else {
    uint32_t n = Z_wispZ_wisp_error_length(&instance);
    if (n >= sizeof message) n = sizeof message - 1;
    memcpy(message, memory_at(Z_wispZ_wisp_error_ptr(&instance)), n);
    message[n] = 0;
  }
  return code;
}

/* Every entry into the module goes through here, so a trap returns an error. */
#define GUARDED(expr) (setjmp(wisp_trap_target) ? result(WISP_ERR_TRAP) : result((int)(expr)))

int wisp_open(void) {
  if (!opened) {
    wasm_rt_init();
    Z_wisp_init_module();
    Z_wisp_instantiate(&instance);
    opened = 1;
  }
  return result(WISP_OK);
}

static int copy_and_load(const uint8_t *model, size_t size) {
  uint32_t at = Z_wispZ_wisp_model_buffer(&instance, (uint32_t)size);
  if (at == 0) {
    strcpy(message, "not enough linear memory for the model");
    return WISP_ERR_OUT_OF_MEMORY;
  }
  memcpy(memory_at(at), model, size);
  return (int)Z_wispZ_wisp_load(&instance, at, (uint32_t)size);
}

int wisp_load(const uint8_t *model, size_t size) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  if (size > UINT32_MAX) return result(WISP_ERR_BAD_HEADER);
  if (setjmp(wisp_trap_target)) return result(WISP_ERR_TRAP);
  int code = copy_and_load(model, size);
  if (code == WISP_ERR_OUT_OF_MEMORY && message[0]) {
    last_code = code;
    return code;
  }
  return result(code);
}

int wisp_invoke(void) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  return GUARDED(Z_wispZ_wisp_invoke(&instance));
}

int8_t *wisp_input(size_t *bytes) {
  if (!opened || Z_wispZ_wisp_input_bytes(&instance) == 0) return NULL;
  if (bytes) *bytes = Z_wispZ_wisp_input_bytes(&instance);
  return (int8_t *)memory_at(Z_wispZ_wisp_input_ptr(&instance));
}

const int8_t *wisp_output(size_t *bytes) {
  if (!opened || Z_wispZ_wisp_output_bytes(&instance) == 0) return NULL;
  if (bytes) *bytes = Z_wispZ_wisp_output_bytes(&instance);
  return (const int8_t *)memory_at(Z_wispZ_wisp_output_ptr(&instance));
}

int wisp_error_code(void) { return last_code; }
const char *wisp_error_message(void) { return message; }

size_t wisp_memory_bytes(void) {
  if (!opened) return 0;
  return Z_wispZ_wisp_arena_ptr(&instance) + Z_wispZ_wisp_arena_bytes(&instance);
}

size_t wisp_arena_bytes(void) { return opened ? Z_wispZ_wisp_arena_bytes(&instance) : 0; }
