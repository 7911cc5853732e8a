/*
 * What an engine gives the C host (wisp_host.c): calls into the module's
 * exports and access to its linear memory. aot/ implements it over wasm2c's
 * output, wasm3/ over wasm3's public API.
 */
#ifndef WISP_ENGINE_H
#define WISP_ENGINE_H

#include <stdint.h>

enum wisp_export {
  WISP_EXPORT_MODEL_BUFFER, /* (bytes) -> ptr */
  WISP_EXPORT_LOAD,         /* (ptr, length) -> code */
  WISP_EXPORT_INVOKE,       /* () -> code */
  WISP_EXPORT_INPUT_PTR,
  WISP_EXPORT_INPUT_BYTES,
  WISP_EXPORT_OUTPUT_PTR,
  WISP_EXPORT_OUTPUT_BYTES,
  WISP_EXPORT_ARENA_PTR,
  WISP_EXPORT_ARENA_BYTES,
  WISP_EXPORT_ERROR_PTR,
  WISP_EXPORT_ERROR_LENGTH,
  WISP_EXPORT_LOAD_STREAMED, /* (length, window bytes) -> code; reads through wisp_host_read */
  WISP_EXPORT_MEMORY_USED,
  WISP_EXPORT_LFBE_INIT,     /* (scale as x, zero point) -> code */
  WISP_EXPORT_STREAM_HOP_PTR,
  WISP_EXPORT_STREAM_PUSH,   /* (output scale as x, output zero point) -> 0, 1, 2 or -code */
  WISP_EXPORT_STREAM_INCREMENTAL, /* () -> cached ops, 0, or -code */
  WISP_EXPORT_COUNT
};

/* 0 on success, else a WISP_ERR_* code; engine_failure() then says why. */
int engine_open(void);
/* Integer arguments go in a and b; the exports that take a float get it in x. */
int engine_call(enum wisp_export fn, uint32_t a, uint32_t b, float x, uint32_t *result);
uint8_t *engine_memory(uint32_t *bytes);
const char *engine_failure(void);

/* The engines' env.wisp_read import calls this: copy `bytes` bytes at
 * `offset` of the flash-resident model into linear memory at `dst`.
 * Returns 0, or -1 when the range is outside the model or the memory. */
int wisp_host_read(uint32_t dst, uint32_t offset, uint32_t bytes);

#endif
