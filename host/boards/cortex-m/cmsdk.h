/*
 * The Arm CMSDK APB UART and timer, as the MPS2 and MPS3 boards have them:
 * each board.c includes this after defining CMSDK_UART, CMSDK_TIMER and
 * CMSDK_TIMER_HZ (or its own clock) for its memory map.
 */
#include <stdint.h>

#include "board.h"

#define UART_DATA (*(volatile uint32_t *)(CMSDK_UART + 0x00))
#define UART_STATE (*(volatile uint32_t *)(CMSDK_UART + 0x04)) /* bit 0: TX full, bit 1: RX full */
#define UART_CTRL (*(volatile uint32_t *)(CMSDK_UART + 0x08))  /* bit 0: TX on, bit 1: RX on */
#define UART_BAUDDIV (*(volatile uint32_t *)(CMSDK_UART + 0x10))

static void uart_init(void) {
  UART_BAUDDIV = 16;
  UART_CTRL = 3u;
}

void board_put(char c) {
  while (UART_STATE & 1u) {
  }
  UART_DATA = (uint8_t)c;
}

int board_get(void) {
  while (!(UART_STATE & 2u)) {
  }
  return (int)(UART_DATA & 0xFFu);
}

#ifdef CMSDK_TIMER
/* A timer counting down from 2^32 - 1 at CMSDK_TIMER_HZ. */
#define TIMER_CTRL (*(volatile uint32_t *)(CMSDK_TIMER + 0x00))
#define TIMER_VALUE (*(volatile uint32_t *)(CMSDK_TIMER + 0x04))
#define TIMER_RELOAD (*(volatile uint32_t *)(CMSDK_TIMER + 0x08))

static void timer_init(void) {
  TIMER_RELOAD = 0xFFFFFFFFu;
  TIMER_VALUE = 0xFFFFFFFFu;
  TIMER_CTRL = 1u;
}

uint32_t board_micros(void) { return (0xFFFFFFFFu - TIMER_VALUE) / (CMSDK_TIMER_HZ / 1000000u); }
#endif
