/*
 * wasm3's settings for Wisp on small RAM, force-included ahead of wasm3's
 * own m3_config.h (which keeps any macro already defined) by the Makefile
 * (WASM3_CONFIG) and the Node binding, so both run the same interpreter:
 * - code pages of 1 KiB instead of 32 KiB: lazily compiled functions fill
 *   them with little slack;
 * - a compiler whose per-function tables (in the runtime, and on the stack
 *   while compiling) hold 200 operand-stack entries instead of 2000; Wisp's
 *   functions need far fewer, and one that needed more would fail to
 *   compile with wasm3's error, not run wrong;
 * - a value stack of 3 KiB (WISP_WASM3_STACK), which every model's deepest
 *   call chain fits; an overflow traps ("stack overflow").
 */
#ifndef WISP_WASM3_SMALL_RAM_H
#define WISP_WASM3_SMALL_RAM_H
#define d_m3CodePageAlignSize 1024
#define d_m3MaxFunctionStackHeight 200
#ifndef WISP_WASM3_STACK
#define WISP_WASM3_STACK 3072u
#endif
#endif
