/*
 * Streaming-wakeword firmware: feeds a recording (16-bit samples in flash)
 * hop by hop through the module's log-Mel front end, ring of frames, model
 * and detector, exactly as a device would from its microphone, and checks
 * every window's scores against the expected ones (golden_outputs holds one
 * golden_output_bytes score vector per window). The model stays in flash.
 * With WISP_INCREMENTAL each hop computes only the new rows of the causal
 * model's layers. Exits 0 when every window matches.
 */
#include <stdio.h>
#include <string.h>

#include "golden_data.h"
#include "wisp.h"

int main(void) {
  const int16_t *audio = (const int16_t *)(const void *)golden_inputs; /* golden_count hops of 512 samples */
  if (wisp_open() != WISP_OK || wisp_listen_open(golden_input_scale, golden_input_zero_point, golden_window_frames, golden_window_bins) != WISP_OK ||
      wisp_load_flash(golden_model, golden_model_size) != WISP_OK) {
    printf("wisp: setup failed (%d): %s\n", wisp_error_code(), wisp_error_message());
    return 2;
  }
#if WISP_INCREMENTAL
  if (wisp_listen_incremental() <= 0) {
    printf("wisp: incremental inference unavailable (%d): %s\n", wisp_error_code(), wisp_error_message());
    return 2;
  }
#endif
  unsigned windows = 0, exact = 0, detections = 0;
  for (unsigned hop = 0; hop < golden_count; hop++) {
    int status = wisp_listen_hop(audio + hop * WISP_HOP_SAMPLES, golden_output_scale, golden_output_zero_point);
    if (status < 0) {
      printf("wisp: hop %u failed (%d): %s\n", hop, -status, wisp_error_message());
      return 2;
    }
    if (status == 0) continue;
    if (status == 2) detections++;
    size_t bytes = 0;
    const int8_t *scores = wisp_output(&bytes);
    if (bytes == golden_output_bytes && memcmp(scores, golden_outputs + windows * bytes, bytes) == 0) exact++;
    windows++;
  }
  printf("%s: %u/%u windows byte-exact, %u detections, linear memory %u bytes\n", golden_name, exact, windows, detections,
         (unsigned)wisp_memory_bytes());
  return exact == windows ? 0 : 1;
}
