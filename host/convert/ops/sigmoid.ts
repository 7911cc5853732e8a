// Lowers LOGISTIC and TANH. int8: with the input multiplier, left shift and
// radius TFLM's Prepare computes (logistic_common.cc, tanh.cc): the input
// scale times 2^27 split by frexp, the mantissa rounded to Q0.31, and the
// largest input magnitude that does not saturate Q4.27; then, as the result
// depends only on the input byte, TFLM's reference arithmetic
// (reference/integer_ops/logistic.h, tanh.h: the input rescaled to Q4.27,
// gemmlowp's fixed-point logistic / tanh, a Q0.31 result rounded to int8)
// runs here on all 256 inputs into a LUT record (host/convert/ops/lut.ts).
// LOGISTIC writes scale 1/256, zero point -128; TANH 1/128, zero point 0
// (TFLM assumes these). int16: SIGMOID records (assembly/ops/sigmoid.ts).
import type { Lowering } from "../lower";
import { roundHalfAwayFromZero } from "../quantization";
import { expOnNegative, multiplyByQuantizedMultiplier, oneOverOnePlusX, reciprocalOfOnePlus, roundingDivideByPOT, saturatingShiftLeft } from "../fixedpoint";
import { pushRecord } from "./record";
import { pushLut } from "./lut";
import { int16 } from "./conv16";
import { TensorType } from "../tflite";

// TFLM's sigmoid_table_uint16: sigmoid(i / 24) in 0.16, each sample moved
// by half its midpoint error so that linear interpolation errs both ways;
// the last entry is the uint16 maximum.
export function sigmoidTable(): Uint8Array {
  const s = (x: number) => 1 / (1 + Math.exp(-x / 24));
  const table = new Uint16Array(256);
  for (let i = 0; i < 255; i++) table[i] = Math.round(65536 * (s(i) + (s(i) - (s(i - 0.5) + s(i + 0.5)) / 2) / 2));
  table[255] = 65535;
  return new Uint8Array(table.buffer);
}

// TFLM's CheckedLog2 in float32: the rounded log2 and whether x is a power of two.
export function checkedLog2(x: number): [number, boolean] {
  const log2 = Math.fround(Math.fround(Math.log(x)) * Math.fround(1 / Math.fround(Math.log(2))));
  const rounded = roundHalfAwayFromZero(log2);
  return [rounded, Math.abs(Math.fround(log2 - rounded)) < Math.fround(1e-3)];
}

// The int16 kernels (CalculateArithmeticOpDataLogistic, TanhPrepare): zero
// points 0, output scale 2^-15; a power-of-two input scale with shift 0 (TANH:
// or 1) takes multiplier 3 << shift, other scales scale * 4096 * 3 doubled
// up to 16383.5.
function lower16(l: Lowering, builtin: string, opcode: number): void {
  const input = int16(l, l.op.inputs[0], "input");
  const output = int16(l, l.op.outputs[0], "output");
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", "output and input sizes differ");
  const [inLog2, inPot] = checkedLog2(input.quant.scale);
  let shift = 12 + inLog2, multiplier: number;
  if (inPot && (shift === 0 || (builtin === "TANH" && shift === 1))) {
    multiplier = 3 << shift;
    shift = 0;
  } else {
    let m = input.quant.scale * 4096 * 3;
    shift = 0;
    while (m <= 32767 / 2 && shift <= 30) { shift++; m *= 2; }
    multiplier = Math.trunc(m);
  }
  if (multiplier > 32767) l.reject("UNSUPPORTED_TYPE", `input scale ${input.quant.scale} is too large`);
  const [outLog2, outPot] = checkedLog2(output.quant.scale);
  if (!outPot || outLog2 !== -15) l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} needs output scale 2^-15 (TFLM refuses ${output.quant.scale})`);
  pushRecord(l, opcode, { output, inputs: [input], args: [builtin === "LOGISTIC" ? 2 : 3, 0, 0, multiplier, shift], blocks: [sigmoidTable()], overlap: [0] });
}

const INPUT_INTEGER_BITS = 4;

// std::frexp for x > 0: x = q * 2^e with q in [0.5, 1); exact.
function frexp(x: number): [number, number] {
  let e = Math.floor(Math.log2(x)) + 1;
  let q = x / 2 ** e;
  while (q >= 1) { q /= 2; e++; }
  while (q < 0.5) { q *= 2; e--; }
  return [q, e];
}

export function sigmoidParams(l: Lowering, inputScale: number) {
  const real = inputScale * 2 ** (31 - INPUT_INTEGER_BITS);
  const [q, leftShift] = frexp(real);
  // TFLM shifts 1LL by the exponent to find the radius: a negative one is
  // undefined there, so such scales (below 2^-27) are refused.
  if (leftShift < 0) l.reject("UNSUPPORTED_TYPE", `input scale ${inputScale} is too small`);
  const multiplier = roundHalfAwayFromZero(q * 2 ** 31);
  // float32 scales have 24 mantissa bits, so q * 2^31 stays below 2^31.
  if (multiplier >= 2 ** 31) l.reject("UNSUPPORTED_TYPE", `input scale ${inputScale} cannot be represented`);
  const radius = Math.floor((((1 << INPUT_INTEGER_BITS) - 1) * 2 ** (31 - INPUT_INTEGER_BITS)) / 2 ** leftShift);
  // Inputs differ from the zero point by at most 255: a larger radius never saturates.
  return { multiplier, leftShift: Math.min(leftShift, 31), radius: Math.min(radius, 256) };
}

const INT32_MAX = 0x7fffffff;

// gemmlowp logistic for a in Q4.27; result in Q0.31.
function logistic(a: number): number {
  if (a === 0) return 1 << 30;
  const positive = a > 0;
  const resultIfPositive = oneOverOnePlusX(expOnNegative(positive ? -a | 0 : a, 4));
  return positive ? resultIfPositive : INT32_MAX - resultIfPositive;
}

// gemmlowp tanh for a in Q4.27; result in Q0.31. The exponent of -2|a| is
// taken by reading the same raw value as Q5.26.
function tanh(a: number): number {
  if (a === 0) return 0;
  const negative = a < 0;
  // (1 - e) / (1 + e) = 2 / (1 + e) - 1, in Q2.29 rescaled to Q0.31.
  const t = saturatingShiftLeft((reciprocalOfOnePlus(expOnNegative(negative ? a : -a | 0, 5)) - (1 << 29)) | 0, 2);
  return negative ? -t | 0 : t;
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin !== "LOGISTIC" && builtin !== "TANH") l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the sigmoid op`);
  l.arity([1], 1);
  if (l.tensor(l.op.inputs[0], "input").type === TensorType.INT16) return lower16(l, builtin, opcode);
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output");
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match input ${JSON.stringify(input.shape)}`);
  // TFLM checks only LOGISTIC's output zero point; both kernels write their
  // fixed output quantization (1/256 and -128; 1/128 and 0) whatever the
  // tensor says.
  if (builtin === "LOGISTIC" && output.quant.zeroPoint !== -128) l.reject("UNSUPPORTED_TYPE", `int8 LOGISTIC needs output zero point -128 (TFLM refuses ${output.quant.zeroPoint})`);
  const p = sigmoidParams(l, input.quant.scale), zeroPoint = input.quant.zeroPoint;
  pushLut(l, input, output, (q) => {
    const x = q - zeroPoint;
    if (x <= -p.radius) return -128;
    if (x >= p.radius) return 127;
    const q4 = multiplyByQuantizedMultiplier(x, p.multiplier, p.leftShift);
    return builtin === "LOGISTIC" ? roundingDivideByPOT(logistic(q4), 23) - 128 : roundingDivideByPOT(tanh(q4), 24);
  });
}
