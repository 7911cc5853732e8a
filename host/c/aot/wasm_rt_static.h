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

/* A load of `size` bytes at `addr` of linear memory. WebAssembly allows any
 * alignment, so the translated code copies with memcpy. Where the compiler
 * cannot assume fast unaligned loads (Armv6-M: Cortex-M0 and M0+; RISC-V)
 * that becomes byte loads; there an aligned address (the kernels' word loads
 * are) takes one word load. */
#if defined(__ARM_ARCH_6M__) || defined(__riscv)
#define WISP_LOAD(dst, addr, size)                                                                  \
  do {                                                                                              \
    if ((size) > 1 && ((addr) & ((size)-1)) == 0)                                                   \
      __builtin_memcpy((dst), __builtin_assume_aligned(&wisp_linear_memory[addr], (size)), (size)); \
    else                                                                                            \
      __builtin_memcpy((dst), &wisp_linear_memory[addr], (size));                                   \
  } while (0)
#else
#define WISP_LOAD(dst, addr, size) __builtin_memcpy((dst), &wisp_linear_memory[addr], (size))
#endif

#endif
