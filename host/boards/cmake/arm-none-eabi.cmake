# CMake toolchain for the Cortex-M boards: arm-none-eabi-gcc, bare metal.
# The board's CPU flags come in CMAKE_C_FLAGS (host/boards/<board>/board.mk).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
