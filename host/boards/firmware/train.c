/*
 * Training on the device: the trainer module (host/c/train, its own linear
 * memory) learns the head on features of the frozen backbone, computed here
 * by the inference module (TRAIN_BACKBONE: the ic model cut after its
 * pooling, in flash, on 28 x 28 gray images) or given precomputed in flash.
 * Each round: train the local examples for train_epochs, export the update
 * message and send it over the board's UART; then wait for the server's
 * signed global delta. A delta is applied only when the fleet's key (given
 * at provisioning, train_server_key) signed it for this fleet and for a
 * round newer than the last one applied: then the head goes back to the
 * round's start and takes it, and the next round is the delta's round + 1.
 * A refused delta changes nothing, and the device waits for another. Each
 * delta is answered with the status and the head (as a head image). A quit
 * frame ends the program.
 *
 * Frames on the UART, both ways: "WF", a kind byte, a u32 little-endian
 * length, the payload. Device to host: 'U' update message, 'A' i32 apply
 * status then the head image, 'E' error text. Host to device: 'D' signed
 * global delta (host/fl/signing.ts), 'Q' quit. Apply statuses: 0 applied;
 * 1 malformed (or longer than the module's buffer), 2 bad CRC, 3 for a head
 * of another size (the module's, the head is then at the round's start);
 * 4 bad or missing signature, or another fleet's; 5 a round not newer than
 * the last applied (replay); both leave the head as it was.
 *
 * For instruction counts, train_stage stops early (semihosting exit, no
 * UART): 0 after opening, 1 after the features, 2 after the samples'
 * gradients (no step), 3 after the steps, 4 after the export, 6 after
 * verifying train_signed_delta (from flash), 7 after verifying and applying
 * it; 5 runs the rounds. It prints one report line over semihosting.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "stack.h"
#include "train_data.h"
#include "wisp_train.h"
#include "wisp_verify.h"
#if TRAIN_BACKBONE
#include "wisp.h"
#endif

#define IMAGE_PIXELS (28 * 28)

static void put_bytes(void *context, const uint8_t *bytes, size_t n) {
  (void)context;
  for (size_t i = 0; i < n; i++) board_put((char)bytes[i]);
}

static void put_u32(uint32_t v) {
  const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put_bytes(NULL, b, 4);
}

static void frame_start(char kind, uint32_t length) {
  const uint8_t head[3] = {'W', 'F', (uint8_t)kind};
  put_bytes(NULL, head, 3);
  put_u32(length);
}

static void send_error(const char *text) {
  frame_start('E', (uint32_t)strlen(text));
  put_bytes(NULL, (const uint8_t *)text, strlen(text));
}

static uint32_t get_u32(void) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)(board_get() & 0xFF) << (8 * i);
  return v;
}

/* The next frame's kind; its payload goes to buffer (up to capacity bytes;
 * a longer one is read and dropped, *length then exceeds capacity). Bytes
 * before "WF" are skipped. */
static char read_frame(uint8_t *buffer, size_t capacity, uint32_t *length) {
  for (int state = 0; state < 2;) {
    int c = board_get();
    state = c == 'W' ? 1 : (state == 1 && c == 'F') ? 2 : 0;
  }
  char kind = (char)board_get();
  *length = get_u32();
  for (uint32_t i = 0; i < *length; i++) {
    int c = board_get();
    if (i < capacity) buffer[i] = (uint8_t)c;
  }
  return kind;
}

/* The features of every example, in RAM when the firmware computes them. */
#if TRAIN_BACKBONE
static int8_t features[TRAIN_COUNT * TRAIN_IN];

static int compute_features(void) {
  if (wisp_open() != WISP_OK || wisp_load_flash(train_backbone, train_backbone_bytes) != WISP_OK) return -1;
  size_t in_bytes = 0, out_bytes = 0;
  int8_t *input = wisp_input(&in_bytes);
  const int8_t *output = wisp_output(&out_bytes);
  if (in_bytes != 32 * 32 * 3 || out_bytes != TRAIN_IN) return -1;
  for (unsigned n = 0; n < TRAIN_COUNT; n++) {
    /* 28 x 28 gray padded to 32 x 32 with black, copied to three channels (host/fl/fashion-mnist.ts). */
    memset(input, -128, in_bytes);
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++) {
        int8_t q = (int8_t)(train_images[n * IMAGE_PIXELS + y * 28 + x] - 128);
        int8_t *at = input + ((y + 2) * 32 + x + 2) * 3;
        at[0] = at[1] = at[2] = q;
      }
    if (wisp_invoke() != WISP_OK) return -1;
    memcpy(features + n * TRAIN_IN, output, TRAIN_IN);
  }
  return 0;
}
#else
#define features train_features
static int compute_features(void) { return 0; }
#endif

#define STATUS_BAD_SIGNATURE 4
#define STATUS_REPLAY 5
#define SIGNATURE_BYTES 64
#define UPDATE_HEADER_BYTES 40

/* The round whose delta was applied last; -1 before any. */
static int64_t applied_round;

/* 0 when `signed_delta` (an update message, then its signature over
 * "wisp-delta-v1", the fleet name, a zero byte and the message) is the
 * fleet's, for a round newer than applied_round; *round gets that round. */
static int check_delta(const uint8_t *signed_delta, size_t length, uint32_t *round) {
  if (length < UPDATE_HEADER_BYTES + SIGNATURE_BYTES) return STATUS_BAD_SIGNATURE;
  size_t message = length - SIGNATURE_BYTES;
  static const char context[] = "wisp-delta-v1";
  const wisp_bytes parts[3] = {
      {(const uint8_t *)context, sizeof context - 1},
      {(const uint8_t *)train_fleet, strlen(train_fleet) + 1}, /* with its zero byte */
      {signed_delta, message},
  };
  if (!wisp_ed25519_verify_parts(signed_delta + message, parts, 3, train_server_key)) return STATUS_BAD_SIGNATURE;
  const uint8_t *r = signed_delta + 16; /* the update header's round */
  *round = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
  return (int64_t)*round <= applied_round ? STATUS_REPLAY : 0;
}

/* A checked delta: back to the round's start, then the delta; 0 or the
 * module's status (1-3), or a WISP_TRAIN_ERR code. */
static int apply_delta(const uint8_t *signed_delta, size_t length) {
  int status = wisp_train_revert();
  if (status == WISP_TRAIN_OK) status = wisp_train_apply(signed_delta, length - SIGNATURE_BYTES);
  return status == WISP_TRAIN_ERR_MESSAGE ? wisp_train_last_status() : status;
}

static unsigned samples_done, steps_done;

/* One round's local training, as host/fl/fleet-worker.ts drives the Node
 * trainer: a step after every batch and at the end of each epoch. */
static int train(unsigned stage) {
  for (unsigned e = 0; e < train_epochs; e++) {
    for (unsigned n = 0; n < TRAIN_COUNT; n++) {
      if (wisp_train_sample(features + n * TRAIN_IN, train_labels[n]) != WISP_TRAIN_OK) return -1;
      samples_done++;
      if (stage >= 3 && (n + 1) % train_batch == 0) {
        int s = 0;
        if (wisp_train_step(&s) != WISP_TRAIN_OK) return -1;
        steps_done += s > 0;
      }
    }
    int s = 0;
    if (stage >= 3 && wisp_train_step(&s) != WISP_TRAIN_OK) return -1;
    steps_done += s > 0;
  }
  return 0;
}

static int export_update(uint32_t round, const uint8_t **message, size_t *bytes) {
  return wisp_train_export(train_bits, train_topk, train_groups, train_model_version, train_client_id, round, TRAIN_COUNT, message, bytes);
}

int main(void) {
  volatile uint32_t marker = 0;
  uintptr_t frame = (uintptr_t)&marker;
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("wisp train firmware\n");
  uintptr_t heap_start = (uintptr_t)sbrk(0);
  paint_stack(frame);
  const unsigned stage = train_stage;
  if (stage == 5) board_init();
  if (wisp_train_open(train_head, train_head_bytes) != WISP_TRAIN_OK) {
    printf("train: the head image does not load\n");
    return 2;
  }
  if (stage >= 1 && compute_features() != 0) {
    printf("train: the backbone failed\n");
    return 2;
  }
  size_t update_bytes = 0;
  applied_round = train_applied_round;
  for (unsigned rounds = 0; stage >= 2 && (stage != 5 || train_rounds == 0 || rounds < train_rounds); rounds++) {
    const uint32_t round = (uint32_t)(applied_round + 1);
    const uint8_t *message = NULL;
    if (wisp_train_begin_round() != WISP_TRAIN_OK || train(stage) != 0) {
      printf("train: training failed\n");
      return 2;
    }
    if (stage < 4) break;
    if (export_update(round, &message, &update_bytes) != WISP_TRAIN_OK) {
      printf("train: export failed\n");
      return 2;
    }
    if (stage == 4) break;
    if (stage >= 6) {
      uint32_t delta_round = 0;
      int status = check_delta(train_signed_delta, train_signed_delta_bytes, &delta_round);
      if (status == 0 && stage == 7) status = apply_delta(train_signed_delta, train_signed_delta_bytes);
      printf("train: delta status %d\n", status);
      break;
    }
    frame_start('U', (uint32_t)update_bytes);
    put_bytes(NULL, message, update_bytes);
    /* Signed global deltas, received straight into the module's message
     * buffer, until one is applied. */
    for (int applied = 0; !applied;) {
      size_t capacity = 0;
      uint8_t *buffer = wisp_train_message_buffer(&capacity);
      uint32_t length = 0, delta_round = 0;
      char kind = read_frame(buffer, capacity, &length);
      if (kind == 'Q') goto quit;
      if (kind != 'D') {
        send_error("expected a delta (D) or quit (Q) frame");
        return 3;
      }
      int status = length > capacity ? 1 : check_delta(buffer, length, &delta_round);
      if (status == 0) status = apply_delta(buffer, length);
      if (status == 0) {
        applied_round = delta_round;
        applied = 1;
      }
      frame_start('A', (uint32_t)(4 + wisp_train_image_bytes()));
      put_u32((uint32_t)status);
      wisp_train_image(put_bytes, NULL);
    }
  }
quit:;
  unsigned heap = (unsigned)((uintptr_t)sbrk(0) - heap_start);
#if TRAIN_BACKBONE
  unsigned inference_memory = (unsigned)wisp_memory_bytes();
#else
  unsigned inference_memory = 0;
#endif
  printf("train: stage %u, %u samples, %u steps, update %u bytes, trainer memory %u bytes, inference memory %u bytes, heap %u bytes, peak stack %u bytes\n",
         stage, samples_done, steps_done, (unsigned)update_bytes, (unsigned)wisp_train_memory_used(), inference_memory, heap, stack_peak(frame));
  return 0;
}
