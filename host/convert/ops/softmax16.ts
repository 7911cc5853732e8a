// Lowers SOFTMAX with int16 input and output to a SOFTMAX16 record
// (assembly/ops/softmax16.ts). Prepare as TFLM's CalculateSoftmaxParams:
// zero points 0, output scale 1/32768 (within 0.1%), the input multiplier
// from input scale * beta / (10 / 65535) in double, and the two tables
// LUTPopulate<int16_t> builds in float32 (each sample moved by half its
// midpoint interpolation error).
import type { Lowering } from "../lower";
import { quantizeMultiplier, roundHalfAwayFromZero, softmaxParams } from "../quantization";
import { TensorType } from "../tflite";
import { pushRecord } from "./record";
import { int16 } from "./conv16";

const f = Math.fround;
const round = (x: number) => roundHalfAwayFromZero(f(x));

// LUTPopulateInt16<float> with output zero point 0, into `lut` at `at`.
function populate(lut: Int16Array, at: number, inScale: number, inZp: number, outScale: number, fn: (x: number) => number): void {
  const clamp = (v: number) => Math.min(Math.max(v, -32768), 32767);
  const inMin = f(inScale * (-32768 - inZp)), inMax = f(inScale * (32767 - inZp));
  const outMin = f(outScale * -32768), outMax = f(outScale * 32767);
  const step = f(f(inMax - inMin) / 512), half = f(step / 2);
  const inv = f(65536 / f(outMax - outMin));
  for (let i = 0; i < 512; i++) {
    const x = f(inMin + f(i * step));
    const val = fn(x), mid = fn(f(x + half)), next = fn(f(inMin + f((i + 1) * step)));
    const sample = round(val * inv);
    const interp = round(f(f(f(next * inv) + sample) / 2));
    const bias = round(f(f(interp - round(mid * inv)) / 2));
    lut[at + i] = clamp(sample - bias);
  }
  lut[at + 512] = clamp(round(fn(inMax) * inv));
}

// int8 input, int16 output: TFLM's int8 softmax with zero point -32768 and
// scale 1/65536 (within 0.1%) on the output.
function fromInt8(l: Lowering, opcode: number): void {
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output", [TensorType.INT16]);
  if (input.bytes * 2 !== output.bytes) l.reject("BAD_MODEL", "output size differs from input size");
  const os = f(output.quant.scale);
  if (output.quant.zeroPoint !== -32768 || f(Math.abs(f(os - f(1 / 65536)))) > f(f(0.001) * f(1 / 65536))) l.reject("UNSUPPORTED_TYPE", `int8 SOFTMAX with int16 output needs scale 1/65536 and zero point -32768 (TFLM refuses ${os}, ${output.quant.zeroPoint})`);
  const p = softmaxParams(l.options().f32(0), input.quant.scale);
  const depth = input.shape[input.shape.length - 1];
  pushRecord(l, opcode, { output, inputs: [input], args: [input.bytes / depth, depth, p.multiplier, p.leftShift, p.diffMin] });
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  l.arity([1], 1);
  if (l.tensor(l.op.inputs[0], "input").type === TensorType.INT8) return fromInt8(l, opcode);
  const input = int16(l, l.op.inputs[0], "input");
  const output = int16(l, l.op.outputs[0], "output");
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", "output size differs from input size");
  const os = f(output.quant.scale);
  if (f(Math.abs(f(os - f(1 / 32768)))) > f(f(0.001) * f(1 / 32768))) l.reject("UNSUPPORTED_TYPE", `int16 SOFTMAX needs output scale 1/32768 (TFLM refuses ${os})`);
  // SoftmaxOptions: beta 0 (float32).
  const beta = l.options().f32(0);
  const { multiplier, shift } = quantizeMultiplier((input.quant.scale * beta) / (10 / 65535));
  if (shift > 30) l.reject("UNSUPPORTED_TYPE", `input scale * beta ${input.quant.scale * beta} is too large`);
  const range = 65535;
  const lut = new Int16Array(1026);
  populate(lut, 0, f(10 / range), 32767, f(2 / range), (x) => f(Math.exp(x)));
  populate(lut, 513, f(1 / range), -32768, f(2 / range), (x) => f(1 / f(1 + x)));
  const depth = input.shape[input.shape.length - 1];
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [input.bytes / 2 / depth, depth, multiplier, shift],
    blocks: [new Uint8Array(lut.buffer)],
  });
}
