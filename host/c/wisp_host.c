/*
 * The Wisp C API (wisp.h) over any engine (engine.h): copies the model into
 * linear memory, drives the exports and keeps the last error.
 */
#include <string.h>

#include "engine.h"
#include "wisp.h"

static int opened;
/* Where a streamed model's bytes come from: flash (wisp_load_flash) or the
 * application's reader (wisp_load_reader). */
static wisp_read_fn model_reader;
static void *model_context;
static size_t model_size;
static int last_code;
static char message[161];

static void set_message(const char *text) {
  strncpy(message, text, sizeof message - 1);
  message[sizeof message - 1] = 0;
}

/* Records a code; a module error's message comes from the module itself. */
static int result(int code) {
  last_code = code;
  if (code == WISP_OK) {
    message[0] = 0;
  } else if (code == WISP_ERR_TRAP || code == WISP_ERR_ENGINE) {
    set_message(engine_failure());
  } else {
    uint32_t at = 0, n = 0, size = 0;
    uint8_t *memory = engine_memory(&size);
    if (wisp_call_error_ptr(&at) == WISP_OK && wisp_call_error_length(&n) == WISP_OK &&
        at <= size && n <= size - at) {
      if (n >= sizeof message) n = sizeof message - 1;
      memcpy(message, memory + at, n);
      message[n] = 0;
    } else {
      set_message("unknown error");
    }
  }
  return code;
}

/* Calls an export without arguments that returns a value (not a code). */
static uint32_t value_of(enum wisp_export fn) {
  uint32_t value = 0;
  return opened && engine_call(fn, 0, &value) == WISP_OK ? value : 0;
}

int wisp_open(void) {
  if (!opened) {
    int code = engine_open();
    if (code != WISP_OK) return result(code);
    opened = 1;
  }
  return result(WISP_OK);
}

int wisp_load(const uint8_t *model, size_t size) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  if (size > UINT32_MAX - 64) return result(WISP_ERR_BAD_HEADER);
  uint32_t at = 0, status = 0, memory_bytes = 0;
  int code = wisp_call_model_buffer((uint32_t)size, &at);
  if (code != WISP_OK) return result(code);
  uint8_t *memory = engine_memory(&memory_bytes);
  if (at == 0 || at > memory_bytes || size > memory_bytes - at) {
    last_code = WISP_ERR_OUT_OF_MEMORY;
    set_message("not enough linear memory for the model");
    return last_code;
  }
  memcpy(memory + at, model, size);
  code = wisp_call_load(at, (uint32_t)size, &status);
  return result(code != WISP_OK ? code : (int)status);
}

int wisp_read_memory(void *context, uint32_t offset, void *dst, uint32_t bytes) {
  memcpy(dst, (const uint8_t *)context + offset, bytes);
  return 0;
}

int wisp_load_flash(const uint8_t *model, size_t size) { return wisp_load_reader(wisp_read_memory, (void *)model, size, 0); }

int wisp_load_reader(wisp_read_fn read, void *context, size_t size, size_t window_bytes) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  if (size > UINT32_MAX || window_bytes > UINT32_MAX) return result(WISP_ERR_BAD_HEADER);
  model_reader = read;
  model_context = context;
  model_size = size;
  uint32_t status = 0;
  int code = wisp_call_load_streamed((uint32_t)size, (uint32_t)window_bytes, &status);
  return result(code != WISP_OK ? code : (int)status);
}

int wisp_host_read(uint32_t dst, uint32_t offset, uint32_t bytes) {
  uint32_t size = 0;
  uint8_t *memory = engine_memory(&size);
  if (!model_reader || offset > model_size || bytes > model_size - offset || dst > size || bytes > size - dst) return -1;
  return model_reader(model_context, offset, memory + dst, bytes) == 0 ? 0 : -1;
}

int wisp_invoke(void) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  uint32_t status = 0;
  int code = wisp_call_invoke(&status);
  return result(code != WISP_OK ? code : (int)status);
}

int wisp_reset(void) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  uint32_t status = 0;
  int code = wisp_call_reset(&status);
  return result(code != WISP_OK ? code : (int)status);
}

/* A tensor's place in linear memory, or NULL when none is loaded. */
static uint8_t *tensor(enum wisp_export ptr_fn, enum wisp_export bytes_fn, size_t *bytes) {
  uint32_t n = value_of(bytes_fn), at = value_of(ptr_fn), size = 0;
  uint8_t *memory = opened ? engine_memory(&size) : NULL;
  if (n == 0 || memory == NULL || at > size || n > size - at) return NULL;
  if (bytes) *bytes = n;
  return memory + at;
}

int8_t *wisp_input(size_t *bytes) { return (int8_t *)tensor(WISP_EXPORT_INPUT_PTR, WISP_EXPORT_INPUT_BYTES, bytes); }
const int8_t *wisp_output(size_t *bytes) { return (const int8_t *)tensor(WISP_EXPORT_OUTPUT_PTR, WISP_EXPORT_OUTPUT_BYTES, bytes); }
int wisp_error_code(void) { return last_code; }
const char *wisp_error_message(void) { return message; }
size_t wisp_memory_bytes(void) { return value_of(WISP_EXPORT_MEMORY_USED); }
size_t wisp_arena_bytes(void) { return value_of(WISP_EXPORT_ARENA_BYTES); }

int wisp_listen_open(float input_scale, int input_zero_point, int frames, int bins) {
  if (!opened) return result(WISP_ERR_NOT_LOADED);
  uint32_t status = 0;
  int code = wisp_call_lfbe_init(input_scale, input_zero_point, frames, bins, &status);
  return result(code != WISP_OK ? code : (int)status);
}

int wisp_listen_incremental(void) {
  if (!opened) return -result(WISP_ERR_NOT_LOADED);
  uint32_t status = 0;
  int code = wisp_call_stream_incremental(&status);
  if (code != WISP_OK) return -result(code);
  if ((int32_t)status < 0) return -result(-(int32_t)status);
  result(WISP_OK);
  return (int)status;
}

int wisp_listen_hop(const int16_t *samples, float output_scale, int output_zero_point) {
  uint32_t at = value_of(WISP_EXPORT_STREAM_HOP_PTR), size = 0, status = 0;
  uint8_t *memory = engine_memory(&size);
  if (at == 0 || at > size || WISP_HOP_SAMPLES * 2 > size - at) return -result(WISP_ERR_NOT_LOADED);
  memcpy(memory + at, samples, WISP_HOP_SAMPLES * 2);
  int code = wisp_call_stream_push(output_scale, output_zero_point, &status);
  if (code != WISP_OK) return -result(code);
  if ((int32_t)status < 0) return -result(-(int32_t)status);
  return (int)status;
}
