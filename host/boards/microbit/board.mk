# QEMU microbit: BBC micro:bit v1, nRF51822, Cortex-M0 (Armv6-M, no FPU),
# 256 KiB flash and 16 KiB RAM. newlib-nano keeps stdio small.
CC = arm-none-eabi-gcc
CPU_FLAGS = -mcpu=cortex-m0 -mthumb -mfloat-abi=soft
LDFLAGS = --specs=nano.specs
STARTUP = cortex-m
QEMU = qemu-system-arm -M microbit
# Host kernels: off. Armv6-M has no DSP extension, and the 256 KiB of flash
# is better spent on the model; HOST_KERNELS=1 builds the plain C ones.
HOST_KERNELS = 0
