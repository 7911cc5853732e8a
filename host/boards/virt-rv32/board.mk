# QEMU virt with -bios none: rv32imc, the ESP32-C3-class core. picolibc's
# crt0 and semihosting; the image and its RAM share the 128 MB DRAM.
CC = riscv64-unknown-elf-gcc
CPU_FLAGS = -march=rv32imc -mabi=ilp32 --specs=picolibc.specs
STARTUP = picolibc
MEMORY = -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x2000000 -Wl,--defsym=__ram=0x82000000 -Wl,--defsym=__ram_size=0x2000000
QEMU = qemu-system-riscv32 -M virt -bios none
# Host kernels (host/c/host_kernels.c): on, in plain C (no DSP extension here).
HOST_KERNELS = 1
