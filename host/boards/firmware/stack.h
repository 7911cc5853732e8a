/*
 * Peak stack of bare-metal firmware (WISP_PAINT_STACK): paint the free stack
 * between the heap and the caller's frame, run, then find the deepest word
 * that was overwritten. Without WISP_PAINT_STACK (native) both do nothing.
 */
#ifndef WISP_STACK_H
#define WISP_STACK_H

#include <stdint.h>
#include <unistd.h>

#define PAINT 0xA5A5A5A5u
static volatile uint32_t *painted_low;

#if WISP_PAINT_STACK
static void paint_stack(uintptr_t frame) {
  painted_low = (volatile uint32_t *)(((uintptr_t)sbrk(0) + 256) & ~(uintptr_t)3);
  for (volatile uint32_t *p = painted_low; (uintptr_t)p < frame - 512; p++) *p = PAINT;
}

static unsigned stack_peak(uintptr_t frame) {
  volatile uint32_t *p = painted_low;
  while (*p == PAINT) p++;
  return (unsigned)(frame - (uintptr_t)p);
}
#else
static void paint_stack(uintptr_t frame) { (void)frame; }
static unsigned stack_peak(uintptr_t frame) { (void)frame; return 0; }
#endif

#endif
