// Reads a .tflite flatbuffer into plain objects. Field ids follow the TFLite
// schema (tensorflow/compiler/mlir/lite/schema/schema.fbs).
import { fail } from "../errors";
import { FlatBuffer, Table } from "./flatbuffer";

export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, STRING: 5, BOOL: 6, INT16: 7, INT8: 9 } as const;
export const TENSOR_TYPE_NAMES: Record<number, string> = {
  0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL", 7: "INT16",
  8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 11: "COMPLEX128", 12: "UINT64", 13: "RESOURCE", 14: "VARIANT",
  15: "UINT32", 16: "UINT16", 17: "INT4",
};

export const Builtin = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9,
  MAX_POOL_2D: 17, RESHAPE: 22, SOFTMAX: 25, MEAN: 40, QUANTIZE: 114,
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
  index: number;
  builtin: number;
  custom: string;
  version: number;
  inputs: number[]; // -1 marks an omitted optional input
  outputs: number[];
  options: Table | null;
}

export interface TfliteModel {
  tensors: Tensor[];
  operators: Operator[];
  inputs: number[];
  outputs: number[];
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
  const subgraphs = model.tables(2);
  if (subgraphs.length !== 1) fail("UNSUPPORTED_OP", `model has ${subgraphs.length} subgraphs; Wisp runs single-subgraph models`);
  const graph = subgraphs[0];

  const tensors = graph.tables(0).map((t, index) => readTensor(t, index, buffers, bytes));
  const checkTensorIndex = (i: number, where: string) => {
    if (!Number.isInteger(i) || i < -1 || i >= tensors.length) fail("BAD_TFLITE", `${where} refers to tensor ${i}, but the graph has ${tensors.length}`);
    return i;
  };
  const operators = graph.tables(3).map((op, index): Operator => {
    const codeIndex = op.u32(0);
    if (codeIndex >= codes.length) fail("BAD_TFLITE", `operator ${index} has opcode index ${codeIndex}, but the model has ${codes.length} opcodes`);
    const code = codes[codeIndex];
    return {
      index,
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
  return { tensors, operators, inputs, outputs };
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
