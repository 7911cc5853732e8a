// AVERAGE_POOL_2D and MAX_POOL_2D, int8, NHWC. Input and output share their
// quantization, as TFLM requires; only the fused activation range applies.

export function averagePoolS8(
  input: usize, output: usize, inH: i32, inW: i32, channels: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, actMin: i32, actMax: i32,
): void {
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const yStart = max(0, -iy0);
    const yEnd = min(kH, inH - iy0);
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      const xStart = max(0, -ix0);
      const xEnd = min(kW, inW - ix0);
      const count = (yEnd - yStart) * (xEnd - xStart);
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let fy = yStart; fy < yEnd; fy++) {
          let p = input + <usize>(((iy0 + fy) * inW + ix0 + xStart) * channels + c);
          for (let fx = xStart; fx < xEnd; fx++) {
            acc += <i32>load<i8>(p);
            p += <usize>channels;
          }
        }
        // TFLM rounds half away from zero with truncating division. A window
        // entirely in the padding (count 0) is rejected at load.
        assert(count > 0, "average pool: window outside the input");
        if (count > 0) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        store<i8>(out + <usize>c, <i8>min(max(acc, actMin), actMax));
      }
      out += <usize>channels;
    }
  }
}

export function maxPoolS8(
  input: usize, output: usize, inH: i32, inW: i32, channels: i32, outH: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, padTop: i32, padLeft: i32, actMin: i32, actMax: i32,
): void {
  let out = output;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    const yStart = max(0, -iy0);
    const yEnd = min(kH, inH - iy0);
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * strideW - padLeft;
      const xStart = max(0, -ix0);
      const xEnd = min(kW, inW - ix0);
      for (let c = 0; c < channels; c++) {
        let best = -128;
        for (let fy = yStart; fy < yEnd; fy++) {
          let p = input + <usize>(((iy0 + fy) * inW + ix0 + xStart) * channels + c);
          for (let fx = xStart; fx < xEnd; fx++) {
            best = max(best, <i32>load<i8>(p));
            p += <usize>channels;
          }
        }
        store<i8>(out + <usize>c, <i8>min(max(best, actMin), actMax));
      }
      out += <usize>channels;
    }
  }
}
