/* QEMU mps2-an386: CMSDK UART0 and timer 0, clocked at 25 MHz. */
#define CMSDK_UART 0x40004000u
#define CMSDK_TIMER 0x40000000u
#define CMSDK_TIMER_HZ 25000000u
#include "cmsdk.h"

void board_init(void) {
  uart_init();
  timer_init();
}
