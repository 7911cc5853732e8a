/* The static linear memory of wasm_rt_static.c, shared with the translated
 * module so that its bounds checks compare against link-time constants: the
 * buffer's address, and its size as the absolute symbol wisp_memory_limit
 * (the link defines it to WISP_MEMORY_BYTES). */
#ifndef WASM_RT_STATIC_H
#define WASM_RT_STATIC_H
#include <stdint.h>

extern uint8_t wisp_linear_memory[];
extern const char wisp_memory_limit[];
#define WISP_MEMORY_LIMIT ((uintptr_t)wisp_memory_limit)

#endif
