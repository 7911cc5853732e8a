// Reads a .tflite flatbuffer into plain objects. Field ids follow the TFLite
// schema (tensorflow/compiler/mlir/lite/schema/schema.fbs).
import { fail } from "../errors";
import { FlatBuffer, Table } from "./flatbuffer";

export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, STRING: 5, BOOL: 6, INT16: 7, INT8: 9, RESOURCE: 13 } as const;
export const TENSOR_TYPE_NAMES: Record<number, string> = {
  0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL", 7: "INT16",
  8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 11: "COMPLEX128", 12: "UINT64", 13: "RESOURCE", 14: "VARIANT",
  15: "UINT32", 16: "UINT16", 17: "INT4",
};

// Every builtin operator code of the TFLite schema (BuiltinOperator), so
// messages name any op a model holds.
export const Builtin = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEPTH_TO_SPACE: 5, DEQUANTIZE: 6,
  EMBEDDING_LOOKUP: 7, FLOOR: 8, FULLY_CONNECTED: 9, HASHTABLE_LOOKUP: 10, L2_NORMALIZATION: 11, L2_POOL_2D: 12,
  LOCAL_RESPONSE_NORMALIZATION: 13, LOGISTIC: 14, LSH_PROJECTION: 15, LSTM: 16, MAX_POOL_2D: 17, MUL: 18, RELU: 19,
  RELU_N1_TO_1: 20, RELU6: 21, RESHAPE: 22, RESIZE_BILINEAR: 23, RNN: 24, SOFTMAX: 25, SPACE_TO_DEPTH: 26, SVDF: 27,
  TANH: 28, CONCAT_EMBEDDINGS: 29, SKIP_GRAM: 30, CALL: 31, CUSTOM: 32, EMBEDDING_LOOKUP_SPARSE: 33, PAD: 34,
  UNIDIRECTIONAL_SEQUENCE_RNN: 35, GATHER: 36, BATCH_TO_SPACE_ND: 37, SPACE_TO_BATCH_ND: 38, TRANSPOSE: 39, MEAN: 40,
  SUB: 41, DIV: 42, SQUEEZE: 43, UNIDIRECTIONAL_SEQUENCE_LSTM: 44, STRIDED_SLICE: 45, BIDIRECTIONAL_SEQUENCE_RNN: 46,
  EXP: 47, TOPK_V2: 48, SPLIT: 49, LOG_SOFTMAX: 50, DELEGATE: 51, BIDIRECTIONAL_SEQUENCE_LSTM: 52, CAST: 53,
  PRELU: 54, MAXIMUM: 55, ARG_MAX: 56, MINIMUM: 57, LESS: 58, NEG: 59, PADV2: 60, GREATER: 61, GREATER_EQUAL: 62,
  LESS_EQUAL: 63, SELECT: 64, SLICE: 65, SIN: 66, TRANSPOSE_CONV: 67, SPARSE_TO_DENSE: 68, TILE: 69, EXPAND_DIMS: 70,
  EQUAL: 71, NOT_EQUAL: 72, LOG: 73, SUM: 74, SQRT: 75, RSQRT: 76, SHAPE: 77, POW: 78, ARG_MIN: 79, FAKE_QUANT: 80,
  REDUCE_PROD: 81, REDUCE_MAX: 82, PACK: 83, LOGICAL_OR: 84, ONE_HOT: 85, LOGICAL_AND: 86, LOGICAL_NOT: 87,
  UNPACK: 88, REDUCE_MIN: 89, FLOOR_DIV: 90, REDUCE_ANY: 91, SQUARE: 92, ZEROS_LIKE: 93, FILL: 94, FLOOR_MOD: 95,
  RANGE: 96, RESIZE_NEAREST_NEIGHBOR: 97, LEAKY_RELU: 98, SQUARED_DIFFERENCE: 99, MIRROR_PAD: 100, ABS: 101,
  SPLIT_V: 102, UNIQUE: 103, CEIL: 104, REVERSE_V2: 105, ADD_N: 106, GATHER_ND: 107, COS: 108, WHERE: 109, RANK: 110,
  ELU: 111, REVERSE_SEQUENCE: 112, MATRIX_DIAG: 113, QUANTIZE: 114, MATRIX_SET_DIAG: 115, ROUND: 116,
  HARD_SWISH: 117, IF: 118, WHILE: 119, NON_MAX_SUPPRESSION_V4: 120, NON_MAX_SUPPRESSION_V5: 121, SCATTER_ND: 122,
  SELECT_V2: 123, DENSIFY: 124, SEGMENT_SUM: 125, BATCH_MATMUL: 126, PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
  CUMSUM: 128, CALL_ONCE: 129, BROADCAST_TO: 130, RFFT2D: 131, CONV_3D: 132, HASHTABLE: 136, HASHTABLE_FIND: 137,
  HASHTABLE_IMPORT: 138, HASHTABLE_SIZE: 139, REDUCE_ALL: 140, CONV_3D_TRANSPOSE: 141, VAR_HANDLE: 142,
  READ_VARIABLE: 143, ASSIGN_VARIABLE: 144, BROADCAST_ARGS: 145, RANDOM_STANDARD_NORMAL: 146, BUCKETIZE: 147,
  RANDOM_UNIFORM: 148, MULTINOMIAL: 149, GELU: 150, DYNAMIC_UPDATE_SLICE: 151, RELU_0_TO_1: 152,
  UNSORTED_SEGMENT_PROD: 153, UNSORTED_SEGMENT_MAX: 154, UNSORTED_SEGMENT_SUM: 155, ATAN2: 156,
  UNSORTED_SEGMENT_MIN: 157, SIGN: 158, BITCAST: 159, BITWISE_XOR: 160, RIGHT_SHIFT: 161,
} as const;
export const BUILTIN_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Builtin).map(([k, v]) => [v, k]));

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `builtin op ${code}`;
}

export interface Tensor {
  index: number;
  name: string;
  shape: number[];
  dynamic: boolean; // a -1 in the shape, or in shape_signature past the batch dimension
  type: number;
  data: Uint8Array | null; // constant data, or null for activations
  scales: number[];
  zeroPoints: number[];
  quantizedDimension: number;
  sparse: boolean;
  isVariable: boolean;
}

export interface Operator {
  index: number; // within its subgraph
  subgraph: number; // 0: the main graph
  builtin: number;
  custom: string;
  version: number;
  inputs: number[]; // -1 marks an omitted optional input
  outputs: number[];
  options: Table | null;
}

// Tensors of every subgraph sit in one list: subgraph k's tensor i is
// tensors[subgraphs[k].tensorBase + i], and operators refer to them so.
// `operators`, `inputs` and `outputs` are the main graph's (subgraph 0).
export interface Subgraph {
  tensorBase: number;
  operators: Operator[];
  inputs: number[];
  outputs: number[];
}

export interface TfliteModel {
  tensors: Tensor[];
  operators: Operator[];
  inputs: number[];
  outputs: number[];
  subgraphs: Subgraph[];
}

const FILE_IDENTIFIER = "TFL3";

export function readTflite(bytes: Uint8Array): TfliteModel {
  if (bytes.length < 8) fail("BAD_TFLITE", "file is too short to be a .tflite model");
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== FILE_IDENTIFIER) fail("BAD_TFLITE", `not a .tflite model (file identifier "${ident.replace(/[^\x20-\x7e]/g, "?")}", expected "TFL3")`);
  const fb = new FlatBuffer(bytes);
  const model = fb.root();

  const codes = model.tables(1).map((c) => ({
    // Builtin codes above 127 live in builtin_code; older files only fill the deprecated byte.
    builtin: Math.max(c.i8(0), c.i32(3)),
    custom: c.string(1),
    version: c.i32(2, 1),
  }));
  const buffers = model.tables(4);
  const graphs = model.tables(2);
  if (graphs.length === 0) fail("BAD_TFLITE", "model has no subgraphs");
  // A model may hold several subgraphs (CALL_ONCE's init graphs); their
  // tensors are numbered on from the main graph's.
  const tensors: Tensor[] = [];
  const subgraphs = graphs.map((graph, subgraph): Subgraph => {
    const tensorBase = tensors.length;
    const own = graph.tables(0);
    own.forEach((t, i) => tensors.push(readTensor(t, tensorBase + i, buffers, bytes)));
    const where = (s: string) => (subgraph === 0 ? s : `subgraph ${subgraph} ${s}`);
    const checkTensorIndex = (i: number, role: string) => {
      if (!Number.isInteger(i) || i < -1 || i >= own.length) fail("BAD_TFLITE", `${where(role)} refers to tensor ${i}, but the graph has ${own.length}`);
      return i < 0 ? i : tensorBase + i;
    };
    const operators = graph.tables(3).map((op, index): Operator => {
      const codeIndex = op.u32(0);
      if (codeIndex >= codes.length) fail("BAD_TFLITE", `${where(`operator ${index}`)} has opcode index ${codeIndex}, but the model has ${codes.length} opcodes`);
      const code = codes[codeIndex];
      return {
        index,
        subgraph,
        builtin: code.builtin,
        custom: code.custom,
        version: code.version,
        inputs: op.i32s(1).map((i) => checkTensorIndex(i, `operator ${index}`)),
        outputs: op.i32s(2).map((i) => checkTensorIndex(i, `operator ${index}`)),
        options: op.table(4),
      };
    });
    const inputs = graph.i32s(1).map((i) => checkTensorIndex(i, "graph input"));
    const outputs = graph.i32s(2).map((i) => checkTensorIndex(i, "graph output"));
    return { tensorBase, operators, inputs, outputs };
  });
  const main = subgraphs[0];
  return { tensors, operators: main.operators, inputs: main.inputs, outputs: main.outputs, subgraphs };
}

function readTensor(t: Table, index: number, buffers: Table[], file: Uint8Array): Tensor {
  const shape = t.i32s(0);
  const signature = t.i32s(7);
  const bufferIndex = t.u32(2);
  if (bufferIndex >= buffers.length && bufferIndex !== 0) fail("BAD_TFLITE", `tensor ${index} refers to buffer ${bufferIndex}, but the model has ${buffers.length}`);
  let data: Uint8Array | null = null;
  if (bufferIndex > 0) {
    const buffer = buffers[bufferIndex];
    data = buffer.bytes(0);
    const offset = buffer.i64(1);
    const size = buffer.i64(2);
    // Models over 2 GB keep buffers after the flatbuffer, addressed by offset.
    if (offset > 1) {
      if (offset + size > file.length) fail("BAD_TFLITE", `tensor ${index}: external buffer runs past the end of the file`);
      data = file.subarray(offset, offset + size);
    }
    if (data && data.length === 0) data = null;
  }
  const q = t.table(4);
  if (q && q.has(5)) fail("UNSUPPORTED_TYPE", `tensor ${index} uses custom quantization details`);
  return {
    index,
    name: t.string(3),
    shape,
    // Keras exports mark the batch as -1 in shape_signature; like TFLM, Wisp
    // runs the stored shape (batch 1). Any other unknown dimension is dynamic.
    dynamic: signature.some((d, i) => d < 0 && i > 0) || shape.some((d) => d < 0),
    type: t.u8(1),
    data,
    scales: q ? q.f32s(2) : [],
    zeroPoints: q ? q.i64s(3) : [],
    quantizedDimension: q ? q.i32(6) : 0,
    sparse: t.has(6),
    isVariable: t.u8(5) !== 0,
  };
}
