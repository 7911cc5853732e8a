// Lowers CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int16
// activations and int8 weights (TFLite's 16x8 quantization) to CONV16
// records (assembly/ops/conv16.ts). Prepare as TFLM's: per-channel
// multipliers input * filter / output in double (per-tensor dense: the
// product in float32), int64 or int32 bias, the int16 activation range.
// The int8 grouped CONV_2D (filter depth < input depth) comes here too, from
// the built-in int8 convolution (lower.ts): same kernel, int8 mode, int32 bias.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import { activationRange, perChannelMultipliers, perTensorDenseMultiplier, roundHalfAwayFromZero } from "../quantization";
import { TensorType } from "../tflite";
import { pushRecord } from "./record";

// An int16 activation; TFLite's int16 scheme is symmetric (zero point 0).
export function int16(l: Lowering, index: number, role: string): Value {
  const v = l.activation(index, role, [TensorType.INT16]);
  if (v.quant.zeroPoint !== 0) l.reject("UNSUPPORTED_TYPE", `int16 ${role} has zero point ${v.quant.zeroPoint}, not 0`);
  return v;
}

// CalculateActivationRangeQuantized for an int16 output (zero point 0).
export function range16(l: Lowering, activation: number, scale: number): [number, number] {
  const q = (f: number) => roundHalfAwayFromZero(Math.fround(f / scale));
  const lo = -32768, hi = 32767;
  switch (activation) {
    case 0: return [lo, hi];
    case 1: return [Math.max(lo, q(0)), hi];
    case 2: return [Math.max(lo, q(-1)), Math.min(hi, q(1))];
    case 3: return [Math.max(lo, q(0)), Math.min(hi, q(6))];
  }
  return l.reject("UNSUPPORTED_OP", `fused activation ${activation} is not supported`);
}

// AVERAGE_POOL_2D and MAX_POOL_2D: CONV16 records in modes 2 and 3.
function pool(l: Lowering, builtin: string, opcode: number): void {
  l.arity([1], 1);
  const input = int16(l, l.op.inputs[0], "input");
  const output = int16(l, l.op.outputs[0], "output");
  const [inH, inW, c] = l.nhwc(input, "input");
  const [outH, outW, outC] = l.nhwc(output, "output");
  if (outC !== c) l.reject("BAD_MODEL", `output has ${outC} channels, input has ${c}`);
  // TFLM: |input scale - output scale| (float32) at most 1e-6.
  if (Math.abs(Math.fround(input.quant.scale - output.quant.scale)) > 1e-6) l.reject("BAD_MODEL", "input and output scales differ");
  const o = l.options();
  // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4, activation 5.
  const sW = o.i32(1), sH = o.i32(2), kW = o.i32(3), kH = o.i32(4);
  if (kW < 1 || kH < 1) l.reject("BAD_MODEL", `filter size ${kH}x${kW} is invalid`);
  const padTop = l.spatial(o.i8(0), inH, kH, sH, 1, outH, "height");
  const padLeft = l.spatial(o.i8(0), inW, kW, sW, 1, outW, "width");
  const [actMin, actMax] = range16(l, o.i8(5), output.quant.scale);
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [inH, inW, c, outH, outW, c, kH, kW, sH, sW, 1, 1, padTop, padLeft, 1, 1, actMin, actMax, builtin === "MAX_POOL_2D" ? 3 : 2],
  });
}

// RESHAPE, SQUEEZE, EXPAND_DIMS: the output shares the input's buffer.
function rename(l: Lowering, builtin: string): void {
  l.arity(builtin === "SQUEEZE" ? [1] : builtin === "EXPAND_DIMS" ? [2] : [1, 2], 1);
  const input = int16(l, l.op.inputs[0], "input");
  const out = l.tensor(l.op.outputs[0], "output");
  if (out.type !== TensorType.INT16) l.reject("UNSUPPORTED_TYPE", "output is not int16");
  if (out.shape.reduce((a, b) => a * b, 1) * 2 !== input.bytes) l.reject("BAD_MODEL", `reshapes ${input.bytes / 2} values into ${JSON.stringify(out.shape)}`);
  const q = l.quant(out, "output");
  if (q.scale !== input.quant.scale || q.zeroPoint !== 0) l.reject("UNSUPPORTED_TYPE", "output quantization differs from the input's");
  l.alias(l.op.outputs[0], input);
}

// The int16 variants of the built-in lowerings (lower.ts), by builtin.
export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin.endsWith("POOL_2D")) return pool(l, builtin, opcode);
  if (!builtin.includes("CONV") && builtin !== "FULLY_CONNECTED") return rename(l, builtin);
  const op = l.op;
  const dense = builtin === "FULLY_CONNECTED", depthwise = builtin === "DEPTHWISE_CONV_2D";
  l.arity([2, 3], 1);
  // Only the int8 grouped CONV_2D reaches here with an int8 input.
  const int8 = l.tensor(op.inputs[0], "input").type === TensorType.INT8;
  // An int16 input with another output type (TFLM refuses it): the int8 op's message.
  if (!int8 && l.tensor(op.outputs[0], "output").type !== TensorType.INT16) l.activation(op.inputs[0], "input");
  const input = int8 ? l.activation(op.inputs[0], "input") : int16(l, op.inputs[0], "input");
  const output = int8 ? l.activation(op.outputs[0], "output") : int16(l, op.outputs[0], "output");
  const filter = l.tensor(op.inputs[1], "filter");
  if (filter.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", `int${int8 ? 8 : 16} input needs int8 weights (Wisp runs no others)`);
  const o = l.options();
  let inH = 1, inW: number, inC: number, outH = 1, outW: number, outC: number, kH = 1, kW = 1, icPer: number, cDiv: number;
  let sH = 1, sW = 1, dH = 1, dW = 1, padTop = 0, padLeft = 0, activation: number, biasTypeOption: number;
  let weights: Int8Array;
  if (dense) {
    // FullyConnectedOptions: activation 0, weights_format 1, keep_num_dims 2, asymmetric 3, quantized_bias_type 4.
    if (o.i8(1) !== 0) l.reject("UNSUPPORTED_OP", "shuffled weights format is not supported");
    if (filter.shape.length !== 2) l.reject("BAD_MODEL", `weights shape ${JSON.stringify(filter.shape)} is not 2-D`);
    [outC, inC] = filter.shape;
    const elements = input.bytes / 2;
    if (elements % inC !== 0 || output.bytes / 2 !== (elements / inC) * outC) l.reject("BAD_MODEL", `input ${JSON.stringify(input.shape)} and output ${JSON.stringify(output.shape)} do not fit weights ${JSON.stringify(filter.shape)}`);
    inW = outW = elements / inC;
    icPer = inC;
    cDiv = outC;
    activation = o.i8(0);
    biasTypeOption = o.i8(4);
  } else {
    [inH, inW, inC] = l.nhwc(input, "input");
    [outH, outW, outC] = l.nhwc(output, "output");
    if (filter.shape.length !== 4) l.reject("BAD_MODEL", `filter shape ${JSON.stringify(filter.shape)} is not 4-D`);
    // Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4, dilation_h 5, quantized_bias_type 6.
    // DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, depth_multiplier 3, activation 4, dilation_w 5, dilation_h 6.
    sW = o.i32(1); sH = o.i32(2);
    activation = o.i8(depthwise ? 4 : 3);
    dW = o.i32(depthwise ? 5 : 4, 1); dH = o.i32(depthwise ? 6 : 5, 1);
    biasTypeOption = depthwise ? 0 : o.i8(6);
    const [fo, fh, fw, fi] = filter.shape;
    [kH, kW] = [fh, fw];
    if (depthwise) {
      if (fo !== 1 || fi !== outC || outC % inC !== 0) l.reject("BAD_MODEL", `depthwise filter ${JSON.stringify(filter.shape)} does not fit ${inC} -> ${outC} channels`);
      icPer = 1;
      cDiv = outC / inC;
    } else {
      if (fo !== outC || inC % fi !== 0 || outC % (inC / fi) !== 0) l.reject("BAD_MODEL", `filter ${JSON.stringify(filter.shape)} does not fit ${inC} -> ${outC} channels`);
      icPer = fi;
      cDiv = outC / (inC / fi);
    }
    padTop = l.spatial(o.i8(0), inH, kH, sH, dH, outH, "height");
    padLeft = l.spatial(o.i8(0), inW, kW, sW, dW, outW, "width");
  }
  const taps = kH * kW * icPer;
  const raw = l.constant(op.inputs[1], "filter", TensorType.INT8, outC * taps).data!;
  weights = new Int8Array(raw.buffer, raw.byteOffset, raw.length) as Int8Array;
  if (depthwise) {
    // [1][kH][kW][outC] -> [outC][kH][kW].
    const t = new Int8Array(weights.length);
    for (let c = 0; c < outC; c++) for (let k = 0; k < taps; k++) t[c * taps + k] = weights[k * outC + c];
    weights = t;
  }
  const scales = filter.scales;
  if (scales.length !== 1 && scales.length !== outC) l.reject("UNSUPPORTED_TYPE", `filter has ${scales.length} scales for ${outC} channels`);
  if (scales.length > 1 && filter.quantizedDimension !== (depthwise ? 3 : 0)) l.reject("UNSUPPORTED_TYPE", `filter is quantized along dimension ${filter.quantizedDimension}`);
  if (filter.zeroPoints.some((z) => z !== 0)) l.reject("UNSUPPORTED_TYPE", "filter has a non-zero zero point");
  if (scales.some((s) => !(s > 0) || !Number.isFinite(s))) l.reject("BAD_MODEL", "filter has a non-positive scale");
  const iq = input.quant, oq = output.quant;
  const biasIndex = op.inputs[2] ?? -1;
  const bias = biasIndex >= 0 ? l.tensor(biasIndex, "bias") : null;
  if (dense && scales.length === 1 && bias && bias.scales.length > 0 && Math.abs(iq.scale * scales[0] - bias.scales[0]) / oq.scale > 0.02) l.reject("BAD_MODEL", "bias scale does not match input scale * weights scale");
  const mults = dense && scales.length === 1
    ? new Array(outC).fill(perTensorDenseMultiplier(iq.scale, scales[0], oq.scale))
    : perChannelMultipliers(iq.scale, scales, oq.scale, outC);
  // TFLM sums in int32 with an int32 bias (or none and quantized_bias_type INT32), else in int64; int8 always in int32.
  const wide = !int8 && (bias ? bias.type === TensorType.INT64 : biasTypeOption !== TensorType.INT32);
  if (int8 && bias && bias.type !== TensorType.INT32) l.reject("UNSUPPORTED_TYPE", "int8 CONV_2D needs an int32 bias");
  if (!int8 && bias && bias.type !== TensorType.INT64 && (depthwise || bias.type !== TensorType.INT32)) l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} needs an int64${depthwise ? "" : " or int32"} bias`);
  if (bias && (!bias.data || bias.data.length !== outC * (wide ? 8 : 4))) l.reject("BAD_MODEL", `bias must be a constant of ${outC} values`);
  const records = new Uint8Array(outC * 16);
  const rv = new DataView(records.buffer);
  const bv = bias ? new DataView(bias.data!.buffer, bias.data!.byteOffset, bias.data!.length) : null;
  for (let c = 0; c < outC; c++) {
    rv.setBigInt64(16 * c, bv ? (wide ? bv.getBigInt64(8 * c, true) : BigInt(bv.getInt32(4 * c, true))) : 0n, true);
    rv.setInt32(16 * c + 8, mults[c].multiplier, true);
    rv.setInt32(16 * c + 12, mults[c].shift, true);
  }
  let actMin: number, actMax: number;
  if (int8) ({ min: actMin, max: actMax } = activationRange(activation, oq.scale, oq.zeroPoint, l.where()));
  else [actMin, actMax] = range16(l, activation, oq.scale);
  const mode = int8 ? 4 : wide ? 1 : 0;
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, icPer, cDiv, actMin, actMax, mode, ...(int8 ? [iq.zeroPoint, oq.zeroPoint] : [])],
    blocks: [new Uint8Array(weights.buffer, weights.byteOffset, weights.length), records],
    macs: outH * outW * outC * taps,
  });
}
