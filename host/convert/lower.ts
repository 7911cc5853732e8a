// Turns a parsed .tflite graph into Wisp ops: checks every op, tensor type,
// shape and quantization it can run; precomputes multipliers, shifts, folded
// biases and activation ranges; rearranges weights for the kernels.
import * as F from "../../assembly/format";
import { fail } from "../errors";
import { Graph, LoweredOp, Quant, Value, Variable, Window, windowOverlap } from "./graph";
import {
  activationRange, perChannelMultipliers, perTensorDenseMultiplier, quantizeMultiplier, softmaxParams,
} from "./quantization";
import { Builtin, Operator, Tensor, TensorType, TENSOR_TYPE_NAMES, TfliteModel, builtinName } from "./tflite";
import { REGISTERED, REGISTERED_TYPED } from "./ops";
import { pushRecord } from "./ops/record";

// Highest op version whose semantics Wisp implements; newer versions add
// types or features (int16, int4, ...) that are rejected.
const MAX_VERSION: Record<number, number> = {
  [Builtin.AVERAGE_POOL_2D]: 2, [Builtin.CONV_2D]: 6, [Builtin.DEPTHWISE_CONV_2D]: 6,
  [Builtin.FULLY_CONNECTED]: 9, [Builtin.MAX_POOL_2D]: 2, [Builtin.RESHAPE]: 2, [Builtin.SOFTMAX]: 2,
  [Builtin.QUANTIZE]: 2, [Builtin.SQUEEZE]: 1, [Builtin.EXPAND_DIMS]: 1,
};

// A PAD over height and width only, whose record a following convolution may
// absorb: padding with the input zero point is exactly what the conv kernels
// do for taps outside the input, so the padded tensor need never exist.
export interface PadInfo {
  op: LoweredOp;
  input: Value;
  top: number;
  bottom: number;
  left: number;
  right: number;
  fill: number;
}

const ELEMENT_BYTES: Record<number, number> = { [TensorType.INT8]: 1, [TensorType.UINT8]: 1, [TensorType.INT16]: 2, [TensorType.INT32]: 4 };

const PADDING_SAME = 0;
const PADDING_VALID = 1;

// The converter's state while it walks a model; the registered ops'
// lowerings (host/convert/ops/) use its checks and push their records.
export class Lowering {
  private values: Value[] = [];
  private valueOf = new Map<number, number>(); // tensor index -> value id
  private ops: LoweredOp[] = [];
  private readers = new Map<number, number>(); // tensor index -> ops (and graph outputs) reading it
  private pads = new Map<number, PadInfo>(); // PAD outputs a convolution may absorb
  op!: Operator; // the op being lowered
  private atModelLevel = false; // past the ops: messages name the model
  private initGraphs = new Set<number>(); // subgraphs lowered as CALL_ONCE init graphs
  // Resource variables (host/convert/ops/variable.ts): each a value that
  // lives in the arena across invokes, filled with `fill` on a fresh start.
  readonly variables: Variable[] = [];
  private redirect = new Map<number, number>(); // value -> the variable it is written into
  private consumed = new Set<Operator>(); // ops an earlier op's lowering took in (float islands)

  constructor(readonly model: TfliteModel) {}

  where(): string {
    if (this.atModelLevel) return "model";
    return `${this.op.subgraph > 0 ? `subgraph ${this.op.subgraph} ` : ""}operator ${this.op.index} (${builtinName(this.op.builtin)})`;
  }

  reject(code: "UNSUPPORTED_OP" | "UNSUPPORTED_TYPE" | "BAD_MODEL" | "DYNAMIC_SHAPE", message: string): never {
    return fail(code, `${this.where()}: ${message}`);
  }

  tensor(i: number, role: string): Tensor {
    const t = this.model.tensors[i];
    if (!t) this.reject("BAD_MODEL", `missing ${role} tensor`);
    if (t.dynamic) this.reject("DYNAMIC_SHAPE", `${role} tensor "${t.name}" has a dynamic shape ${JSON.stringify(t.shape)}`);
    if (t.sparse) this.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" is sparse`);
    return t;
  }

  quant(t: Tensor, role: string): Quant {
    if (t.scales.length !== 1 || t.zeroPoints.length > 1) this.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" needs one per-tensor scale`);
    const scale = t.scales[0];
    const zeroPoint = t.zeroPoints[0] ?? 0;
    if (!(scale > 0) || !Number.isFinite(scale)) this.reject("BAD_MODEL", `${role} tensor "${t.name}" has scale ${scale}`);
    // int16 tensors may sit anywhere in their range (int8 SOFTMAX's int16 output has -32768); the int16 ops check for 0.
    const [lo, hi] = t.type === TensorType.INT16 ? [-32768, 32767] : t.type === TensorType.UINT8 ? [0, 255] : [-128, 127];
    if (zeroPoint < lo || zeroPoint > hi) this.reject("BAD_MODEL", `${role} tensor "${t.name}" has zero point ${zeroPoint}`);
    return { scale, zeroPoint };
  }

  // An activation tensor, as a value (created on first use): int8 unless the
  // op accepts other types (`types`, TFLite TensorType codes).
  activation(i: number, role: string, types: number[] = [TensorType.INT8]): Value {
    const t = this.tensor(i, role);
    if (t.data) this.reject("UNSUPPORTED_OP", `${role} tensor "${t.name}" is a constant; Wisp expects an activation here`);
    const typeName = (x: number) => TENSOR_TYPE_NAMES[x] ?? String(x);
    if (!types.includes(t.type)) this.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" is ${typeName(t.type)}; Wisp runs ${types.map(typeName).join(" or ").toLowerCase()} here`);
    if (t.isVariable) this.reject("UNSUPPORTED_OP", `${role} tensor "${t.name}" is a variable (stateful) tensor`);
    const existing = this.valueOf.get(i);
    // A reshaped tensor shares its input's buffer but keeps its own shape.
    if (existing !== undefined) return { ...this.values[existing], shape: t.shape };
    const elements = t.shape.reduce((a, b) => a * b, 1);
    const bytes = elements * ELEMENT_BYTES[t.type];
    if (t.shape.some((d) => d <= 0) || !Number.isSafeInteger(bytes) || bytes > 1 << 28) this.reject("BAD_MODEL", `${role} tensor "${t.name}" has shape ${JSON.stringify(t.shape)}`);
    // int32 results (ARG_MAX) carry no quantization.
    const quant = t.type === TensorType.INT32 && t.scales.length === 0 ? { scale: 1, zeroPoint: 0 } : this.quant(t, role);
    const value: Value = { id: this.values.length, bytes, shape: t.shape, quant, name: t.name, type: t.type };
    this.values.push(value);
    this.valueOf.set(i, value.id);
    return value;
  }

  // A variable tensor (an LSTM or SVDF state) as a value of its own, `bytes`
  // long in the layout its op chooses, alive across invokes like a resource
  // variable and zero-filled on a fresh start (load, reset), so the op must
  // read all-zero bytes as TFLM's reset state.
  stateTensor(i: number, role: string, types: number[], bytes: number): Value {
    const t = this.tensor(i, role);
    const typeName = (x: number) => TENSOR_TYPE_NAMES[x] ?? String(x);
    if (!t.isVariable) this.reject("BAD_MODEL", `${role} tensor "${t.name}" must be a variable tensor`);
    if (t.data) this.reject("UNSUPPORTED_OP", `${role} tensor "${t.name}" is a variable with initial data`);
    if (!types.includes(t.type)) this.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" is ${typeName(t.type)}; Wisp runs ${types.map(typeName).join(" or ").toLowerCase()} here`);
    if (this.valueOf.has(i)) this.reject("UNSUPPORTED_OP", `${role} tensor "${t.name}" is used by another op too`);
    if (t.shape.some((d) => d <= 0)) this.reject("BAD_MODEL", `${role} tensor "${t.name}" has shape ${JSON.stringify(t.shape)}`);
    const value: Value = { id: this.values.length, bytes, shape: t.shape, quant: this.quant(t, role), name: t.name, type: t.type };
    this.values.push(value);
    this.valueOf.set(i, value.id);
    this.variables.push({
      value, name: t.name, fill: 0,
      pushFill: () => pushRecord(this, REGISTERED.ASSIGN_VARIABLE.opcode, { output: value, inputs: [], args: [0], tfliteOutput: i, name: "VARIABLE_FILL" }),
    });
    return value;
  }

  constant(i: number, role: string, type: number, elements: number): Tensor {
    const t = this.tensor(i, role);
    if (t.type !== type) this.reject("UNSUPPORTED_TYPE", `${role} tensor "${t.name}" is ${TENSOR_TYPE_NAMES[t.type] ?? t.type}, expected ${TENSOR_TYPE_NAMES[type]}`);
    const elementBytes = type === TensorType.INT32 ? 4 : 1;
    if (!t.data) this.reject("UNSUPPORTED_OP", `${role} tensor "${t.name}" must be a constant`);
    if (t.data.length !== elements * elementBytes) this.reject("BAD_MODEL", `${role} tensor "${t.name}" holds ${t.data.length} bytes, expected ${elements * elementBytes}`);
    return t;
  }

  options() {
    if (!this.op.options) this.reject("BAD_MODEL", "builtin options are missing");
    return this.op.options;
  }

  arity(inputs: number[], outputs: number): void {
    const n = this.op.inputs.length;
    if (!inputs.includes(n)) this.reject("BAD_MODEL", `has ${n} inputs, expected ${inputs.join(" or ")}`);
    if (this.op.outputs.length !== outputs) this.reject("BAD_MODEL", `has ${this.op.outputs.length} outputs, expected ${outputs}`);
  }

  nhwc(v: Value, role: string): [number, number, number] {
    if (v.shape.length !== 4) this.reject("UNSUPPORTED_OP", `${role} must be 4-D NHWC, got shape ${JSON.stringify(v.shape)}`);
    if (v.shape[0] !== 1) this.reject("UNSUPPORTED_OP", `${role} has batch ${v.shape[0]}; Wisp runs batch 1`);
    return [v.shape[1], v.shape[2], v.shape[3]];
  }

  // TFLite's output size and TFLM's padding for one spatial dimension.
  spatial(padding: number, size: number, filter: number, stride: number, dilation: number, expectedOut: number, axis: string) {
    if (stride < 1 || dilation < 1) this.reject("BAD_MODEL", `${axis} stride ${stride} / dilation ${dilation} must be at least 1`);
    const effective = (filter - 1) * dilation + 1;
    let out: number;
    if (padding === PADDING_SAME) out = Math.floor((size + stride - 1) / stride);
    else if (padding === PADDING_VALID) out = Math.floor((size + stride - effective) / stride);
    else return this.reject("UNSUPPORTED_OP", `padding mode ${padding} is not supported`);
    if (out !== expectedOut) this.reject("BAD_MODEL", `output ${axis} is ${expectedOut}, but the op computes ${out}`);
    const total = Math.max(0, (out - 1) * stride + effective - size);
    return Math.floor(total / 2);
  }

  push(op: Omit<LoweredOp, "name" | "tfliteIndex" | "tfliteOutput">, tfliteOutput = this.op.outputs[0], name = builtinName(this.op.builtin)): void {
    this.ops.push({ ...op, name, tfliteIndex: this.atModelLevel ? 0 : this.op.index, tfliteOutput });
  }

  // Marks a later op as lowered already, by the op being lowered: the walk skips it.
  consume(op: Operator): void {
    this.consumed.add(op);
  }

  // The op just pushed, for lowerings that refer back to it.
  lastOp(): LoweredOp {
    return this.ops[this.ops.length - 1];
  }

  notePad(tensorIndex: number, pad: PadInfo): void {
    this.pads.set(tensorIndex, pad);
  }

  // Makes output tensor `tensorIndex` share the buffer of `input` (ops that
  // only rename: RESHAPE, SQUEEZE, EXPAND_DIMS).
  alias(tensorIndex: number, input: Value): void {
    if (this.valueOf.has(tensorIndex)) this.reject("BAD_MODEL", "output tensor is written twice");
    this.valueOf.set(tensorIndex, input.id);
  }

  // A constant int32 tensor's values (axes, paddings, shapes, begins).
  int32s(i: number, role: string): number[] {
    const t = this.tensor(i, role);
    const data = this.constant(i, role, TensorType.INT32, Math.floor((t.data?.length ?? 0) / 4)).data!;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return Array.from({ length: data.length / 4 }, (_, k) => view.getInt32(4 * k, true));
  }

  run(): Graph {
    const m = this.model;
    if (m.inputs.length !== 1 || m.outputs.length !== 1) fail("UNSUPPORTED_OP", `model has ${m.inputs.length} inputs and ${m.outputs.length} outputs; Wisp runs one of each`);
    let inputTensor = m.inputs[0];
    let outputTensor = m.outputs[0];
    let floatInput = false;
    let floatOutput = false;
    const ops = m.operators.slice();
    for (const g of m.subgraphs) for (const t of [...g.operators.flatMap((o) => o.inputs), ...g.outputs]) this.readers.set(t, (this.readers.get(t) ?? 0) + 1);
    // Float edges: a QUANTIZE right after a float input or a DEQUANTIZE right
    // before a float output is done by the host, so the module stays int8.
    const first = ops[0];
    if (first && first.builtin === Builtin.QUANTIZE && first.inputs[0] === inputTensor && m.tensors[inputTensor]?.type === TensorType.FLOAT32 && m.tensors[first.outputs[0]]?.type === TensorType.INT8) {
      inputTensor = first.outputs[0];
      floatInput = true;
      ops.shift();
    }
    const last = ops[ops.length - 1];
    if (last && last.builtin === Builtin.DEQUANTIZE && last.outputs[0] === outputTensor && m.tensors[outputTensor]?.type === TensorType.FLOAT32 && m.tensors[last.inputs[0]]?.type === TensorType.INT8) {
      outputTensor = last.inputs[0];
      floatOutput = true;
      ops.pop();
    }
    for (const op of ops) {
      this.op = op;
      this.lowerOp(op);
    }
    this.atModelLevel = true;
    m.subgraphs.forEach((_, k) => {
      if (k > 0 && !this.initGraphs.has(k)) fail("UNSUPPORTED_OP", `subgraph ${k} is not the init graph of a CALL_ONCE; Wisp runs further subgraphs only as CALL_ONCE init graphs`);
    });
    const input = this.activation(inputTensor, "model input", [TensorType.INT8, TensorType.INT16, TensorType.UINT8]);
    const output = this.activation(outputTensor, "model output", [TensorType.INT8, TensorType.INT16, TensorType.INT32, TensorType.UINT8]);
    // A fresh start (load, reset) first fills every variable, as TFLM does
    // when it allocates them: one ONCE block ahead of everything else.
    if (this.variables.length > 0) {
      const body = this.ops;
      this.ops = [];
      this.once(() => this.variables.forEach((v) => v.pushFill()));
      this.ops.push(...body);
    }
    return {
      values: this.values, ops: this.ops, input: input.id, output: output.id, floatInput, floatOutput,
      variables: this.variables.map((v) => ({ value: v.value.id, name: v.name, fill: v.fill })),
      redirect: this.redirect,
    };
  }

  // ASSIGN_VARIABLE without a copy: makes the op that produced `value` write
  // it straight into `variable`, when that changes nothing: the producer is
  // the op that made this very tensor (`tensor`), it reads the variable only
  // element by element in place (overlap 0), and no op after it has read or
  // written the variable yet. (Readers of the value after the ASSIGN are the
  // caller's to check.) Returns whether it did.
  writeInto(tensor: number, value: Value, variable: Value): boolean {
    const at = this.ops.findIndex((o) => o.output === value.id);
    if (at < 0 || this.redirect.has(value.id)) return false;
    const producer = this.ops[at];
    if (producer.tfliteOutput !== tensor || producer.opcode === F.OP_ONCE) return false;
    const held = (v: number) => (this.redirect.get(v) ?? v) === variable.id;
    if (producer.inputs.some((v, k) => held(v) && producer.overlap[k] !== 0)) return false;
    for (const o of this.ops.slice(at + 1)) if (o.inputs.some(held) || (o.output >= 0 && held(o.output))) return false;
    this.redirect.set(value.id, variable.id);
    return true;
  }

  // A value of its own, bound to no tensor (a resource variable's storage).
  addValue(v: Omit<Value, "id">): Value {
    const value: Value = { ...v, id: this.values.length };
    this.values.push(value);
    return value;
  }

  // Records pushed by `body` run only on the first invoke after a load or a
  // reset: a ONCE record in front of them says how many to skip otherwise.
  once(body: () => void): void {
    let count = 0;
    const marker: LoweredOp = {
      opcode: F.OP_ONCE, name: this.atModelLevel ? "ONCE" : "CALL_ONCE", tfliteIndex: this.atModelLevel ? 0 : this.op.index, tfliteOutput: 0,
      inputs: [], output: -1, overlap: [], weights: [], macs: 0, encode: () => [count],
    };
    this.ops.push(marker);
    body();
    count = this.ops.length - this.ops.indexOf(marker) - 1;
  }

  // CALL_ONCE: lowers init subgraph `k` in place, inside a ONCE block.
  lowerInitGraph(k: number): void {
    const g = this.model.subgraphs[k];
    if (!g || k === 0) this.reject("BAD_MODEL", `init subgraph ${k} does not exist`);
    if (this.initGraphs.has(k)) this.reject("UNSUPPORTED_OP", `subgraph ${k} is the init graph of more than one CALL_ONCE`);
    if (g.inputs.length > 0 || g.outputs.length > 0) this.reject("BAD_MODEL", `init subgraph ${k} has inputs or outputs; CALL_ONCE passes none`);
    this.initGraphs.add(k);
    const caller = this.op;
    this.once(() => {
      for (const op of g.operators) {
        this.op = op;
        this.lowerOp(op);
      }
    });
    this.op = caller;
  }

  private lowerOp(op: Operator): void {
    if (this.consumed.has(op)) return;
    if (op.custom) this.reject("UNSUPPORTED_OP", `custom op "${op.custom}" is not supported`);
    refuseFloat(this, op);
    // An entry with "types" (int16 variants) takes the op only for those types.
    const typed = REGISTERED_TYPED[builtinName(op.builtin)];
    const typeOf = (i: number | undefined) => TENSOR_TYPE_NAMES[this.model.tensors[i ?? -1]?.type ?? -1];
    const registered = typed?.types!.some((t) => t === typeOf(op.inputs[0]) || t === typeOf(op.outputs[0])) ? typed : REGISTERED[builtinName(op.builtin)];
    if (registered) {
      if (op.version > registered.maxVersion) this.reject("UNSUPPORTED_OP", `op version ${op.version} is not supported (Wisp runs up to version ${registered.maxVersion})`);
      return registered.lower(this, builtinName(op.builtin), registered.opcode);
    }
    const maxVersion = MAX_VERSION[op.builtin];
    if (maxVersion === undefined) this.reject("UNSUPPORTED_OP", "this op is not supported by Wisp");
    if (op.version > maxVersion) this.reject("UNSUPPORTED_OP", `op version ${op.version} is not supported (Wisp runs up to version ${maxVersion})`);
    switch (op.builtin) {
      case Builtin.CONV_2D: return this.conv(false);
      case Builtin.DEPTHWISE_CONV_2D: return this.conv(true);
      case Builtin.FULLY_CONNECTED: return this.dense();
      case Builtin.AVERAGE_POOL_2D: return this.pool(F.OP_AVG_POOL);
      case Builtin.MAX_POOL_2D: return this.pool(F.OP_MAX_POOL);
      case Builtin.SOFTMAX: return this.softmax();
      case Builtin.RESHAPE:
      case Builtin.SQUEEZE:
      case Builtin.EXPAND_DIMS: return this.reshape();
      case Builtin.QUANTIZE: return this.requantize();
    }
  }

  // Per output channel: the bias, the multiplier and the shift, as one 12-byte record.
  private channelRecords(biasIndex: number, channels: number, mults: { multiplier: number; shift: number }[]): Uint8Array {
    let bias: Int32Array | null = null;
    if (biasIndex >= 0) {
      const t = this.constant(biasIndex, "bias", TensorType.INT32, channels);
      const d = t.data!;
      bias = new Int32Array(channels);
      const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
      for (let c = 0; c < channels; c++) bias[c] = view.getInt32(4 * c, true);
    }
    const out = new Uint8Array(channels * F.CHANNEL_RECORD_BYTES);
    const view = new DataView(out.buffer);
    for (let c = 0; c < channels; c++) {
      view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_BIAS, bias ? bias[c] : 0, true);
      view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_MULT, mults[c].multiplier, true);
      view.setInt32(c * F.CHANNEL_RECORD_BYTES + F.CHANNEL_SHIFT, mults[c].shift, true);
    }
    return out;
  }

  private filterQuant(t: Tensor, channels: number, dimension: number): number[] {
    if (t.scales.length !== 1 && t.scales.length !== channels) this.reject("UNSUPPORTED_TYPE", `filter "${t.name}" has ${t.scales.length} scales for ${channels} channels`);
    if (t.scales.length > 1 && t.quantizedDimension !== dimension) this.reject("UNSUPPORTED_TYPE", `filter "${t.name}" is quantized along dimension ${t.quantizedDimension}, expected ${dimension}`);
    if (t.zeroPoints.some((z) => z !== 0)) this.reject("UNSUPPORTED_TYPE", `filter "${t.name}" has a non-zero zero point; int8 filters must be symmetric`);
    if (t.scales.some((s) => !(s > 0) || !Number.isFinite(s))) this.reject("BAD_MODEL", `filter "${t.name}" has a non-positive scale`);
    return t.scales;
  }

  private conv(depthwise: boolean): void {
    this.arity([2, 3], 1);
    const [filterIndex, biasIndex] = [this.op.inputs[1], this.op.inputs[2] ?? -1];
    let input = this.activation(this.op.inputs[0], "input");
    const output = this.activation(this.op.outputs[0], "output");
    let [inH, inW, inC] = this.nhwc(input, "input");
    const [outH, outW, outC] = this.nhwc(output, "output");
    const filter = this.tensor(filterIndex, "filter");
    if (filter.shape.length !== 4) this.reject("BAD_MODEL", `filter shape ${JSON.stringify(filter.shape)} is not 4-D`);
    const o = this.options();
    // Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4, dilation_h 5.
    // DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, depth_multiplier 3, activation 4, dilation_w 5, dilation_h 6.
    const padding = o.i8(0), strideW = o.i32(1), strideH = o.i32(2);
    const activation = o.i8(depthwise ? 4 : 3);
    const dilW = o.i32(depthwise ? 5 : 4, 1), dilH = o.i32(depthwise ? 6 : 5, 1);
    let kH: number, kW: number;
    if (depthwise) {
      const [one, fh, fw, fc] = filter.shape;
      if (one !== 1 || fc !== outC) this.reject("BAD_MODEL", `depthwise filter shape ${JSON.stringify(filter.shape)} does not match ${outC} output channels`);
      if (outC % inC !== 0) this.reject("BAD_MODEL", `depthwise output channels ${outC} are not a multiple of input channels ${inC}`);
      [kH, kW] = [fh, fw];
    } else {
      const [fo, fh, fw, fi] = filter.shape;
      if (fo !== outC) this.reject("BAD_MODEL", `filter has ${fo} output channels, output has ${outC}`);
      // Grouped: the int16x8 convolution's kernel has an int8 mode for it.
      if (fi !== inC) {
        const grouped = REGISTERED_TYPED.CONV_2D;
        return grouped.lower(this, "CONV_2D", grouped.opcode);
      }
      [kH, kW] = [fh, fw];
    }
    let padTop = this.spatial(padding, inH, kH, strideH, dilH, outH, "height");
    let padLeft = this.spatial(padding, inW, kW, strideW, dilW, outW, "width");
    // A PAD read only by this conv, filling with its input zero point, becomes the conv's own padding.
    const pad = this.pads.get(this.op.inputs[0]);
    if (pad && this.readers.get(this.op.inputs[0]) === 1 && pad.fill === input.quant.zeroPoint && !(kH === 1 && kW === 1)) {
      this.ops.splice(this.ops.indexOf(pad.op), 1);
      [padTop, padLeft] = [padTop + pad.top, padLeft + pad.left];
      [inH, inW] = [inH - pad.top - pad.bottom, inW - pad.left - pad.right];
      input = { ...pad.input, quant: input.quant };
    }
    const taps = kH * kW;
    const filterData = this.constant(filterIndex, "filter", TensorType.INT8, outC * taps * (depthwise ? 1 : inC)).data!;
    const signed = new Int8Array(filterData.buffer, filterData.byteOffset, filterData.length);
    const scales = this.filterQuant(filter, outC, depthwise ? 3 : 0);
    const iq = input.quant, oq = output.quant;
    const mults = perChannelMultipliers(iq.scale, scales, oq.scale, outC);
    const act = activationRange(activation, oq.scale, oq.zeroPoint, this.where());

    // Depthwise filters go from [1][kH][kW][outC] to [outC][kH*kW].
    let weights: Int8Array = signed;
    if (depthwise) {
      weights = new Int8Array(outC * taps);
      for (let c = 0; c < outC; c++) for (let k = 0; k < taps; k++) weights[c * taps + k] = signed[k * outC + c];
    }
    const records = this.channelRecords(biasIndex, outC, mults);
    const macs = outH * outW * outC * taps * (depthwise ? 1 : inC);
    const blocks = [new Uint8Array(weights.buffer, weights.byteOffset, weights.length), records];
    // A 1x1, stride-1 convolution is a FULLY_CONNECTED over pixels: same
    // arithmetic, and the dense kernel's row pairing suits it better.
    if (!depthwise && kH === 1 && kW === 1 && strideH === 1 && strideW === 1) {
      this.pushDense(input.id, output.id, outH * outW, inC, outC, iq.zeroPoint, oq.zeroPoint, act, blocks, macs);
      return;
    }
    const win: Window = { inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft };
    this.push({
      opcode: depthwise ? F.OP_DEPTHWISE : F.OP_CONV,
      inputs: [input.id],
      output: output.id,
      // convS8 and depthwiseS8 compute pixels in pairs.
      overlap: [windowOverlap(win, 2)],
      weights: blocks,
      macs,
      encode: (ctx) => [
        ctx.arena(input.id), ctx.arena(output.id), inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW,
        dilH, dilW, padTop, padLeft, iq.zeroPoint, oq.zeroPoint, act.min, act.max, ctx.weights(0), ctx.weights(1),
      ],
    });
  }

  private dense(): void {
    this.arity([2, 3], 1);
    const o = this.options();
    // FullyConnectedOptions: activation 0, weights_format 1, keep_num_dims 2.
    if (o.i8(1) !== 0) this.reject("UNSUPPORTED_OP", "shuffled weights format is not supported");
    const input = this.activation(this.op.inputs[0], "input");
    const output = this.activation(this.op.outputs[0], "output");
    const [filterIndex, biasIndex] = [this.op.inputs[1], this.op.inputs[2] ?? -1];
    const filter = this.tensor(filterIndex, "weights");
    if (filter.shape.length !== 2) this.reject("BAD_MODEL", `weights shape ${JSON.stringify(filter.shape)} is not 2-D`);
    const [outC, depth] = filter.shape;
    if (input.bytes % depth !== 0) this.reject("BAD_MODEL", `input of ${input.bytes} values is not a multiple of the weights depth ${depth}`);
    const rows = input.bytes / depth;
    if (output.bytes !== rows * outC) this.reject("BAD_MODEL", `output has ${output.bytes} values, expected ${rows * outC}`);
    const data = this.constant(filterIndex, "weights", TensorType.INT8, outC * depth).data!;
    const scales = this.filterQuant(filter, outC, 0);
    const iq = input.quant, oq = output.quant;
    let mults;
    if (scales.length > 1) {
      mults = perChannelMultipliers(iq.scale, scales, oq.scale, outC);
    } else {
      this.checkBiasScale(biasIndex, iq.scale * scales[0], oq.scale);
      mults = new Array(outC).fill(perTensorDenseMultiplier(iq.scale, scales[0], oq.scale));
    }
    const act = activationRange(o.i8(0), oq.scale, oq.zeroPoint, this.where());
    const records = this.channelRecords(biasIndex, outC, mults);
    this.pushDense(input.id, output.id, rows, depth, outC, iq.zeroPoint, oq.zeroPoint, act, [data, records], rows * outC * depth);
  }

  private pushDense(input: number, output: number, rows: number, depth: number, outC: number, inZp: number, outZp: number,
    act: { min: number; max: number }, weights: Uint8Array[], macs: number): void {
    // Rows are computed in pairs: treat them as pixels of a 1-wide image.
    const rowsAsPixels: Window = { inH: 1, inW: rows, inC: depth, outH: 1, outW: rows, outC, kH: 1, kW: 1, strideH: 1, strideW: 1, dilH: 1, dilW: 1, padTop: 0, padLeft: 0 };
    this.push({
      opcode: F.OP_DENSE,
      inputs: [input],
      output,
      overlap: [windowOverlap(rowsAsPixels, 2)],
      weights,
      macs,
      encode: (ctx) => [ctx.arena(input), ctx.arena(output), rows, depth, outC, inZp, outZp, act.min, act.max, ctx.weights(0), ctx.weights(1)],
    });
  }

  // TFLM refuses a per-tensor FULLY_CONNECTED whose bias scale strays from
  // input scale * filter scale by more than 2% of the output scale.
  private checkBiasScale(biasIndex: number, productScale: number, outputScale: number): void {
    if (biasIndex < 0) return;
    const bias = this.tensor(biasIndex, "bias");
    if (bias.scales.length === 0) return;
    if (Math.abs(productScale - bias.scales[0]) / outputScale > 0.02) this.reject("BAD_MODEL", "bias scale does not match input scale * weights scale");
  }

  private pool(opcode: number): void {
    this.arity([1], 1);
    const input = this.activation(this.op.inputs[0], "input");
    const output = this.activation(this.op.outputs[0], "output");
    const [inH, inW, c] = this.nhwc(input, "input");
    const [outH, outW, outC] = this.nhwc(output, "output");
    if (outC !== c) this.reject("BAD_MODEL", `output has ${outC} channels, input has ${c}`);
    const o = this.options();
    // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4, activation 5.
    const padding = o.i8(0), strideW = o.i32(1), strideH = o.i32(2), kW = o.i32(3), kH = o.i32(4);
    if (kW < 1 || kH < 1) this.reject("BAD_MODEL", `filter size ${kH}x${kW} is invalid`);
    const padTop = this.spatial(padding, inH, kH, strideH, 1, outH, "height");
    const padLeft = this.spatial(padding, inW, kW, strideW, 1, outW, "width");
    const oq = output.quant;
    const act = activationRange(o.i8(5), oq.scale, oq.zeroPoint, this.where());
    const win: Window = { inH, inW, inC: c, outH, outW, outC: c, kH, kW, strideH, strideW, dilH: 1, dilW: 1, padTop, padLeft };
    this.push({
      opcode,
      inputs: [input.id],
      output: output.id,
      overlap: [windowOverlap(win, 1)],
      weights: [],
      macs: 0,
      encode: (ctx) => [ctx.arena(input.id), ctx.arena(output.id), inH, inW, c, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, act.min, act.max],
    });
  }

  private softmax(): void {
    this.arity([1], 1);
    const input = this.activation(this.op.inputs[0], "input");
    const output = this.activation(this.op.outputs[0], "output");
    if (output.bytes !== input.bytes) this.reject("BAD_MODEL", "output size differs from input size");
    const oq = output.quant;
    if (oq.zeroPoint !== -128 || oq.scale !== 1 / 256) this.reject("UNSUPPORTED_TYPE", `int8 SOFTMAX output must have scale 1/256 and zero point -128 (got ${oq.scale}, ${oq.zeroPoint})`);
    const depth = input.shape[input.shape.length - 1];
    const rows = input.bytes / depth;
    const p = softmaxParams(this.options().f32(0), input.quant.scale);
    this.push({
      opcode: F.OP_SOFTMAX,
      inputs: [input.id],
      output: output.id,
      overlap: [0], // each element is written after its last read
      weights: [],
      macs: 0,
      encode: (ctx) => [ctx.arena(input.id), ctx.arena(output.id), rows, depth, p.multiplier, p.leftShift, p.diffMin],
    });
  }

  // RESHAPE, SQUEEZE and EXPAND_DIMS only rename: the output tensor shares the input's value.
  private reshape(): void {
    this.arity(this.op.builtin === Builtin.SQUEEZE ? [1] : this.op.builtin === Builtin.EXPAND_DIMS ? [2] : [1, 2], 1);
    const input = this.activation(this.op.inputs[0], "input");
    const out = this.tensor(this.op.outputs[0], "output");
    if (out.type !== TensorType.INT8) this.reject("UNSUPPORTED_TYPE", "output is not int8");
    const bytes = out.shape.reduce((a, b) => a * b, 1);
    if (bytes !== input.bytes) this.reject("BAD_MODEL", `reshapes ${input.bytes} values into ${JSON.stringify(out.shape)}`);
    const q = this.quant(out, "output");
    if (q.scale !== input.quant.scale || q.zeroPoint !== input.quant.zeroPoint) this.reject("UNSUPPORTED_TYPE", "output quantization differs from the input's");
    this.alias(this.op.outputs[0], input);
  }

  private requantize(): void {
    this.arity([1], 1);
    const input = this.activation(this.op.inputs[0], "input");
    const output = this.activation(this.op.outputs[0], "output");
    if (output.bytes !== input.bytes) this.reject("BAD_MODEL", "output size differs from input size");
    const { multiplier, shift } = quantizeMultiplier(input.quant.scale / output.quant.scale);
    this.push({
      opcode: F.OP_REQUANTIZE,
      inputs: [input.id],
      output: output.id,
      overlap: [0],
      weights: [],
      macs: 0,
      encode: (ctx) => [ctx.arena(input.id), ctx.arena(output.id), input.bytes, input.quant.zeroPoint, output.quant.zeroPoint, multiplier, shift],
    });
  }
}

// What to do with a float32 model: Wisp runs integer models exactly as TFLM's
// integer kernels do, and does not quantize a float model itself (that needs
// the model's real input distribution, which only the user has).
export const FLOAT_MODEL_ADVICE = "Wisp runs integer-quantized models and does not quantize float models itself. " +
  "Convert the model again with full-integer quantization: converter = tf.lite.TFLiteConverter.from_keras_model(model) (or from_saved_model); " +
  "converter.optimizations = [tf.lite.Optimize.DEFAULT]; converter.representative_dataset = a generator yielding ~100 real input samples; " +
  "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; converter.inference_input_type = tf.int8 (or tf.uint8); " +
  "converter.inference_output_type = tf.int8 (or tf.uint8). From Edge Impulse, deploy the \"Quantized (int8)\" model. See docs/state-and-types.md";

// Refuses an op that computes in float32 (the float edges, a QUANTIZE first
// and a DEQUANTIZE last, are removed before this; QUANTIZE and DEQUANTIZE
// elsewhere keep their own messages).
function refuseFloat(l: Lowering, op: Operator): void {
  if (op.builtin === Builtin.QUANTIZE || op.builtin === Builtin.DEQUANTIZE) return;
  const tensors = [...op.inputs, ...op.outputs].filter((i) => i >= 0).map((i) => l.model.tensors[i]).filter((t) => t);
  const float = tensors.find((t) => t.type === TensorType.FLOAT32 && !t.data) ?? tensors.find((t) => t.type === TensorType.FLOAT32);
  if (!float) return;
  // Dynamic-range quantization keeps int8 weights but computes in float32.
  const hybrid = tensors.some((t) => t.data && t.type === TensorType.INT8) ? " (int8 weights with float32 activations: dynamic-range quantization, which leaves the arithmetic in float32)" : "";
  l.reject("UNSUPPORTED_TYPE", `computes in float32: tensor "${float.name}" is float32${hybrid}. This is a float model. ${FLOAT_MODEL_ADVICE}`);
}

export function lower(model: TfliteModel): Graph {
  return new Lowering(model).run();
}
