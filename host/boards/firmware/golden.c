/*
 * Golden-vector firmware: loads the .wisp model linked into flash (copied
 * into RAM, or with WISP_FROM_FLASH left in flash and read block by block
 * through a weights window of WISP_WEIGHT_WINDOW bytes; with WISP_MODEL_FILE
 * read from a semihosted file, as from an external flash), runs each
 * input through Wisp and compares with TFLM's output byte for byte. Exits 0
 * when every vector matches, 1 otherwise (2 when the model fails to load).
 * On bare metal (WISP_PAINT_STACK) it also reports the heap the engine took
 * (wasm3 allocates; the AOT engine does not) and the peak stack of the
 * inferences, found by painting the free stack after loading and looking for
 * the deepest overwritten word.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "golden_data.h"
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

int main(void) {
  volatile uint32_t marker = 0;
  uintptr_t frame = (uintptr_t)&marker;
  setvbuf(stdout, NULL, _IONBF, 0); /* no stdio buffer: 1 KB matters on a 16 KiB board */
  printf("wisp golden firmware\n"); /* stdio allocates what it still needs first */
  uintptr_t heap_start = (uintptr_t)sbrk(0);
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
    return 2;
  }
  unsigned heap = (unsigned)((uintptr_t)sbrk(0) - heap_start);
  paint_stack(frame);
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
    memcpy(input, golden_inputs + i * in_bytes, in_bytes);
    if (wisp_invoke() != WISP_OK) {
      printf("wisp: invoke failed (%d): %s\n", wisp_error_code(), wisp_error_message());
      return 2;
    }
    if (memcmp(output, golden_outputs + i * out_bytes, out_bytes) == 0) exact++;
    else printf("vector %u differs\n", i);
  }
  printf("%s: %u/%u byte-exact, arena %u bytes, linear memory %u bytes, heap %u bytes, peak stack %u bytes\n", golden_name, exact,
         golden_count, (unsigned)wisp_arena_bytes(), (unsigned)wisp_memory_bytes(), heap, stack_peak(frame));
  return exact == golden_count ? 0 : 1;
}
