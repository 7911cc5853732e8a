// Lowers SVDF to an SVDF record (assembly/ops/svdf.ts), with TFLM's
// PrepareSvdf (svdf_common.cc): int8 input, feature weights and output, int8
// or int16 time weights with an activation state of the same type, an int32
// bias whose scale is state scale * time weights scale, and the two
// multipliers TFLM computes in float32. Float and hybrid SVDF are refused.
import type { Lowering } from "../lower";
import { quantizeMultiplier } from "../quantization";
import { Tensor, TensorType, TENSOR_TYPE_NAMES } from "../tflite";
import { pushRecord } from "./record";

function perTensorScale(l: Lowering, t: Tensor, role: string): number {
  if (t.scales.length !== 1) l.reject("UNSUPPORTED_TYPE", `${role} "${t.name}" needs one per-tensor scale (TFLM's SVDF reads one)`);
  if ((t.zeroPoints[0] ?? 0) !== 0) l.reject("UNSUPPORTED_TYPE", `${role} "${t.name}" has a non-zero zero point`);
  if (!(t.scales[0] > 0) || !Number.isFinite(t.scales[0])) l.reject("BAD_MODEL", `${role} "${t.name}" has scale ${t.scales[0]}`);
  return t.scales[0];
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  l.arity([5], 1);
  // TFLM's Prepare reads the bias's scale unconditionally: it needs one.
  if (op.inputs[3] < 0) l.reject("UNSUPPORTED_OP", "SVDF without a bias is not supported (TFLM's Prepare needs one)");
  const input = l.activation(op.inputs[0], "input");
  const output = l.activation(op.outputs[0], "output");
  const wf = l.tensor(op.inputs[1], "feature weights"), wt = l.tensor(op.inputs[2], "time weights"), bias = l.tensor(op.inputs[3], "bias");
  if (wf.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", `feature weights "${wf.name}" are not int8 (TFLM's integer SVDF needs int8)`);
  if (wt.type !== TensorType.INT8 && wt.type !== TensorType.INT16) l.reject("UNSUPPORTED_TYPE", `time weights "${wt.name}" are ${TENSOR_TYPE_NAMES[wt.type] ?? wt.type}; TFLM runs int8 or int16`);
  const o = l.options();
  // SVDFOptions: rank 0, fused_activation_function 1 (TFLM's integer kernel does not apply it).
  const rank = o.i32(0);
  if (input.shape.length !== 2 || output.shape.length !== 2 || wf.shape.length !== 2 || wt.shape.length !== 2) l.reject("BAD_MODEL", "input, output and weights must be 2-D");
  const [batches, inputSize] = input.shape;
  const [filters, featureDepth] = wf.shape;
  const memorySize = wt.shape[1];
  if (!(rank >= 1) || filters % rank !== 0) l.reject("BAD_MODEL", `${filters} filters are not a multiple of rank ${rank}`);
  const units = filters / rank;
  if (featureDepth !== inputSize || wt.shape[0] !== filters) l.reject("BAD_MODEL", `weights ${JSON.stringify(wf.shape)} and ${JSON.stringify(wt.shape)} do not fit input ${JSON.stringify(input.shape)}`);
  if (output.shape[0] !== batches || output.shape[1] !== units) l.reject("BAD_MODEL", `output ${JSON.stringify(output.shape)} is not [${batches},${units}]`);
  if (bias.type !== TensorType.INT32 || bias.shape.length !== 1 || bias.shape[0] !== units) l.reject("BAD_MODEL", `bias "${bias.name}" must be ${units} int32 values`);
  const es = wt.type === TensorType.INT16 ? 2 : 1;
  // TFLM reads the state in the time weights' type.
  const state = l.stateTensor(op.inputs[4], "activation state", [wt.type], batches * filters * memorySize * es);
  if (state.shape.length !== 2 || state.shape[0] !== batches || state.shape[1] !== filters * memorySize) l.reject("BAD_MODEL", `activation state ${JSON.stringify(state.shape)} is not [${batches},${filters * memorySize}]`);
  // TFLM's reset fills an int16 state with 0, which this encoding reads as its zero point.
  if (es === 2 && state.quant.zeroPoint !== 0) l.reject("UNSUPPORTED_TYPE", "an int16 activation state must have zero point 0");

  const f32 = Math.fround;
  const wfScale = perTensorScale(l, wf, "feature weights"), wtScale = perTensorScale(l, wt, "time weights");
  const stateScale = state.quant.scale;
  const biasScale = bias.scales[0] ?? 0;
  if (!(Math.abs(biasScale - f32(stateScale * wtScale)) < 1e-5)) l.reject("BAD_MODEL", "bias scale is not activation state scale * time weights scale (TFLM refuses it)");
  const scale1 = quantizeMultiplier(f32(f32(input.quant.scale * wfScale) / stateScale));
  const scale2 = quantizeMultiplier(f32(f32(stateScale * wtScale) / output.quant.scale));
  const timeWeights = wt.data ?? l.reject("UNSUPPORTED_OP", `time weights "${wt.name}" must be a constant`);
  if (timeWeights.length !== filters * memorySize * es) l.reject("BAD_MODEL", `time weights "${wt.name}" hold ${timeWeights.length} bytes, expected ${filters * memorySize * es}`);
  pushRecord(l, opcode, {
    output,
    inputs: [input, state],
    args: [es, batches, inputSize, filters, memorySize, rank, input.quant.zeroPoint, state.quant.zeroPoint, output.quant.zeroPoint, scale1.multiplier, scale1.shift, scale2.multiplier, scale2.shift],
    blocks: [
      l.constant(op.inputs[1], "feature weights", TensorType.INT8, filters * inputSize).data!,
      timeWeights,
      l.constant(op.inputs[3], "bias", TensorType.INT32, units).data!,
    ],
    macs: batches * filters * (inputSize + memorySize),
  });
}
