// The converter's intermediate form: activation buffers ("values") and the
// lowered ops that read and write them, ready for planning and emitting.

export interface Quant {
  scale: number;
  zeroPoint: number;
}

export interface Value {
  id: number;
  bytes: number;
  shape: number[];
  quant: Quant;
  name: string;
  type: number; // TFLite TensorType: INT8 unless an op says otherwise
}

export interface EncodeContext {
  arena(valueId: number): number; // arena offset of a value
  weights(block: number): number; // weights-section offset of one of the op's blocks
}

export interface LoweredOp {
  opcode: number; // OP_* from assembly/format.ts
  name: string; // TFLite op name, for messages and inspect
  tfliteIndex: number;
  tfliteOutput: number; // output tensor index in the .tflite graph
  inputs: number[]; // value ids read
  output: number; // value id written
  // Bytes by which the output may start before an input that dies here and
  // still never overwrite a byte the kernel has yet to read. null: no overlap.
  overlap: (number | null)[];
  weights: Uint8Array[]; // constant blocks, each placed 4-aligned
  macs: number;
  encode(ctx: EncodeContext): number[]; // parameter words, after [opcode, count]
}

export interface Graph {
  values: Value[];
  ops: LoweredOp[];
  input: number; // value id
  output: number; // value id
  // Float edges removed by the converter: the host quantizes/dequantizes.
  floatInput: boolean;
  floatOutput: boolean;
  // Values alive across invokes (TFLite variable tensors), which the planner
  // keeps apart from everything. The arena is zeroed on load; `fill` is the
  // byte a fresh start holds (0: the owning op encodes its state so).
  variables?: { value: number; name: string; fill: number }[];
}

// Geometry of a sliding-window op (conv, depthwise, pool) over NHWC tensors.
export interface Window {
  inH: number; inW: number; inC: number;
  outH: number; outW: number; outC: number;
  kH: number; kW: number;
  strideH: number; strideW: number;
  dilH: number; dilW: number;
  padTop: number; padLeft: number;
}

// How far the output may start before the input. Kernels write output pixels
// in order and read only their window. A kernel that computes `pixelsPerStep`
// pixels together may write pixel p + pixelsPerStep - 1 while pixel p's
// window is still being read, so that pixel must end before the first input
// pixel any pixel q >= p still reads.
export function windowOverlap(w: Window, pixelsPerStep: number): number {
  const pixels = w.outH * w.outW;
  let minReadAfter = Infinity;
  let allowance = -Infinity;
  for (let p = pixels - 1; p >= 0; p--) {
    const oy = Math.floor(p / w.outW), ox = p % w.outW;
    const iy = Math.min(Math.max(0, oy * w.strideH - w.padTop), w.inH - 1);
    const ix = Math.min(Math.max(0, ox * w.strideW - w.padLeft), w.inW - 1);
    minReadAfter = Math.min(minReadAfter, iy * w.inW + ix);
    allowance = Math.max(allowance, (p + pixelsPerStep) * w.outC - minReadAfter * w.inC);
  }
  return allowance;
}
