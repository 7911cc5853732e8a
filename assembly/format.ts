// The `.wisp` binary format, shared by the runtime (AssemblyScript) and the
// host converter (TypeScript). Only plain integer constants live here so that
// both compilers accept the file. The layout is documented in docs/wisp-format.md.

export const WISP_MAGIC = 0x50534957; // "WISP" read as a little-endian u32
// Version 2: the registered ops of assembly/ops/ (opcodes from 16). Files of
// version 1 are refused with a message that says to convert again.
// Version 3: ONCE records (CALL_ONCE init graphs, resource variables) and
// uint8 tensors. A version 2 file holds none of them and loads as it is.
// Version 4: LUT records (opcode 52), which replace the int8 kinds of
// ACTIVATION and SIGMOID; a version 2 or 3 file loads unless it holds those
// kinds, which are refused with a message that says to convert again.
export const WISP_VERSION = 4;
export const WISP_OLDEST_VERSION = 2;

// Header: magic, version, file size, CRC32 of every byte after the header.
export const HEADER_BYTES = 16;
// After the header: section count, then one (kind, offset, size) entry each.
export const SECTION_ENTRY_BYTES = 12;
export const MAX_SECTIONS = 8;

export const SECTION_GRAPH = 1; // i32 words: graph header, then op records
export const SECTION_WEIGHTS = 2; // raw bytes, 4-aligned blocks
export const SECTION_META = 3; // UTF-8 JSON for hosts; the runtime ignores it

// Graph header words.
export const GRAPH_ARENA_BYTES = 0;
export const GRAPH_INPUT_OFFSET = 1;
export const GRAPH_INPUT_BYTES = 2;
export const GRAPH_OUTPUT_OFFSET = 3;
export const GRAPH_OUTPUT_BYTES = 4;
export const GRAPH_OP_COUNT = 5;
export const GRAPH_HEADER_WORDS = 6;

// Every op record starts with [opcode, word count including these two].
export const OP_HEADER_WORDS = 2;

export const OP_CONV = 1;
export const OP_DEPTHWISE = 2;
export const OP_DENSE = 3;
export const OP_AVG_POOL = 4;
export const OP_MAX_POOL = 5;
// 6 and 7 were ADD and MEAN in format version 1; they are registered ops now.
export const OP_SOFTMAX = 8;
export const OP_REQUANTIZE = 9;
// ONCE: the next `count` records run only on the first invoke after a load
// or a reset (CALL_ONCE's init graph, the variables' first fill).
export const OP_ONCE = 10;
export const ONCE_COUNT = 0;
export const ONCE_WORDS = 1;
// Opcodes from here on belong to the registered ops (assembly/ops/registry.json).
export const FIRST_REGISTERED_OPCODE = 16;

// CONV and DEPTHWISE parameters (word index after the op header).
export const CONV_IN = 0;
export const CONV_OUT = 1;
export const CONV_IN_H = 2;
export const CONV_IN_W = 3;
export const CONV_IN_C = 4;
export const CONV_OUT_H = 5;
export const CONV_OUT_W = 6;
export const CONV_OUT_C = 7;
export const CONV_K_H = 8;
export const CONV_K_W = 9;
export const CONV_STRIDE_H = 10;
export const CONV_STRIDE_W = 11;
export const CONV_DIL_H = 12;
export const CONV_DIL_W = 13;
export const CONV_PAD_TOP = 14;
export const CONV_PAD_LEFT = 15;
export const CONV_IN_ZP = 16;
export const CONV_OUT_ZP = 17;
export const CONV_ACT_MIN = 18;
export const CONV_ACT_MAX = 19;
export const CONV_WEIGHTS = 20; // weights-section offset of the filter
export const CONV_CHANNELS = 21; // weights-section offset of the per-channel records
export const CONV_WORDS = 22;

// DENSE parameters. Weights are [outC][depth]; rows = batches.
export const DENSE_IN = 0;
export const DENSE_OUT = 1;
export const DENSE_ROWS = 2;
export const DENSE_DEPTH = 3;
export const DENSE_OUT_C = 4;
export const DENSE_IN_ZP = 5;
export const DENSE_OUT_ZP = 6;
export const DENSE_ACT_MIN = 7;
export const DENSE_ACT_MAX = 8;
export const DENSE_WEIGHTS = 9;
export const DENSE_CHANNELS = 10;
export const DENSE_WORDS = 11;

// Per-output-channel record in the weights section: the int32 bias, then the
// requantization multiplier and shift.
export const CHANNEL_BIAS = 0;
export const CHANNEL_MULT = 4;
export const CHANNEL_SHIFT = 8;
export const CHANNEL_RECORD_BYTES = 12;

// AVG_POOL and MAX_POOL parameters.
export const POOL_IN = 0;
export const POOL_OUT = 1;
export const POOL_IN_H = 2;
export const POOL_IN_W = 3;
export const POOL_C = 4;
export const POOL_OUT_H = 5;
export const POOL_OUT_W = 6;
export const POOL_K_H = 7;
export const POOL_K_W = 8;
export const POOL_STRIDE_H = 9;
export const POOL_STRIDE_W = 10;
export const POOL_PAD_TOP = 11;
export const POOL_PAD_LEFT = 12;
export const POOL_ACT_MIN = 13;
export const POOL_ACT_MAX = 14;
export const POOL_WORDS = 15;

// SOFTMAX over the last dimension.
export const SOFTMAX_IN = 0;
export const SOFTMAX_OUT = 1;
export const SOFTMAX_ROWS = 2;
export const SOFTMAX_DEPTH = 3;
export const SOFTMAX_MULT = 4;
export const SOFTMAX_LEFT_SHIFT = 5;
export const SOFTMAX_DIFF_MIN = 6;
export const SOFTMAX_WORDS = 7;

// REQUANTIZE: int8 -> int8 with new scale and zero point (QUANTIZE op).
export const REQUANT_IN = 0;
export const REQUANT_OUT = 1;
export const REQUANT_COUNT = 2;
export const REQUANT_IN_ZP = 3;
export const REQUANT_OUT_ZP = 4;
export const REQUANT_MULT = 5;
export const REQUANT_SHIFT = 6;
export const REQUANT_WORDS = 7;


// The error codes the runtime returns are part of the ABI, declared in
// abi.json with the exports; host/gen-abi.mjs writes them to error-codes.ts.
export * from "./error-codes";
