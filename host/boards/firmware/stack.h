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
/* How far below main's frame the stack is painted: more than any engine
 * needs, and far enough from the heap on the boards' RAM. */
#define PAINT_SPAN (192u * 1024u)
static volatile uint32_t *painted_low;

#if WISP_PAINT_STACK
static void paint_stack(uintptr_t frame) {
  uintptr_t low = (uintptr_t)sbrk(0) + 256;
  if (frame - low > PAINT_SPAN) low = frame - PAINT_SPAN;
  painted_low = (volatile uint32_t *)(low & ~(uintptr_t)3);
  for (volatile uint32_t *p = painted_low; (uintptr_t)p < frame - 512; p++) *p = PAINT;
}

/* The heap may since have grown over the lowest painted words: the stack's
 * reach is searched above it. */
static unsigned stack_peak(uintptr_t frame) {
  volatile uint32_t *p = painted_low;
  uintptr_t heap_end = (uintptr_t)sbrk(0);
  if ((uintptr_t)p < heap_end) p = (volatile uint32_t *)((heap_end + 3) & ~(uintptr_t)3);
  while ((uintptr_t)p < frame && *p == PAINT) p++;
  return (unsigned)(frame - (uintptr_t)p);
}

#else
static void paint_stack(uintptr_t frame) { (void)frame; }
static unsigned stack_peak(uintptr_t frame) { (void)frame; return 0; }
#endif

#endif
