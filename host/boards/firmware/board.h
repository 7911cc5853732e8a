/*
 * What a board gives the firmware beyond semihosting: the serial line the
 * MLPerf Tiny runner talks over, and a microsecond clock. Each
 * host/boards/<board>/board.c implements it for its machine's UART and timer.
 */
#ifndef WISP_BOARD_H
#define WISP_BOARD_H

#include <stdint.h>

void board_init(void);       /* the UART (transmit and receive) and the timer on */
void board_put(char c);      /* sends one byte, waiting for room */
int board_get(void);         /* waits for one byte and returns it */
uint32_t board_micros(void); /* a free-running microsecond clock (it wraps) */

#endif
