/*
 * Golden-vector firmware: loads the .wisp model linked into flash (copied
 * into RAM, or with WISP_FROM_FLASH left in flash and read block by block
 * through a weights window of WISP_WEIGHT_WINDOW bytes; with WISP_MODEL_FILE
 * read from a semihosted file, as from an external flash), runs each
 * input through Wisp and compares with TFLM's output byte for byte. Exits 0
 * when every vector matches, 1 otherwise (2 when the model fails to load).
 * On bare metal (WISP_PAINT_STACK) it also reports the heap's high-water
 * mark (wasm3 allocates; the AOT engine does not), counted by wrappers
 * around malloc, calloc, realloc and free (linked with -Wl,--wrap=...), and
 * the peak stack of loading and the inferences (wasm3 may compile during
 * either), found by painting the free stack before opening Wisp and looking
 * for the deepest overwritten word above the heap.
 */
#ifndef WISP_RESET_EVERY
#define WISP_RESET_EVERY 0
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "golden_data.h"
#include "host_kernels.h"
#include "wisp.h"

#ifndef WISP_WEIGHT_WINDOW
#define WISP_WEIGHT_WINDOW 0
#endif

#if WISP_MODEL_FILE
#include <fcntl.h>
/* The model is a file on the debug host, standing in for an external SPI
 * flash: each read seeks to the offset, as a flash driver would. */
static int model_file = -1;
static int read_model(void *context, uint32_t offset, void *dst, uint32_t bytes) {
  (void)context;
  if (lseek(model_file, (off_t)offset, SEEK_SET) != (off_t)offset) return -1;
  return read(model_file, dst, bytes) == (ssize_t)bytes ? 0 : -1;
}
#else
#define read_model wisp_read_memory
#endif

#include "stack.h"

#if WISP_PAINT_STACK
#include <malloc.h>

/* The heap counter: bytes the allocator handed out and not yet freed (its
 * usable sizes, so rounding counts; its few header bytes per block do not). */
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
static size_t heap_in_use, heap_peak, heap_before, heap_refused, heap_held;

/* `n`: the bytes asked for, remembered when the allocator refuses them. */
static void *counted(void *p, size_t n) {
  if (!p) {
    heap_refused = n;
    heap_held = heap_in_use; /* a realloc's old block included: it is still held */
  }
  if (p) {
    heap_in_use += malloc_usable_size(p);
    if (heap_in_use > heap_peak) heap_peak = heap_in_use;
  }
  return p;
}
void *__wrap_malloc(size_t n) { return counted(__real_malloc(n), n); }
void *__wrap_calloc(size_t n, size_t size) { return counted(__real_calloc(n, size), n * size); }
void *__wrap_realloc(void *p, size_t n) {
  size_t old = p ? malloc_usable_size(p) : 0;
  void *q = __real_realloc(p, n);
  if (!q) return counted(NULL, n);
  heap_in_use -= old;
  return counted(q, n);
}
void __wrap_free(void *p) {
  if (p) heap_in_use -= malloc_usable_size(p);
  __real_free(p);
}
#else
static size_t heap_peak, heap_before, heap_refused, heap_held;
#endif

/* After a failure: what the heap held and what it refused, for the
 * benchmark's "does not fit" (host/boards/measure.ts). */
static void report_refusal(void) {
  if (heap_refused) printf("wisp: heap %u bytes in use, a request for %u more refused\n", (unsigned)(heap_held - heap_before), (unsigned)heap_refused);
}

int main(void) {
  volatile uint32_t marker = 0;
  uintptr_t frame = (uintptr_t)&marker;
  setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer: 1 KB matters on a 16 KiB board */
  printf("wisp golden firmware\n"); /* stdio allocates what it still needs first */
#if WISP_PAINT_STACK
  heap_before = heap_peak = heap_in_use; /* from here on, the engine's */
#endif
  paint_stack(frame);
#if WISP_MODEL_FILE
  model_file = open(golden_model_path, O_RDONLY);
  if (model_file < 0) {
    printf("wisp: cannot open %s\n", golden_model_path);
    return 2;
  }
#endif
#if WISP_FROM_FLASH
  int loaded = wisp_open() == WISP_OK && wisp_load_reader(read_model, (void *)golden_model, golden_model_size, WISP_WEIGHT_WINDOW) == WISP_OK;
#else
  int loaded = wisp_open() == WISP_OK && wisp_load(golden_model, golden_model_size) == WISP_OK;
#endif
  if (!loaded) {
    printf("wisp: load failed (%d): %s\n", wisp_error_code(), wisp_error_message());
    report_refusal();
    return 2;
  }
  size_t in_bytes = 0, out_bytes = 0;
  int8_t *input = wisp_input(&in_bytes);
  const int8_t *output = wisp_output(&out_bytes);
  if (in_bytes != golden_input_bytes || out_bytes != golden_output_bytes) {
    printf("wisp: model tensors (%u, %u bytes) do not match the vectors (%u, %u)\n", (unsigned)in_bytes, (unsigned)out_bytes,
           (unsigned)golden_input_bytes, (unsigned)golden_output_bytes);
    return 2;
  }
  unsigned exact = 0;
  for (unsigned i = 0; i < golden_count; i++) {
#if WISP_RESET_EVERY > 0
    /* A stateful model's sequence again, from a fresh state. */
    if (i > 0 && i % WISP_RESET_EVERY == 0 && wisp_reset() != WISP_OK) {
      printf("wisp: reset failed (%d): %s\n", wisp_error_code(), wisp_error_message());
      return 2;
    }
#endif
    memcpy(input, golden_inputs + i * in_bytes, in_bytes);
    if (wisp_invoke() != WISP_OK) {
      printf("wisp: invoke failed (%d): %s\n", wisp_error_code(), wisp_error_message());
      report_refusal();
      return 2;
    }
    if (memcmp(output, golden_outputs + i * out_bytes, out_bytes) == 0) exact++;
    else printf("vector %u differs\n", i);
  }
  printf("%s: %u/%u byte-exact, arena %u bytes, linear memory %u bytes, heap %u bytes, peak stack %u bytes, host kernels %u\n", golden_name, exact,
         golden_count, (unsigned)wisp_arena_bytes(), (unsigned)wisp_memory_bytes(), (unsigned)(heap_peak - heap_before), stack_peak(frame),
         (unsigned)wisp_host_kernels());
  return exact == golden_count ? 0 : 1;
}
