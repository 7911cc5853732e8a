/* The static linear memory of wasm_rt_static.c, shared with the translated
 * module so that its bounds checks compare against link-time constants: the
 * buffer's address, and its size as the absolute symbol wisp_memory_limit
 * (the link defines it to WISP_MEMORY_BYTES). A second module linked beside
 * it has a buffer of its own: its translation defines WISP_LINEAR_MEMORY and
 * WISP_MEMORY_LIMIT_SYMBOL before including this (aot/wasm2c-static.mjs;
 * the trainer's are wisp_train_linear_memory and wisp_train_memory_limit). */
#ifndef WASM_RT_STATIC_H
#define WASM_RT_STATIC_H
#include <stdint.h>

#include "wasm-rt.h"

#ifndef WISP_LINEAR_MEMORY
#define WISP_LINEAR_MEMORY wisp_linear_memory
#define WISP_MEMORY_LIMIT_SYMBOL wisp_memory_limit
#endif
extern uint8_t WISP_LINEAR_MEMORY[];
extern const char WISP_MEMORY_LIMIT_SYMBOL[];
#define WISP_MEMORY_LIMIT ((uintptr_t)WISP_MEMORY_LIMIT_SYMBOL)
/* The buffer's size also as a variable, <buffer>_bytes, defined beside the
 * buffer: an absolute symbol's address is relocated in a position-independent
 * executable, a variable's value is not. */
#define WISP_PASTE(a, b) a##b
#define WISP_PASTE2(a, b) WISP_PASTE(a, b)
#define WISP_LINEAR_MEMORY_BYTES WISP_PASTE2(WISP_LINEAR_MEMORY, _bytes)
extern const uint32_t WISP_LINEAR_MEMORY_BYTES;

/* A module's memory over its static buffer of `bytes` bytes (the
 * translation's allocate and grow calls, rewritten to these). */
void wisp_static_memory_allocate(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages, uint8_t *buffer, uint32_t bytes);
uint32_t wisp_static_memory_grow(wasm_rt_memory_t *mem, uint32_t delta, uint32_t bytes);
#define WISP_ALLOCATE_MEMORY(mem, initial, max) wisp_static_memory_allocate((mem), (initial), (max), WISP_LINEAR_MEMORY, WISP_LINEAR_MEMORY_BYTES)
#define WISP_GROW_MEMORY(mem, delta) wisp_static_memory_grow((mem), (delta), WISP_LINEAR_MEMORY_BYTES)

/* A load of `size` bytes at `addr` of linear memory. WebAssembly allows any
 * alignment, so the translated code copies with memcpy. Where the compiler
 * cannot assume fast unaligned loads (Armv6-M: Cortex-M0 and M0+; RISC-V)
 * that becomes byte loads; there an aligned address (the kernels' word loads
 * are) takes one word load. */
#if defined(__ARM_ARCH_6M__) || defined(__riscv)
#define WISP_LOAD(dst, addr, size)                                                                  \
  do {                                                                                              \
    if ((size) > 1 && ((addr) & ((size)-1)) == 0)                                                   \
      __builtin_memcpy((dst), __builtin_assume_aligned(&WISP_LINEAR_MEMORY[addr], (size)), (size)); \
    else                                                                                            \
      __builtin_memcpy((dst), &WISP_LINEAR_MEMORY[addr], (size));                                   \
  } while (0)
#else
#define WISP_LOAD(dst, addr, size) __builtin_memcpy((dst), &WISP_LINEAR_MEMORY[addr], (size))
#endif

#endif
