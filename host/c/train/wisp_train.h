/*
 * The on-device trainer in C: build/wisp-train.wasm translated by wasm2c
 * (host/c/train/Makefile) over the static runtime, in a linear memory of its
 * own (wisp_train_linear_memory, WISP_TRAIN_MEMORY_BYTES), so it links
 * beside the inference library (libwisp.a) and the two never share bytes.
 *
 *   wisp_train_open(image, bytes);          // a head image (host/fl/head-image.ts)
 *   wisp_train_begin_round();
 *   per sample: wisp_train_sample(features, label); per batch: wisp_train_step();
 *   wisp_train_export(...) -> the update message for the server
 *   wisp_train_revert(); wisp_train_apply(delta, bytes);   // the server's global delta
 *
 * Calls return WISP_TRAIN_OK (0) or an error code (below, or the module's).
 */
#ifndef WISP_TRAIN_H
#define WISP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WISP_TRAIN_OK 0
#define WISP_TRAIN_ERR_IMAGE 1   /* not a head image, or one of another size */
#define WISP_TRAIN_ERR_MESSAGE 2 /* a global delta the module refused (wisp_train_last_status says why) */
#define WISP_TRAIN_ERR_OPTIONS 3 /* export options the module refused */
#define WISP_TRAIN_ERR_MEMORY 6  /* WISP_TRAIN_MEMORY_BYTES cannot hold the head */
#define WISP_TRAIN_ERR_TRAP 100  /* the module trapped: a bug, never bad input */

/* Loads a head image: instantiates the module, sizes the trainer, and sets
 * its parameters, weights, residuals, biases and error feedback. */
int wisp_train_open(const uint8_t *image, size_t bytes);
int wisp_train_begin_round(void);
/* Adds one sample's gradients (features: the head's `in` int8 values). */
int wisp_train_sample(const int8_t *features, int label);
/* Applies the accumulated batch; *samples (may be NULL) gets how many. */
int wisp_train_step(int *samples);
/* The head's class for these features. */
int wisp_train_predict(const int8_t *features, int *label);
/* Writes the round's update message; *message points into the module's
 * memory until the next call. bits 8 or 4, topk in (0, 1], groups 0 (one
 * scale per tensor) or a count. */
int wisp_train_export(int bits, double topk, int groups, uint32_t model_version, uint32_t client_id, uint32_t round,
                      uint32_t sample_count, const uint8_t **message, size_t *bytes);
int wisp_train_revert(void);
/* Where a global delta can be received in place (it then needs no buffer of
 * its own): capacity bytes in the module's memory, valid until the next call. */
uint8_t *wisp_train_message_buffer(size_t *capacity);
/* Adds a global delta (an update message, anywhere, or in the message
 * buffer) to the head; a refused one changes nothing. */
int wisp_train_apply(const uint8_t *message, size_t bytes);
/* The module's status for the last refused delta: 1 malformed, 2 bad CRC, 3 another head's. */
int wisp_train_last_status(void);
/* The trainer's state as a head image, passed to write part by part (no
 * buffer for the whole); returns its length (wisp_train_image_bytes), 0 on failure. */
typedef void (*wisp_train_write_fn)(void *context, const uint8_t *bytes, size_t n);
size_t wisp_train_image(wisp_train_write_fn write, void *context);
size_t wisp_train_image_bytes(void);
/* Linear memory the trainer uses (static data and its region). */
size_t wisp_train_memory_used(void);

#ifdef __cplusplus
}
#endif

#endif
