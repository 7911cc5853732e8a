// Lowers int8 LOGISTIC and TANH to SIGMOID records (assembly/ops/sigmoid.ts),
// with the input multiplier, left shift and radius TFLM's Prepare computes
// (logistic_common.cc, tanh.cc): the input scale times 2^27 split by frexp,
// the mantissa rounded to Q0.31, and the largest input magnitude that does
// not saturate Q4.27.
import type { Lowering } from "../lower";
import { roundHalfAwayFromZero } from "../quantization";
import { pushRecord } from "./record";

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

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin !== "LOGISTIC" && builtin !== "TANH") l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the sigmoid op`);
  l.arity([1], 1);
  const input = l.activation(l.op.inputs[0], "input");
  const output = l.activation(l.op.outputs[0], "output");
  if (input.bytes !== output.bytes) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} does not match input ${JSON.stringify(input.shape)}`);
  // TFLM checks only LOGISTIC's output zero point; both kernels write their
  // fixed output quantization (1/256 and -128; 1/128 and 0) whatever the
  // tensor says.
  if (builtin === "LOGISTIC" && output.quant.zeroPoint !== -128) l.reject("UNSUPPORTED_TYPE", `int8 LOGISTIC needs output zero point -128 (TFLM refuses ${output.quant.zeroPoint})`);
  const p = sigmoidParams(l, input.quant.scale);
  pushRecord(l, opcode, {
    output,
    inputs: [input],
    args: [builtin === "LOGISTIC" ? 0 : 1, input.quant.zeroPoint, p.radius, p.multiplier, p.leftShift],
    overlap: [0],
  });
}
