/* QEMU mps3-an547 (SSE-300), running Secure: UART0 through its Secure alias,
 * and the SSE-300 system counter (32 MHz) for the time. */
#define CMSDK_UART 0x59303000u
#include "cmsdk.h"

#define COUNTER 0x58100000u /* the counter's control frame */
#define COUNTER_CR (*(volatile uint32_t *)(COUNTER + 0x00))
#define COUNTER_LO (*(volatile uint32_t *)(COUNTER + 0x08))
#define COUNTER_HI (*(volatile uint32_t *)(COUNTER + 0x0C))

void board_init(void) {
  uart_init();
  COUNTER_CR = 1u; /* enable */
}

/* 32 MHz: microseconds are the 64-bit count over 32. */
uint32_t board_micros(void) {
  uint32_t hi, lo;
  do {
    hi = COUNTER_HI;
    lo = COUNTER_LO;
  } while (hi != COUNTER_HI);
  return hi << 27 | lo >> 5;
}
