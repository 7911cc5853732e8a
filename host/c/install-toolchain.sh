#!/usr/bin/env bash
# Installs the Debian packages the project needs beyond npm: for the firmware
# builds and emulated boards the Arm and RISC-V bare-metal compilers and C
# libraries, QEMU and wabt (wasm2c); for federated learning the Fashion-MNIST
# data set and the mosquitto MQTT broker the tests also run against.
# Run as root; does nothing when everything is already there.
set -euo pipefail
packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm qemu-system-misc gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf wabt cmake dataset-fashion-mnist mosquitto)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-toolchain: run as root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
