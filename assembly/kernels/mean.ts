// MEAN over height and width (Keras GlobalAveragePooling2D), int8. The
// multiplier already includes 1/(H*W) the way TFLM folds it in at run time.
import { requantize } from "../quant";

export function meanHwS8(
  input: usize, output: usize, h: i32, w: i32, channels: i32,
  inZp: i32, outZp: i32, multiplier: i32, shift: i32,
): void {
  const pixels = h * w;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let p = input + <usize>c;
    for (let i = 0; i < pixels; i++) {
      sum += <i32>load<i8>(p);
      p += <usize>channels;
    }
    store<i8>(output + <usize>c, <i8>requantize(sum - inZp * pixels, multiplier, shift, outZp, -128, 127));
  }
}
