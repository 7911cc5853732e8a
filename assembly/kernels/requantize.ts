// QUANTIZE from int8 to int8: a change of scale and zero point.
import { requantize } from "../quant";

export function requantizeS8(input: usize, output: usize, count: i32, inZp: i32, outZp: i32, multiplier: i32, shift: i32): void {
  for (let i = 0; i < count; i++) {
    store<i8>(output + <usize>i, <i8>requantize(<i32>load<i8>(input + <usize>i) - inZp, multiplier, shift, outZp, -128, 127));
  }
}

