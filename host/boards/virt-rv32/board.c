/* QEMU virt (RISC-V): the NS16550A UART and the ACLINT machine timer
 * (mtime, 10 MHz). */
#include <stdint.h>

#include "board.h"

#define UART 0x10000000u
#define UART_DATA (*(volatile uint8_t *)(UART + 0))
#define UART_LSR (*(volatile uint8_t *)(UART + 5)) /* bit 0: data ready, bit 5: room to send */

#define MTIME_LO (*(volatile uint32_t *)0x0200BFF8u)
#define MTIME_HI (*(volatile uint32_t *)0x0200BFFCu)

void board_init(void) {}

void board_put(char c) {
  while (!(UART_LSR & 0x20u)) {
  }
  UART_DATA = (uint8_t)c;
}

int board_get(void) {
  while (!(UART_LSR & 0x01u)) {
  }
  return UART_DATA;
}

uint32_t board_micros(void) {
  uint32_t hi, lo;
  do {
    hi = MTIME_HI;
    lo = MTIME_LO;
  } while (hi != MTIME_HI);
  return (uint32_t)((((uint64_t)hi << 32) | lo) / 10u);
}
