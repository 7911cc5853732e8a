// Lowers RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (int8, 4-D, constant
// size) to RESIZE records (assembly/ops/resize.ts) with the source rows and
// columns computed here exactly as TFLM computes them at run time: float32
// index arithmetic for nearest (GetNearestNeighbor), 10-bit fixed point for
// bilinear (ResizeBilinearInteger). Neither rescales: like TFLM, the output
// takes the input's quantization.
import type { Lowering } from "../lower";
import { roundHalfAwayFromZero } from "../quantization";
import { TensorType } from "../tflite";
import { pushRecord } from "./record";

const f = Math.fround;

// GetNearestNeighbor, in float32.
function nearest(value: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number {
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / f(outSize - 1)) : f(inSize / f(outSize));
  const offset = halfPixel ? 0.5 : 0;
  const scaled = f(f(value + offset) * scale);
  let v = Math.min(alignCorners ? roundHalfAwayFromZero(scaled) : Math.floor(scaled), inSize - 1);
  if (halfPixel) v = Math.max(0, v);
  return v;
}

// ComputeInterpolationValuesInteger: (lower, upper, 10-bit offset from lower).
function bilinear(value: number, scale10: number, halfPixel: boolean, inSize: number): [number, number, number] {
  const scaled = halfPixel ? value * scale10 + Math.trunc(scale10 / 2) - (1 << 9) : value * scale10;
  const lower = Math.max(Math.trunc(scaled / 1024), 0);
  const upper = Math.min(Math.trunc((scaled + 1023) / 1024), inSize - 1);
  return [lower, upper, scaled - 1024 * lower];
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([2], 1);
  const input = l.activation(op.inputs[0], "input");
  const output = l.activation(op.outputs[0], "output");
  if (input.shape.length !== 4) l.reject("BAD_MODEL", `input must be 4-D, got ${JSON.stringify(input.shape)}`);
  const sizeTensor = l.tensor(op.inputs[1], "size");
  if (sizeTensor.type !== TensorType.INT32 || sizeTensor.shape.length !== 1 || sizeTensor.shape[0] !== 2) l.reject("BAD_MODEL", "size must be a 1-D int32 tensor of 2 values");
  if (!sizeTensor.data) l.reject("UNSUPPORTED_OP", "a non-constant size is not supported (TFLM refuses it)");
  const [outH, outW] = l.int32s(op.inputs[1], "size");
  const [batches, inH, inW, depth] = input.shape;
  const expected = [batches, outH, outW, depth];
  if (output.shape.length !== 4 || output.shape.some((d, i) => d !== expected[i])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match ${JSON.stringify(expected)}`);
  if (inH > 0xffff || inW > 0xffff || outH > 0xffff || outW > 0xffff) l.reject("UNSUPPORTED_OP", "image too large");
  const o = l.options();
  // ResizeBilinearOptions: align_corners 2, half_pixel_centers 3 (0 and 1 are deprecated);
  // ResizeNearestNeighborOptions: align_corners 0, half_pixel_centers 1.
  const isBilinear = builtin === "RESIZE_BILINEAR";
  const alignCorners = o.u8(isBilinear ? 2 : 0) !== 0, halfPixel = o.u8(isBilinear ? 3 : 1) !== 0;
  const table: number[] = [];
  if (isBilinear) {
    if (alignCorners && halfPixel) l.reject("BAD_MODEL", "align_corners and half_pixel_centers cannot both be set (TFLM refuses it)");
    const scale10 = (inSize: number, outSize: number) => (alignCorners && outSize > 1
      ? Math.trunc(((1 << 10) * (inSize - 1) + Math.trunc((outSize - 1) / 2)) / (outSize - 1))
      : Math.trunc(((1 << 10) * inSize + Math.trunc(outSize / 2)) / outSize));
    const sh = scale10(inH, outH), sw = scale10(inW, outW);
    for (let y = 0; y < outH; y++) table.push(...bilinear(y, sh, halfPixel, inH));
    for (let x = 0; x < outW; x++) table.push(...bilinear(x, sw, halfPixel, inW));
  } else {
    for (let y = 0; y < outH; y++) { const s = nearest(y, inH, outH, alignCorners, halfPixel); table.push(s, s, 0); }
    for (let x = 0; x < outW; x++) { const s = nearest(x, inW, outW, alignCorners, halfPixel); table.push(s, s, 0); }
  }
  pushRecord(l, opcode, { output, inputs: [input], args: [isBilinear ? 1 : 0, batches, inH, inW, depth, outH, outW, ...table] });
}
