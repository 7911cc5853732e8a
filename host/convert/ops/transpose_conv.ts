// Lowers TRANSPOSE_CONV (int8, per-channel or per-tensor symmetric filter,
// optional int32 bias) to a TRANSPOSE_CONV record (assembly/ops/
// transpose_conv.ts). Inputs: output_shape, weights [outC][kH][kW][inC],
// input, bias. Prepare-time arithmetic as TFLM's: the padding comes from
// ComputePaddingHeightWidth applied to the output size, the multipliers from
// PopulateConvolutionQuantizationParams (input * filter / output in double).
import * as F from "../../../assembly/format";
import type { Lowering } from "../lower";
import { activationRange, perChannelMultipliers } from "../quantization";
import { TensorType } from "../tflite";
import { pushRecord } from "./record";

// TFLM's padding for one dimension of a transpose convolution: the output
// size plays the image size; -1 when ComputeOutSize fails (then TFLM leaves
// both paddings at 0).
function padding(padding: number, size: number, filter: number, stride: number): number {
  const out = padding === 0 ? Math.floor((size + stride - 1) / stride) : Math.floor((size + stride - filter) / stride);
  if (out < 0) return -1;
  return Math.floor(Math.max(0, (out - 1) * stride + filter - size) / 2);
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([3, 4], 1);
  const [shapeIndex, filterIndex, inputIndex] = op.inputs;
  const biasIndex = op.inputs.length === 4 ? op.inputs[3] : -1;
  const input = l.activation(inputIndex, "input");
  const output = l.activation(op.outputs[0], "output");
  if (input.shape.length !== 4 || output.shape.length !== 4) l.reject("BAD_MODEL", "input and output must be 4-D NHWC");
  const [batches, inH, inW, inC] = input.shape;
  const [outBatches, outH, outW, outC] = output.shape;
  if (outBatches !== batches) l.reject("BAD_MODEL", `output batch ${outBatches} differs from input batch ${batches}`);
  const shapeTensor = l.tensor(shapeIndex, "output_shape");
  if (shapeTensor.type !== TensorType.INT32) l.reject("UNSUPPORTED_TYPE", "output_shape must be int32");
  if (shapeTensor.data) {
    const s = l.int32s(shapeIndex, "output_shape");
    if (s.length !== 4 || s.some((d, i) => d !== output.shape[i])) l.reject("BAD_MODEL", `output_shape ${JSON.stringify(s)} differs from the output ${JSON.stringify(output.shape)}`);
  }
  const filter = l.tensor(filterIndex, "weights");
  if (filter.shape.length !== 4) l.reject("BAD_MODEL", `weights shape ${JSON.stringify(filter.shape)} is not 4-D`);
  const [fo, kH, kW, fi] = filter.shape;
  if (fo !== outC || fi !== inC) l.reject("BAD_MODEL", `weights shape ${JSON.stringify(filter.shape)} does not match ${inC} input and ${outC} output channels`);
  if (filter.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", "weights must be int8 (TFLM refuses hybrid models)");
  const data = l.constant(filterIndex, "weights", TensorType.INT8, outC * kH * kW * inC).data!;
  if (filter.scales.length !== 1 && filter.scales.length !== outC) l.reject("UNSUPPORTED_TYPE", `weights have ${filter.scales.length} scales for ${outC} channels`);
  if (filter.scales.length > 1 && filter.quantizedDimension !== 0) l.reject("UNSUPPORTED_TYPE", `weights are quantized along dimension ${filter.quantizedDimension}, expected 0`);
  if (filter.zeroPoints.length !== filter.scales.length) l.reject("UNSUPPORTED_TYPE", "weights need one zero point per scale");
  // The kernel ignores the filter zero point, so only symmetric filters mean what they say.
  if (filter.zeroPoints.some((z) => z !== 0)) l.reject("UNSUPPORTED_TYPE", "weights have a non-zero zero point; int8 filters must be symmetric");
  if (filter.scales.some((s) => !(s > 0) || !Number.isFinite(s))) l.reject("BAD_MODEL", "weights have a non-positive scale");
  const o = l.options();
  // TransposeConvOptions: padding 0, stride_w 1, stride_h 2, fused_activation_function 3.
  const pad = o.i8(0), strideW = o.i32(1), strideH = o.i32(2);
  if (pad !== 0 && pad !== 1) l.reject("UNSUPPORTED_OP", `padding mode ${pad} is not supported`);
  if (strideW < 1 || strideH < 1) l.reject("BAD_MODEL", `stride ${strideH}x${strideW} must be at least 1`);
  const iq = input.quant, oq = output.quant;
  const act = activationRange(o.i8(3), oq.scale, oq.zeroPoint, l.where());
  let padTop = padding(pad, outH, kH, strideH), padLeft = padding(pad, outW, kW, strideW);
  if (padTop < 0 || padLeft < 0) padTop = padLeft = 0;
  const mults = perChannelMultipliers(iq.scale, filter.scales, oq.scale, outC);
  let bias: DataView | null = null;
  if (biasIndex >= 0) {
    const b = l.constant(biasIndex, "bias", TensorType.INT32, outC).data!;
    bias = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  const records = new Uint8Array(outC * F.CHANNEL_RECORD_BYTES);
  const view = new DataView(records.buffer);
  for (let c = 0; c < outC; c++) {
    view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_BIAS, bias ? bias.getInt32(4 * c, true) : 0, true);
    view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_MULT, mults[c].multiplier, true);
    view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_SHIFT, mults[c].shift, true);
  }
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, padTop, padLeft, iq.zeroPoint, oq.zeroPoint, act.min, act.max],
    blocks: [new Uint8Array(data.buffer, data.byteOffset, data.length), records],
    macs: batches * inH * inW * inC * kH * kW * outC,
  });
}
