# QEMU mps3-an547: Cortex-M55 (Armv8.1-M with Helium and FPU), running Secure.
CC = arm-none-eabi-gcc
CPU_FLAGS = -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
STARTUP = cortex-m
QEMU = qemu-system-arm -M mps3-an547
# Host kernels (host/c/host_kernels.c): on, with the DSP extension's SMLAD.
HOST_KERNELS = 1
