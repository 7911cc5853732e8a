/* QEMU microbit (nRF51822): UART0 and TIMER0, the timer at 16 MHz / 2^4. */
#include <stdint.h>

#include "board.h"

#define UART 0x40002000u
#define UART_STARTRX (*(volatile uint32_t *)(UART + 0x000))
#define UART_STARTTX (*(volatile uint32_t *)(UART + 0x008))
#define UART_RXDRDY (*(volatile uint32_t *)(UART + 0x108))
#define UART_TXDRDY (*(volatile uint32_t *)(UART + 0x11C))
#define UART_ENABLE (*(volatile uint32_t *)(UART + 0x500))
#define UART_RXD (*(volatile uint32_t *)(UART + 0x518))
#define UART_TXD (*(volatile uint32_t *)(UART + 0x51C))

#define TIMER 0x40008000u
#define TIMER_START (*(volatile uint32_t *)(TIMER + 0x000))
#define TIMER_CAPTURE0 (*(volatile uint32_t *)(TIMER + 0x040))
#define TIMER_MODE (*(volatile uint32_t *)(TIMER + 0x504))
#define TIMER_BITMODE (*(volatile uint32_t *)(TIMER + 0x508))
#define TIMER_PRESCALER (*(volatile uint32_t *)(TIMER + 0x510))
#define TIMER_CC0 (*(volatile uint32_t *)(TIMER + 0x540))

void board_init(void) {
  UART_ENABLE = 4u;
  UART_STARTTX = 1u;
  UART_STARTRX = 1u;
  TIMER_MODE = 0u;      /* timer, not counter */
  TIMER_BITMODE = 3u;   /* 32 bits */
  TIMER_PRESCALER = 4u; /* 1 MHz */
  TIMER_START = 1u;
}

void board_put(char c) {
  UART_TXDRDY = 0u;
  UART_TXD = (uint8_t)c;
  while (!UART_TXDRDY) {
  }
}

int board_get(void) {
  while (!UART_RXDRDY) {
  }
  UART_RXDRDY = 0u;
  return (int)(UART_RXD & 0xFFu);
}

uint32_t board_micros(void) {
  TIMER_CAPTURE0 = 1u;
  return TIMER_CC0;
}
