/*
 * MLPerf Tiny device under test: speaks the EEMBC / MLPerf Tiny runner's
 * serial protocol on the board's UART (board.h; each board's board.c), so
 * the runner can drive Wisp unchanged. Commands end with '%'; every reply
 * ends with "m-ready". Timestamps come from the board's microsecond clock.
 *
 *   name, profile, help, timestamp, db load N, db HEX..., db print,
 *   infer N [W], results
 *
 * The runner loads either the model's int8 input tensor or, as for the
 * anomaly-detection reference submission (ad01), float32 features, four
 * bytes per input element, which the DUT quantizes with the input's scale
 * and zero point. For features fed to an autoencoder (output as long as the
 * input) the result is the reference's anomaly score: the mean squared
 * difference between the dequantized output and the features.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "golden_data.h"
#include "wisp.h"

#define COMMAND_MAX 256
#define FW_VERSION "ULPMark for tinyML Firmware V0.0.1"

static uint8_t *buffer;           /* room for 4 bytes per input element */
static int8_t *quantized;         /* the features quantized, when floats were loaded */
static size_t buffer_capacity, buffer_size, buffer_pos;
static int scored;                /* the last inference ran on features through an autoencoder */
static float score;

static void say(const char *format, ...) {
  char line[160];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  for (const char *p = line; *p; p++) board_put(*p);
}

static void timestamp(void) { say("m-lap-us-%lu\r\n", (unsigned long)board_micros()); }

/* Dequantized outputs, printed as the reference submissions do (0.ddd). */
static void results(void) {
  size_t n = 0;
  const int8_t *out = wisp_output(&n);
  if (scored) {
    /* %0.3f as the reference prints it (newlib-nano's printf has no %f). */
    unsigned long milli = (unsigned long)((double)score * 1000.0 + 0.5);
    say("m-results-[%lu.%03lu]\r\n", milli / 1000, milli % 1000);
    return;
  }
  say("m-results-[");
  for (size_t i = 0; i < n; i++) {
    float value = ((float)out[i] - (float)golden_output_zero_point) * golden_output_scale;
    say("0.%d%d%d%s", (int)(value * 10), (int)(value * 100) % 10, (int)(value * 1000) % 10, i + 1 < n ? "," : "");
  }
  say("]\r\n");
}

/* QuantizeFloatToInt8 of the reference submissions: round half away from zero, clamp. */
static const int8_t *quantize_features(size_t bytes) {
  const float *features = (const float *)buffer;
  for (size_t i = 0; i < bytes; i++) {
    long q = lroundf(features[i] / golden_input_scale) + golden_input_zero_point;
    quantized[i] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
  }
  return quantized;
}

/* Multiply and add rounded apart, as the reference computes it (no fused multiply-add). */
__attribute__((optimize("fp-contract=off"))) static float anomaly_score(size_t bytes) {
  const float *features = (const float *)buffer;
  const int8_t *out = wisp_output(NULL);
  float sum = 0;
  for (size_t i = 0; i < bytes; i++) {
    float diff = ((float)out[i] - (float)golden_output_zero_point) * golden_output_scale - features[i];
    sum += diff * diff;
  }
  return sum / (float)bytes;
}

static void infer(size_t n, size_t warmup) {
  size_t bytes = 0, out_bytes = 0;
  int8_t *input = wisp_input(&bytes);
  wisp_output(&out_bytes);
  int features = buffer_pos == 4 * bytes;
  if (buffer_pos != bytes && !features) {
    say("e-[Input db has %u bytes, the model takes %u (int8) or %u (float32 features)]\r\n", (unsigned)buffer_pos, (unsigned)bytes, (unsigned)(4 * bytes));
    return;
  }
  const void *source = features ? (const void *)quantize_features(bytes) : (const void *)buffer;
  scored = 0;
  /* Wisp reuses the input's arena bytes while it runs: refill it every time. */
  say("m-warmup-start-%u\r\n", (unsigned)warmup);
  while (warmup-- > 0) {
    memcpy(input, source, bytes);
    wisp_invoke();
  }
  say("m-warmup-done\r\n");
  say("m-infer-start-%u\r\n", (unsigned)n);
  timestamp();
  int status = WISP_OK;
  while (n-- > 0 && status == WISP_OK) {
    memcpy(input, source, bytes);
    status = wisp_invoke();
  }
  timestamp();
  if (status != WISP_OK) say("e-[Inference failed: %s]\r\n", wisp_error_message());
  else if (features && out_bytes == bytes) {
    score = anomaly_score(bytes);
    scored = 1;
  }
  say("m-infer-done\r\n");
  results();
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void db(char *arg) {
  if (!arg) {
    say("e-[Command 'db' requires a subcommand]\r\n");
  } else if (strcmp(arg, "load") == 0) {
    char *count = strtok(NULL, " ");
    long n = count ? atol(count) : 0;
    if (n <= 0) say("e-[Command 'db load' must be >0 bytes]\r\n");
    else if ((size_t)n > buffer_capacity) say("e-[Supplied buffer size %ld exceeds maximum of %u]\r\n", n, (unsigned)buffer_capacity);
    else {
      buffer_size = (size_t)n;
      buffer_pos = 0;
      say("m-[Expecting %ld bytes]\r\n", n);
    }
  } else if (strcmp(arg, "print") == 0) {
    for (size_t i = 0; i < buffer_size; i++) say("%s%02x%s", i % 8 == 0 ? "m-buffer-" : "", buffer[i], (i + 1) % 8 == 0 || i + 1 == buffer_size ? "\r\n" : "-");
  } else {
    size_t digits = strlen(arg);
    if (digits % 2 != 0) {
      say("e-[Insufficent number of hex digits]\r\n");
      return;
    }
    for (size_t i = 0; i < digits && buffer_pos < buffer_size; i += 2) {
      int hi = hex_digit(arg[i]), lo = hex_digit(arg[i + 1]);
      if (hi < 0 || lo < 0) {
        say("e-[Invalid hex digit '%c%c']\r\n", arg[i], arg[i + 1]);
        return;
      }
      buffer[buffer_pos++] = (uint8_t)(hi << 4 | lo);
      if (buffer_pos == buffer_size) say("m-load-done\r\n");
    }
  }
}

static void command(char *line) {
  char *verb = strtok(line, " ");
  if (!verb) {
  } else if (strcmp(verb, "name") == 0) {
    say("m-name-dut-[wisp]\r\n");
  } else if (strcmp(verb, "timestamp") == 0) {
    timestamp();
  } else if (strcmp(verb, "profile") == 0) {
    say("m-profile-[%s]\r\n", FW_VERSION);
    say("m-model-[%s]\r\n", golden_model_version);
  } else if (strcmp(verb, "help") == 0) {
    say("%s\r\nname, timestamp, profile, db load N, db HEX..., db print, infer N [W], results\r\n", FW_VERSION);
  } else if (strcmp(verb, "db") == 0) {
    db(strtok(NULL, " "));
  } else if (strcmp(verb, "infer") == 0) {
    char *n_text = strtok(NULL, " "), *w_text = strtok(NULL, " ");
    long n = n_text ? atol(n_text) : 1, w = w_text ? atol(w_text) : 10;
    if (n <= 0) say("e-[Inference iterations must be >0]\r\n");
    else if (w < 0) say("e-[Inference warmup must be >=0]\r\n");
    else infer((size_t)n, (size_t)w);
  } else if (strcmp(verb, "results") == 0) {
    results();
  } else {
    say("e-[Unknown command: %s]\r\n", verb);
  }
  say("m-ready\r\n");
}

int main(void) {
  board_init();
  if (wisp_open() != WISP_OK || wisp_load_flash(golden_model, golden_model_size) != WISP_OK) {
    say("e-[Model failed to load: %s]\r\n", wisp_error_message());
    return 2;
  }
  size_t input_bytes = 0;
  wisp_input(&input_bytes);
  buffer_capacity = 4 * input_bytes;
  buffer = malloc(buffer_capacity);
  quantized = malloc(input_bytes);
  if (!buffer || !quantized) {
    say("e-[No room for a %u-byte input buffer]\r\n", (unsigned)(5 * input_bytes));
    return 2;
  }
  say("m-timestamp-mode-performance\r\n");
  timestamp();
  say("m-init-done\r\n");
  say("m-ready\r\n");
  char line[COMMAND_MAX + 1];
  size_t length = 0;
  for (;;) {
    int c = board_get();
    if (c == '%') {
      line[length] = 0;
      command(line);
      length = 0;
    } else if (length < COMMAND_MAX) {
      line[length++] = (char)c;
    }
  }
}
