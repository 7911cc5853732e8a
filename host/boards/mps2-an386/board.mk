# QEMU mps2-an386: Cortex-M4 with FPU.
CC = arm-none-eabi-gcc
CPU_FLAGS = -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
STARTUP = cortex-m
QEMU = qemu-system-arm -M mps2-an386
# Host kernels (host/c/host_kernels.c): on, with the DSP extension's SMLAD.
HOST_KERNELS = 1
