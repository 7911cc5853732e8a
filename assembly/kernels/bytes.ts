// The signed bytes of a little-endian word, lowest first. Kernels load four
// int8 values with one i32 load and split them: fewer loads (each a bounds
// check in wasm2c, a dispatch in wasm3) than four byte loads.
@inline export function byte0(v: i32): i32 { return <i32><i8>v; }
@inline export function byte1(v: i32): i32 { return (v << 16) >> 24; }
@inline export function byte2(v: i32): i32 { return (v << 8) >> 24; }
@inline export function byte3(v: i32): i32 { return v >> 24; }
