/*
 * A small wasm2c runtime for bare metal: one linear memory in a static
 * buffer of WISP_MEMORY_BYTES (no malloc, no mmap, no signals), and any
 * other module's in a static buffer its own glue defines (the trainer's:
 * host/c/train/wisp_train_aot.c). Every access
 * is bounds-checked against that buffer (see withStaticMemoryChecks in
 * host/boards/build.ts); a trap longjmps back to the API call that entered
 * the module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

#include "wasm-rt.h"
#include "wasm_rt_static.h"

#ifndef WISP_MEMORY_BYTES
#define WISP_MEMORY_BYTES (256u * 1024u)
#endif

#define PAGE_BYTES 65536u

uint8_t wisp_linear_memory[WISP_MEMORY_BYTES] __attribute__((aligned(16)));
const uint32_t wisp_linear_memory_bytes = WISP_MEMORY_BYTES;
static int initialized;
jmp_buf wisp_trap_target;
int wisp_last_trap;

uint32_t wasm_rt_call_stack_depth;

void wasm_rt_init(void) { initialized = 1; }
bool wasm_rt_is_initialized(void) { return initialized != 0; }
void wasm_rt_free(void) { initialized = 0; }

void wasm_rt_trap(wasm_rt_trap_t code) {
  wisp_last_trap = (int)code;
  wasm_rt_call_stack_depth = 0;
  longjmp(wisp_trap_target, 1);
}

/* Function types are compared by index only; the module has no call_indirect. */
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  static uint32_t next;
  (void)params;
  (void)results;
  return next++;
}

/* The capacity is what the static buffer holds; memory.size still counts
 * whole pages, and every access is checked against the bytes that exist. */
static void set_pages(wasm_rt_memory_t *mem, uint32_t pages, uint32_t bytes) {
  uint64_t size = (uint64_t)pages * PAGE_BYTES;
  mem->pages = pages;
  mem->size = size < bytes ? (uint32_t)size : (uint32_t)bytes;
}

void wisp_static_memory_allocate(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages, uint8_t *buffer, uint32_t bytes) {
  mem->data = buffer;
  mem->max_pages = max_pages;
  set_pages(mem, initial_pages, bytes);
  memset(buffer, 0, bytes);
}

uint32_t wisp_static_memory_grow(wasm_rt_memory_t *mem, uint32_t delta, uint32_t bytes) {
  uint32_t old = mem->pages;
  uint64_t pages = (uint64_t)old + delta;
  if (pages > mem->max_pages || (pages - 1) * PAGE_BYTES >= bytes) return UINT32_MAX;
  set_pages(mem, (uint32_t)pages, bytes);
  return old;
}

/* wasm-rt.h's entry points, over the default buffer. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages) {
  wisp_static_memory_allocate(mem, initial_pages, max_pages, wisp_linear_memory, WISP_MEMORY_BYTES);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta) { return wisp_static_memory_grow(mem, delta, WISP_MEMORY_BYTES); }

void wasm_rt_free_memory(wasm_rt_memory_t *mem) { (void)mem; }
