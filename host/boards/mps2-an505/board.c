/* QEMU mps2-an505 (IoT Kit), running Secure: UART0 and the kit's timer 0
 * through their Secure aliases (0x5...), timer 0 clocked at 20 MHz. */
#define CMSDK_UART 0x50200000u
#define CMSDK_TIMER 0x50000000u
#define CMSDK_TIMER_HZ 20000000u
#include "cmsdk.h"

void board_init(void) {
  uart_init();
  timer_init();
}
