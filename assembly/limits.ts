// What the .wisp format and the module can hold, as plain integer constants
// so both compilers accept the file. assembly/model.ts enforces the same
// numbers when it loads a model; the converter checks them before emitting.
export const MAX_ARENA_BYTES = 268435456; // 1 << 28, model.ts MAX_ARENA
export const MAX_DIM = 65535; // height, width, channels, rows, depth (model.ts MAX_DIM)
export const MAX_WINDOW = 4096; // kernel size, stride, dilation, padding (model.ts MAX_WINDOW)
export const MAX_WORD = 2147483647; // graph words are i32: every offset, size and count
export const MAX_FILE_BYTES = 4294967295; // the header and section table hold u32 sizes
export const MAX_RANK = 16; // dimensions of a shape in the description section
export const MAX_OP_INPUTS = 256; // input shapes of one op in the description section
