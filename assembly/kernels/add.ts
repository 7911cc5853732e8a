// ADD, int8, same-shape operands: both inputs are rescaled to a common scale
// with 20 bits of headroom, summed, then requantized (TFLM's reference path).
// Through the host's wisp_add_s8 where it has one: under wasm3 the loop below
// took 41 M of ic's 66 M instructions on the M4. The check is inlined into
// the caller, so under wasm3 a host with the primitive never compiles the loop.
import { multiplyByQuantizedMultiplier, requantize } from "../quant";
import { addSixteens } from "./simd";
import { HOST_ADD, hostAddS8, hostKernels } from "./host";

@inline
export function addS8(
  input1: usize, input2: usize, output: usize, count: i32,
  in1Zp: i32, in2Zp: i32, outZp: i32, leftShift: i32,
  in1Mult: i32, in1Shift: i32, in2Mult: i32, in2Shift: i32,
  outMult: i32, outShift: i32, actMin: i32, actMax: i32,
): void {
  if (hostKernels & HOST_ADD) hostAddS8(output, input1, input2, count, in1Zp, in2Zp, outZp, leftShift, in1Mult, in1Shift, in2Mult, in2Shift, outMult, outShift, actMin, actMax);
  else addLoop(input1, input2, output, count, in1Zp, in2Zp, outZp, leftShift, in1Mult, in1Shift, in2Mult, in2Shift, outMult, outShift, actMin, actMax);
}

function addLoop(
  input1: usize, input2: usize, output: usize, count: i32,
  in1Zp: i32, in2Zp: i32, outZp: i32, leftShift: i32,
  in1Mult: i32, in1Shift: i32, in2Mult: i32, in2Shift: i32,
  outMult: i32, outShift: i32, actMin: i32, actMax: i32,
): void {
  if (ASC_FEATURE_SIMD) {
    // Sixteen at a time; the last 1-15 below, as here.
    const n = count & ~15;
    if (n > 0) {
      addSixteens(input1, input2, output, n, in1Zp, in2Zp, outZp, leftShift, in1Mult, in1Shift, in2Mult, in2Shift, outMult, outShift, actMin, actMax);
      if (n < count) {
        addLoop(input1 + <usize>n, input2 + <usize>n, output + <usize>n, count - n, in1Zp, in2Zp, outZp, leftShift, in1Mult, in1Shift, in2Mult, in2Shift, outMult, outShift, actMin, actMax);
      }
      return;
    }
  }
  for (let i = 0; i < count; i++) {
    const a = (<i32>load<i8>(input1 + <usize>i) - in1Zp) << leftShift;
    const b = (<i32>load<i8>(input2 + <usize>i) - in2Zp) << leftShift;
    const sum = multiplyByQuantizedMultiplier(a, in1Mult, in1Shift) + multiplyByQuantizedMultiplier(b, in2Mult, in2Shift);
    store<i8>(output + <usize>i, <i8>requantize(sum, outMult, outShift, outZp, actMin, actMax));
  }
}
