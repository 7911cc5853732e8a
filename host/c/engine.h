/*
 * What an engine gives the C host (wisp_host.c): calls into the module's
 * exports and access to its linear memory. aot/ implements it over wasm2c's
 * output, wasm3/ over wasm3's public API. The exports, their enum and
 * engine_call() come from wisp_exports.h, generated from assembly/abi.json
 * (make -C host/c, or npm run build).
 */
#ifndef WISP_ENGINE_H
#define WISP_ENGINE_H

#include <stdint.h>

#include "wisp_exports.h"

/* 0 on success, else a WISP_ERR_* code; engine_failure() then says why. */
int engine_open(void);
uint8_t *engine_memory(uint32_t *bytes);
const char *engine_failure(void);

/* The engines' env.wisp_read import calls this: copy `bytes` bytes at
 * `offset` of the flash-resident model into linear memory at `dst`.
 * Returns 0, or -1 when the range is outside the model or the memory. */
int wisp_host_read(uint32_t dst, uint32_t offset, uint32_t bytes);

#endif
