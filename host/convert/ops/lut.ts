// Lowers the elementwise ops whose int8 (or uint8) output depends only on
// the input byte to LUT records (assembly/ops/lut.ts): the converter runs
// TFLM's arithmetic for the op on all 256 input values, here, and the module
// only looks the bytes up. ABS and RSQRT follow TFLM's elementwise.cc, ELU
// its lookup table (elu.cc), and a float island (a DEQUANTIZE, float32
// elementwise ops, a QUANTIZE, as converters leave NEG and ELU) is folded
// into one table with TFLM's float32 steps (dequantize.h, the float kernels,
// quantize.h). The activation, sigmoid and quantize16 lowerings put their
// int8 kernels here too, through pushLut.
import type { Lowering } from "../lower";
import type { Value } from "../graph";
import type { Operator } from "../tflite";
import { Builtin, TensorType, TENSOR_TYPE_NAMES, builtinName } from "../tflite";
import { floatToInt32, invSqrtMultiplier, multiplyByQuantizedMultiplier } from "../fixedpoint";
import { quantizeMultiplier, roundHalfAwayFromZero } from "../quantization";
import { REGISTERED } from "./index";
import { pushRecord } from "./record";

const f32 = Math.fround;
const BYTE_TYPES: number[] = [TensorType.INT8, TensorType.UINT8];

// The output range of a byte tensor.
function range(v: Value): [number, number] {
  return v.type === TensorType.UINT8 ? [0, 255] : [-128, 127];
}

// The tables of one conversion by content: ops with the same table share
// one block in the weights (the emitter stores a shared array once).
const tables = new WeakMap<Lowering, Map<string, Uint8Array>>();

function sharedTable(l: Lowering, table: Uint8Array): Uint8Array {
  let known = tables.get(l);
  if (!known) tables.set(l, (known = new Map()));
  const key = String.fromCharCode(...table);
  const existing = known.get(key);
  if (existing) return existing;
  known.set(key, table);
  return table;
}

// One LUT record from `input` to `output` (int8 or uint8 each): `f` maps
// every input value to its output value, which is clamped to the output's
// range. `name` and `tfliteOutput` for a record standing for several ops.
export function pushLut(l: Lowering, input: Value, output: Value, f: (q: number) => number, name?: string, tfliteOutput?: number): void {
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match input ${JSON.stringify(input.shape)}`);
  const [inLo] = range(input), [lo, hi] = range(output);
  const table = new Uint8Array(256);
  for (let q = inLo; q < inLo + 256; q++) table[q & 255] = Math.min(hi, Math.max(lo, f(q))) & 255;
  // The opcode of this file's entry in assembly/ops/registry.json.
  pushRecord(l, REGISTERED.ABS.opcode, { output, inputs: [input], args: [], blocks: [sharedTable(l, table)], overlap: [0], name, tfliteOutput });
}

// A multiplier the module's MultiplyByQuantizedMultiplier takes (shifts above
// 30 would shift the int32 input out, undefined in TFLM's C++).
function multiplier(l: Lowering, real: number, what: string) {
  const m = quantizeMultiplier(real);
  if (m.shift > 30) l.reject("UNSUPPORTED_TYPE", `${what} ${real} is too large`);
  return m;
}

// TFLM's ABS (AbsEvalQuantized): |q - input zero point|, rescaled only when
// the scales differ (the multiplier from input / output scale in float32).
function abs(l: Lowering, input: Value, output: Value): (q: number) => number {
  const inZp = input.quant.zeroPoint, outZp = output.quant.zeroPoint;
  if (input.quant.scale === output.quant.scale) return (q) => Math.abs(q - inZp) + outZp;
  const m = multiplier(l, f32(input.quant.scale / output.quant.scale), "input / output scale");
  return (q) => multiplyByQuantizedMultiplier(Math.abs(q - inZp), m.multiplier, m.shift) + outZp;
}

// TFLM's RSQRT (RsqrtEvalQuantized): 1/sqrt of q - zero point as
// GetInvSqrtQuantizedMultiplierExp gives it, times 2^20, rescaled by
// 1 / (sqrt(input scale) * output scale); the input zero point maps to 127.
function rsqrt(l: Lowering, input: Value, output: Value): (q: number) => number {
  const inZp = input.quant.zeroPoint, outZp = output.quant.zeroPoint;
  // TFLM fails the invoke on any input below the zero point.
  if (inZp !== -128) l.reject("UNSUPPORTED_TYPE", `input zero point ${inZp} admits inputs below it, on which TFLM fails the invoke ("Rsqrt is only defined for positive values"); Wisp runs RSQRT with input zero point -128`);
  const m = quantizeMultiplier(1 / f32(f32(Math.sqrt(input.quant.scale)) * output.quant.scale));
  if (m.shift - 20 < -31 || m.shift - 20 > 30) l.reject("UNSUPPORTED_TYPE", `RSQRT rescaling 1 / (sqrt(input scale) * output scale) = ${1 / (Math.sqrt(input.quant.scale) * output.quant.scale)} is out of range`);
  return (q) => {
    const value = q - inZp;
    if (value === 0) return 127;
    const inv = invSqrtMultiplier(value);
    const data = multiplyByQuantizedMultiplier(1, inv.multiplier, inv.shift + 20);
    return multiplyByQuantizedMultiplier(data, m.multiplier, m.shift - 20) + outZp;
  };
}

// TFLM's int8 ELU table (PopulateLookupTable): dequantize, exp(x) - 1 for
// x < 0, requantize, all in float32.
function elu(input: Value, output: Value): (q: number) => number {
  const inverse = f32(1 / output.quant.scale);
  return (q) => {
    const x = f32(input.quant.scale * (q - input.quant.zeroPoint));
    const y = x < 0 ? f32(f32(Math.exp(x)) - 1) : x;
    return floatToInt32(f32(roundHalfAwayFromZero(f32(y * inverse)) + output.quant.zeroPoint));
  };
}

// The float32 kernels of TFLM an island may hold: elementwise, one input.
const FLOAT_OPS: Record<number, (x: number) => number> = {
  [Builtin.NEG]: (x) => -x,
  [Builtin.ABS]: (x) => Math.abs(x),
  [Builtin.ELU]: (x) => (x < 0 ? f32(Math.expm1(x)) : x),
  [Builtin.SQUARE]: (x) => f32(x * x),
  [Builtin.SQRT]: (x) => f32(Math.sqrt(x)),
  [Builtin.RSQRT]: (x) => f32(1 / f32(Math.sqrt(x))),
  [Builtin.RELU]: (x) => (x < 0 ? 0 : x),
  [Builtin.RELU6]: (x) => (x > 6 ? 6 : x < 0 ? 0 : x),
};

// A DEQUANTIZE that opens a float island: follows its float32 output through
// elementwise float ops, each the only reader of the one before, to the
// QUANTIZE that closes it, and folds them all into one table. The ops it
// passes are consumed: the converter skips them.
function floatIsland(l: Lowering): void {
  const start = l.op;
  l.arity([1], 1);
  const inputTensor = l.tensor(start.inputs[0], "input");
  if (!BYTE_TYPES.includes(inputTensor.type)) l.reject("UNSUPPORTED_TYPE", `DEQUANTIZE from ${TENSOR_TYPE_NAMES[inputTensor.type] ?? inputTensor.type}: Wisp runs float islands only from int8 or uint8 (a DEQUANTIZE last, to a float32 model output, is done by the host)`);
  const input = l.activation(start.inputs[0], "input", BYTE_TYPES);
  const graph = l.model.subgraphs[start.subgraph];
  const chain: Operator[] = [];
  let tensor = start.outputs[0];
  let end: Operator;
  for (;;) {
    const t = l.tensor(tensor, "float32");
    const readers = graph.operators.filter((o) => o.inputs.includes(tensor));
    const what = chain.length === 0 ? "DEQUANTIZE" : builtinName(chain[chain.length - 1].builtin);
    if (t.type !== TensorType.FLOAT32) l.reject("UNSUPPORTED_TYPE", `${what} output "${t.name}" is ${TENSOR_TYPE_NAMES[t.type] ?? t.type}, expected float32`);
    if (graph.outputs.includes(tensor) || readers.length !== 1) {
      l.reject("UNSUPPORTED_OP", `${what} output "${t.name}" is ${graph.outputs.includes(tensor) ? "a float32 model output" : `read by ${readers.length} ops`}: DEQUANTIZE is only supported as the last op, producing a float32 model output, or opening a float island (DEQUANTIZE, float32 elementwise ops one after another, QUANTIZE)`);
    }
    const next = readers[0];
    if (next === start || chain.includes(next)) l.reject("BAD_MODEL", `the float island from DEQUANTIZE runs in a cycle at operator ${next.index}`);
    if (next.builtin === Builtin.QUANTIZE) {
      end = next;
      break;
    }
    if (!FLOAT_OPS[next.builtin] || next.inputs.length !== 1 || next.outputs.length !== 1 || next.custom) {
      l.reject("UNSUPPORTED_OP", `the float island from DEQUANTIZE reaches operator ${next.index} (${builtinName(next.builtin)}), which Wisp does not run in float32 (an island holds ${Object.keys(FLOAT_OPS).map((b) => builtinName(Number(b))).join(", ")}, then QUANTIZE)`);
    }
    chain.push(next);
    tensor = next.outputs[0];
  }
  if (end.outputs.length !== 1 || end.inputs.length !== 1) l.reject("BAD_MODEL", `QUANTIZE operator ${end.index} must have one input and one output`);
  const outputTensor = l.tensor(end.outputs[0], "output");
  // TFLM quantizes float32 to int8 or int16 only (uint8 fails its Eval).
  if (outputTensor.type !== TensorType.INT8) l.reject("UNSUPPORTED_TYPE", `the float island's QUANTIZE (operator ${end.index}) writes ${TENSOR_TYPE_NAMES[outputTensor.type] ?? outputTensor.type}; Wisp closes float islands to int8 only${outputTensor.type === TensorType.UINT8 ? " (TFLM refuses float32 to uint8)" : ""}`);
  const output = l.activation(end.outputs[0], "output");
  for (const o of [...chain, end]) l.consume(o);
  const inQ = input.quant, outQ = output.quant;
  const scale = f32(outQ.scale);
  pushLut(l, input, output, (q) => {
    // Dequantize (the double product of the float scale, rounded to float32).
    let x = f32(inQ.scale * (q - inQ.zeroPoint));
    for (const o of chain) x = FLOAT_OPS[o.builtin](x);
    // AffineQuantize: round(x / scale) in float32, plus the zero point, as int32 (wrapping).
    return (floatToInt32(roundHalfAwayFromZero(f32(x / scale))) + outQ.zeroPoint) | 0;
  }, ["DEQUANTIZE", ...chain.map((o) => builtinName(o.builtin)), "QUANTIZE"].join("_").slice(0, 64), end.outputs[0]);
}

export function lower(l: Lowering, builtin: string): void {
  if (builtin === "DEQUANTIZE") return floatIsland(l);
  l.arity([1], 1);
  const type = l.tensor(l.op.inputs[0], "input").type;
  if (builtin === "NEG") l.reject("UNSUPPORTED_TYPE", `${TENSOR_TYPE_NAMES[type]} NEG is refused by TFLM too, which runs NEG in float32 only`);
  if (type === TensorType.INT16) {
    if (builtin === "ABS") l.reject("UNSUPPORTED_TYPE", "int16 ABS is not supported by Wisp (it runs int8 ABS)");
    l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} is refused by TFLM too, which runs it in float32 and int8 only`);
  }
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output");
  switch (builtin) {
    case "ABS": return pushLut(l, input, output, abs(l, input, output));
    case "RSQRT": return pushLut(l, input, output, rsqrt(l, input, output));
    case "ELU": return pushLut(l, input, output, elu(input, output));
  }
  l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the lut op`);
}
