/*
 * Wisp C host API: load a .wisp model into the Wisp WebAssembly module and
 * run it. The same API sits on two engines: the module translated ahead of
 * time with wasm2c (aot/), or interpreted by wasm3 (wasm3/).
 *
 *   wisp_open();
 *   wisp_load(model, model_size);            // validates the whole model first
 *   (or wisp_load_flash(model, model_size): the model stays where it is, in
 *    flash, and the module reads each block of weights as it needs it;
 *    or wisp_load_reader: the model is wherever your read function finds it,
 *    e.g. an external SPI flash or an ESP-IDF partition)
 *   memcpy(wisp_input(NULL), input, n);     // before every invoke: the arena
 *   wisp_invoke();                          // reuses the input's bytes
 *   use wisp_output(NULL);
 *
 * Every call returns WISP_OK (0) or an error code; wisp_error_message()
 * explains the last error.
 */
#ifndef WISP_H
#define WISP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* WISP_OK, the WISP_ERR_* codes and the audio front ends' WISP_* constants,
 * generated from assembly/abi.json and assembly/frontend.ts. */
#include "wisp_codes.h"

int wisp_open(void);
int wisp_load(const uint8_t *model, size_t size);
int wisp_load_flash(const uint8_t *model, size_t size);
/* Reads `bytes` bytes at `offset` of the model into dst; returns 0, or
 * nonzero on a failed read (the call into Wisp then fails with a trap). */
typedef int (*wisp_read_fn)(void *context, uint32_t offset, void *dst, uint32_t bytes);
/* Streams the model's weights through `read` into a window of window_bytes
 * in linear memory (0: room for the largest op, the fastest). A smaller
 * window makes each op fetch its output channels in blocks; it must hold one
 * channel's filter plus 28 bytes, or loading fails with
 * WISP_ERR_OUT_OF_MEMORY and a message giving the least it needs. */
int wisp_load_reader(wisp_read_fn read, void *context, size_t size, size_t window_bytes);
/* The reader for a model in memory-mapped flash (context: its address), for
 * wisp_load_reader with a window of your choice. */
int wisp_read_memory(void *context, uint32_t offset, void *dst, uint32_t bytes);
int wisp_invoke(void);
/* Starts a stateful model afresh, as a new load would: the next wisp_invoke
 * refills its resource variables and reruns its CALL_ONCE init graphs. */
int wisp_reset(void);
int8_t *wisp_input(size_t *bytes);
const int8_t *wisp_output(size_t *bytes);
int wisp_error_code(void);
const char *wisp_error_message(void);
/* Linear memory in use: static data, the model (or, from flash, its graph
 * and the weights window), the arena. */
size_t wisp_memory_bytes(void);
size_t wisp_arena_bytes(void);

/*
 * Streaming wakeword (the sww front end inside the module): call
 * wisp_listen_open with the model's input quantization and shape, `frames`
 * frames of `bins` log-Mel features (sww: WISP_SWW_FRAMES x WISP_SWW_BINS,
 * 30 x 40), after wisp_open and before loading the model (or after: its
 * memory then follows the model's, until the next load); then pass
 * WISP_HOP_SAMPLES (512) new 16-kHz samples per 32 ms hop. wisp_listen_hop
 * returns 0 while the first window fills, 1 when the model ran on a new
 * window (scores at wisp_output), 2 when that window also fired a detection
 * (wakeword probability > 0.95, then 1 s of quiet), or a negative error code.
 */
int wisp_listen_open(float input_scale, int input_zero_point, int frames, int bins);
/* Optional, after loading the model: cache the activations of a model that
 * is causal along time (sww is), so each hop computes one new row per layer
 * instead of re-running the model, with byte-identical scores. Returns the
 * number of cached ops (0: the model is not causal that way and hops re-run
 * it) or a negative error code; it takes the cache from linear memory. */
int wisp_listen_incremental(void);
int wisp_listen_hop(const int16_t *samples, float output_scale, int output_zero_point);

#ifdef __cplusplus
}
#endif

#endif
