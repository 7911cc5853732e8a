export declare const MAX_ARENA_BYTES = 268435456;
export declare const MAX_DIM = 65535;
export declare const MAX_WINDOW = 4096;
export declare const MAX_WORD = 2147483647;
export declare const MAX_FILE_BYTES = 4294967295;
export declare const MAX_RANK = 16;
export declare const MAX_OP_INPUTS = 256;
