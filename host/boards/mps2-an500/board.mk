# QEMU mps2-an500: Cortex-M7 with double-precision FPU.
CC = arm-none-eabi-gcc
CPU_FLAGS = -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16
STARTUP = cortex-m
QEMU = qemu-system-arm -M mps2-an500
# Host kernels (host/c/host_kernels.c): on, with the DSP extension's SMLAD.
HOST_KERNELS = 1
