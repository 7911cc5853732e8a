# QEMU mps2-an505: Cortex-M33 (Armv8-M Mainline) with FPU, running Secure.
CC = arm-none-eabi-gcc
CPU_FLAGS = -mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16
STARTUP = cortex-m
QEMU = qemu-system-arm -M mps2-an505
# Host kernels (host/c/host_kernels.c): on, with the DSP extension's SMLAD.
HOST_KERNELS = 1
