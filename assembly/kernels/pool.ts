// AVERAGE_POOL_2D and MAX_POOL_2D, int8, NHWC. Input and output share their
// quantization, as TFLM requires; only the fused activation range applies.
// Windows are clamped to the input, so padded taps are simply skipped.
import { endInside, firstInside } from "./window";

@inline
function poolS8(
  input: usize, output: usize, inH: i32, inW: i32, channels: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, actMin: i32, actMax: i32,
  takeMax: bool,
): void {
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const yStart = firstInside(iy0, 1);
    const yEnd = endInside(iy0, 1, inH, kH);
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      const xStart = firstInside(ix0, 1);
      const xEnd = endInside(ix0, 1, inW, kW);
      const count = (yEnd - yStart) * (xEnd - xStart);
      assert(count > 0, "pool: window outside the input");
      for (let c = 0; c < channels; c++) {
        let acc = takeMax ? -128 : 0;
        for (let fy = yStart; fy < yEnd; fy++) {
          let p = input + <usize>(((iy0 + fy) * inW + ix0 + xStart) * channels + c);
          for (let fx = xStart; fx < xEnd; fx++) {
            const x = <i32>load<i8>(p);
            acc = takeMax ? max(acc, x) : acc + x;
            p += <usize>channels;
          }
        }
        // TFLM rounds the average half away from zero with truncating
        // division. wisp_load rejects windows entirely in the padding.
        if (!takeMax && count > 0) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        store<i8>(out + <usize>c, <i8>min(max(acc, actMin), actMax));
      }
      out += <usize>channels;
    }
  }
}

export function averagePoolS8(
  input: usize, output: usize, inH: i32, inW: i32, channels: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, actMin: i32, actMax: i32,
): void {
  poolS8(input, output, inH, inW, channels, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, actMin, actMax, false);
}

export function maxPoolS8(
  input: usize, output: usize, inH: i32, inW: i32, channels: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, actMin: i32, actMax: i32,
): void {
  poolS8(input, output, inH, inW, channels, outH, outW, kH, kW, strideH, strideW, padTop, padLeft, actMin, actMax, true);
}
