// SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128) or int16 out
// (outBits 16: scale 1/65536, zero point -32768), over the last dimension. Fixed-point exp and reciprocal follow gemmlowp exactly, as TFLM's
// reference kernel uses them: differences in Q5.26, exp in Q0.31, sums in Q12.19.
import { expOnNegative, oneOverOnePlusX } from "../fixedpoint";
import { roundingDivideByPOT, saturatingRoundingDoublingHighMul as mul } from "../quant";

const SCALED_DIFF_INTEGER_BITS = 5;
const ACCUMULATION_INTEGER_BITS = 12;

export function softmaxS8(
  input: usize, output: usize, rows: i32, depth: i32,
  inputMultiplier: i32, inputLeftShift: i32, diffMin: i32, outBits: i32 = 8,
): void {
  const outMin = -(1 << (outBits - 1)), outMax = -1 - outMin;
  for (let r = 0; r < rows; r++) {
    const row = input + <usize>(r * depth);
    const outRow = output + <usize>(r * depth);
    let maxInRow = -128;
    for (let c = 0; c < depth; c++) maxInRow = max(maxInRow, <i32>load<i8>(row + <usize>c));

    let sumOfExps = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      if (diff >= diffMin) {
        const scaled = mul(diff << inputLeftShift, inputMultiplier);
        sumOfExps += roundingDivideByPOT(expOnNegative(scaled, SCALED_DIFF_INTEGER_BITS), ACCUMULATION_INTEGER_BITS);
      }
    }

    // Reciprocal of the sum: normalise into [1, 2), then 1 / (1 + x).
    const headroomPlusOne = <i32>clz<u32>(<u32>sumOfExps);
    const bitsOverUnit = ACCUMULATION_INTEGER_BITS - headroomPlusOne;
    const shiftedSumMinusOne = <i32>((<u32>sumOfExps << headroomPlusOne) - (<u32>1 << 31));
    const shiftedScale = oneOverOnePlusX(shiftedSumMinusOne);
    const exponent = bitsOverUnit + 31 - outBits;

    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + <usize>c) - maxInRow;
      let value = outMin;
      if (diff >= diffMin) {
        const scaled = mul(diff << inputLeftShift, inputMultiplier);
        const unsaturated = roundingDivideByPOT(mul(shiftedScale, expOnNegative(scaled, SCALED_DIFF_INTEGER_BITS)), exponent);
        value = min(max(unsaturated + outMin, outMin), outMax);
      }
      if (outBits == 16) store<i16>(output + (<usize>(r * depth + c) << 1), <i16>value);
      else store<i8>(outRow + <usize>c, <i8>value);
    }
  }
}
