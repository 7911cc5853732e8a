/*
 * Minimal Cortex-M startup: the vector table, then a reset handler that
 * copies .data from flash, zeroes .bss, opens semihosting and runs main.
 * main's return value leaves through semihosting as the exit status, which
 * QEMU passes on as its own.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(void);
extern void initialise_monitor_handles(void);

void Reset_Handler(void) {
  uint32_t *src = &__data_load, *dst = &__data_start;
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
  /* Enable the FPU (CP10 and CP11) before any float instruction runs. */
  *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
  __asm volatile("dsb\n isb");
#endif
  initialise_monitor_handles();
  exit(main());
}

static void Fault_Handler(void) {
  exit(99); /* a fault is a failed run, never a hang */
}

__attribute__((section(".isr_vector"), used)) void (*const vector_table[16])(void) = {
  (void (*)(void))&__stack_top, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
  Fault_Handler, Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler,
};
