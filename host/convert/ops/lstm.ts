// Lowers UNIDIRECTIONAL_SEQUENCE_LSTM to an LSTM record (assembly/ops/lstm.ts),
// with TFLM's Prepare (unidirectional_sequence_lstm.cc, lstm_eval_common.cc):
// the standard LSTM only (every gate, no peephole, projection or layer norm;
// TFLM refuses the rest), int8 or int16 activations, int8 weights, an int16
// cell state. Each gate's two fully connected parts requantize to Q3.12
// (scale 2^-12) with input * weight scales multiplied in float32; the gate
// products use 2^-15 outputs of sigmoid/tanh.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import { perTensorDenseMultiplier, quantizeMultiplier } from "../quantization";
import { Tensor, TensorType } from "../tflite";
import { pushRecord } from "./record";
import { checkedLog2, sigmoidTable } from "./sigmoid";

// Input slots (TFLM's lstm_shared.h): weights per gate, in the record's gate order.
const INPUT_WEIGHTS = [1, 2, 3, 4]; // input, forget, cell, output
const RECURRENT_WEIGHTS = [5, 6, 7, 8];
const BIASES = [12, 13, 14, 15];
const VARIANT_SLOTS: [number[], string][] = [[[9, 10, 11], "peephole"], [[16, 17], "projection"], [[20, 21, 22, 23], "layer normalization"]];
const HIDDEN_STATE = 18;
const CELL_STATE = 19;

const GATE_INPUT_SCALE = 2 ** -12; // what the fully connected parts produce
const GATE_OUTPUT_SCALE = 2 ** -15; // what sigmoid and tanh produce
const ACTIVATION_TANH = 4;

export function lower(l: Lowering, builtin: string, opcode: number): void {
  const op = l.op;
  if (op.inputs.length !== 24 || op.outputs.length !== 1) l.reject("BAD_MODEL", `has ${op.inputs.length} inputs and ${op.outputs.length} outputs, expected 24 and 1`);
  const slot = (k: number) => op.inputs[k];
  for (const [slots, what] of VARIANT_SLOTS) if (slots.some((k) => slot(k) >= 0)) l.reject("UNSUPPORTED_OP", `the ${what} LSTM variant is not supported (TFLM runs the standard LSTM only)`);
  for (const k of [...INPUT_WEIGHTS, ...RECURRENT_WEIGHTS, ...BIASES]) if (slot(k) < 0) l.reject("UNSUPPORTED_OP", `input ${k} is missing: TFLM runs the standard LSTM only (no CIFG)`);
  const inType = l.tensor(slot(0), "input").type;
  if (inType !== TensorType.INT8 && inType !== TensorType.INT16) l.activation(slot(0), "input", [TensorType.INT8, TensorType.INT16]);
  const wide = inType === TensorType.INT16;
  const input = l.activation(slot(0), "input", [inType]);
  const output = l.activation(op.outputs[0], "output", [inType]);
  if (wide && (input.quant.zeroPoint !== 0 || output.quant.zeroPoint !== 0)) l.reject("UNSUPPORTED_TYPE", "int16 activations must have zero point 0");

  if (input.shape.length !== 3 || output.shape.length !== 3) l.reject("BAD_MODEL", `input ${JSON.stringify(input.shape)} and output ${JSON.stringify(output.shape)} must be 3-D`);
  const o = l.options();
  // UnidirectionalSequenceLSTMOptions: activation 0, cell_clip 1, proj_clip 2, time_major 3.
  const timeMajor = o.i8(3) !== 0;
  const [d0, d1, inputSize] = input.shape;
  const [batches, steps] = timeMajor ? [d1, d0] : [d0, d1];
  const hiddenTensor = l.tensor(slot(HIDDEN_STATE), "hidden state");
  if (hiddenTensor.shape.length !== 2) l.reject("BAD_MODEL", `hidden state shape ${JSON.stringify(hiddenTensor.shape)} is not 2-D`);
  const units = hiddenTensor.shape[1];
  if (output.shape[0] !== d0 || output.shape[1] !== d1 || output.shape[2] !== units) l.reject("BAD_MODEL", `output ${JSON.stringify(output.shape)} does not fit input ${JSON.stringify(input.shape)} and ${units} units`);
  // UnidirectionalSequenceLSTMOptions 5: diagonal_recurrent_tensors (recurrent weights as [S] diagonals).
  if (o.i8(5) !== 0) l.reject("UNSUPPORTED_OP", "diagonal recurrent weights are not supported (TFLM's kernel takes full matrices)");
  if (o.i8(0) !== ACTIVATION_TANH) l.reject("UNSUPPORTED_OP", `cell activation ${o.i8(0)} is not supported (TFLM runs TANH only)`);

  // The hidden state becomes an input, so it has the activations' type; Wisp keeps it as int16 h - zero point.
  const hidden: Value = l.stateTensor(slot(HIDDEN_STATE), "hidden state", [inType], batches * units * 2);
  const cell: Value = l.stateTensor(slot(CELL_STATE), "cell state", [TensorType.INT16], batches * units * 2);
  for (const [v, role] of [[hidden, "hidden state"], [cell, "cell state"]] as [Value, string][]) {
    if (v.shape.reduce((a, b) => a * b, 1) !== batches * units) l.reject("BAD_MODEL", `${role} has ${JSON.stringify(v.shape)} elements, expected ${batches} x ${units}`);
  }
  if (wide && hidden.quant.zeroPoint !== 0) l.reject("UNSUPPORTED_TYPE", "int16 hidden state must have zero point 0");

  const weightsOf = (k: number, rows: number, columns: number, role: string): [Tensor, Uint8Array] => {
    const t = l.tensor(slot(k), role);
    if (t.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", `${role} "${t.name}" is not int8 (Wisp runs int8 LSTM weights)`);
    if (t.shape.length !== 2 || t.shape[0] !== rows || t.shape[1] !== columns) l.reject("BAD_MODEL", `${role} "${t.name}" has shape ${JSON.stringify(t.shape)}, expected [${rows},${columns}]`);
    // TFLM's LSTM reads one multiplier per fully connected part.
    if (t.scales.length !== 1) l.reject("UNSUPPORTED_TYPE", `${role} "${t.name}" has ${t.scales.length} scales; TFLM's LSTM takes per-tensor weights`);
    if ((t.zeroPoints[0] ?? 0) !== 0) l.reject("UNSUPPORTED_TYPE", `${role} "${t.name}" has a non-zero zero point`);
    if (!(t.scales[0] > 0) || !Number.isFinite(t.scales[0])) l.reject("BAD_MODEL", `${role} "${t.name}" has scale ${t.scales[0]}`);
    return [t, l.constant(slot(k), role, TensorType.INT8, rows * columns).data!];
  };
  const biasType = wide ? TensorType.INT64 : TensorType.INT32;
  const inWeights = new Uint8Array(4 * units * inputSize), recWeights = new Uint8Array(4 * units * units), biases = new Uint8Array(32 * units);
  const bv = new DataView(biases.buffer);
  const gateArgs: number[] = [];
  for (let g = 0; g < 4; g++) {
    const [w, wData] = weightsOf(INPUT_WEIGHTS[g], units, inputSize, "input weights");
    const [r, rData] = weightsOf(RECURRENT_WEIGHTS[g], units, units, "recurrent weights");
    inWeights.set(wData, g * units * inputSize);
    recWeights.set(rData, g * units * units);
    const b = l.tensor(slot(BIASES[g]), "bias");
    if (b.type !== biasType) l.reject("UNSUPPORTED_TYPE", `bias "${b.name}" is not ${wide ? "int64" : "int32"} (TFLM's ${wide ? "int16" : "int8"} LSTM reads ${wide ? "int64" : "int32"} biases)`);
    if (b.shape.length !== 1 || b.shape[0] !== units || !b.data || b.data.length !== units * (wide ? 8 : 4)) l.reject("BAD_MODEL", `bias "${b.name}" must be a constant of ${units} values`);
    const data = b.data;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let j = 0; j < units; j++) bv.setBigInt64(8 * (g * units + j), wide ? view.getBigInt64(8 * j, true) : BigInt(view.getInt32(4 * j, true)), true);
    const fromInput = perTensorDenseMultiplier(input.quant.scale, w.scales[0], GATE_INPUT_SCALE);
    const fromState = perTensorDenseMultiplier(hidden.quant.scale, r.scales[0], GATE_INPUT_SCALE);
    gateArgs.push(fromInput.multiplier, fromInput.shift, fromState.multiplier, fromState.shift);
  }

  const cellScale = cell.quant.scale;
  const forgetCell = quantizeMultiplier((GATE_OUTPUT_SCALE * cellScale) / cellScale);
  const inputCell = quantizeMultiplier((GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE) / cellScale);
  const toHidden = quantizeMultiplier((GATE_OUTPUT_SCALE * GATE_OUTPUT_SCALE) / hidden.quant.scale);
  const cellClip = o.f32(1);
  const clip = cellClip > 0 ? Math.trunc(Math.min(Math.max(cellClip / cellScale, -32768), 32767)) : -1;
  // tanh of the cell state: its scale's power of two (TFLM rounds the log2) moved to Q3.12.
  const tanhShift = 15 + checkedLog2(cellScale)[0] - 3;
  const [tanhMultiplier, tanhRightShift] = tanhShift < 0 ? [3, -tanhShift] : [3 << tanhShift, 0];
  if (tanhShift > 14 || tanhRightShift > 31) l.reject("UNSUPPORTED_TYPE", `cell state scale ${cellScale} is outside what TFLM's integer tanh takes`);

  pushRecord(l, opcode, {
    output,
    inputs: [input, hidden, cell],
    args: [wide ? 1 : 0, batches, steps, inputSize, units, timeMajor ? 1 : 0, input.quant.zeroPoint, hidden.quant.zeroPoint, ...gateArgs,
      forgetCell.multiplier, forgetCell.shift, inputCell.multiplier, inputCell.shift, toHidden.multiplier, toHidden.shift, clip, tanhMultiplier, tanhRightShift],
    blocks: [inWeights, recWeights, biases, sigmoidTable()],
    macs: batches * steps * 4 * units * (inputSize + units),
  });
}
