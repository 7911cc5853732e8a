// RESIZE: RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR of int8 NHWC tensors,
// as TFLM's reference_ops::ResizeNearestNeighbor and ResizeBilinearInteger.
// The converter computes the source rows and columns (TFLM's float index
// arithmetic for nearest, its 10-bit fixed point for bilinear): per output
// row (y0, y1, dy) and per output column (x0, x1, dx), where dy and dx are
// the 10-bit offsets input_y - 1024 * y0 (they may be negative with
// half-pixel centres, as in TFLM). Nearest copies pixel (y0, x0).
// Arguments: bilinear (0/1), batches, inH, inW, depth, outH, outW, then
// outH x (y0, y1, dy), then outW x (x0, x1, dx).
import * as F from "../format";
import { failAt } from "../errors";
import { arg, argAt, tensorAt, tensorBytes } from "./record";

const HEADER = 7;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n < HEADER) return failAt(F.ERR_BAD_OP, index, "RESIZE has the wrong argument count", n);
  const bilinear = arg(op, 0);
  if (bilinear != 0 && bilinear != 1) return failAt(F.ERR_BAD_OP, index, "RESIZE mode invalid", bilinear);
  for (let k = 1; k < HEADER; k++) {
    const v = arg(op, k);
    if (v < 1 || v > 0xffff) return failAt(F.ERR_BAD_OP, index, "RESIZE dimension out of range", k);
  }
  const batches = arg(op, 1), inH = arg(op, 2), inW = arg(op, 3), depth = arg(op, 4), outH = arg(op, 5), outW = arg(op, 6);
  if (n != HEADER + 3 * (outH + outW)) return failAt(F.ERR_BAD_OP, index, "RESIZE table size does not match", n);
  if (<i64>batches * inH * inW * depth != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "RESIZE input size does not match", tensorBytes(op, 1));
  if (<i64>batches * outH * outW * depth != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "RESIZE output size does not match", tensorBytes(op, 0));
  for (let k = 0; k < outH + outW; k++) {
    const size = k < outH ? inH : inW;
    const a = arg(op, HEADER + 3 * k), b = arg(op, HEADER + 3 * k + 1), d = arg(op, HEADER + 3 * k + 2);
    if (a < 0 || a >= size || b < 0 || b >= size || d < -2048 || d > 2048) return failAt(F.ERR_BAD_OP, index, "RESIZE source outside its input", k);
  }
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const bilinear = arg(op, 0) == 1, batches = arg(op, 1), inH = arg(op, 2), inW = arg(op, 3), depth = arg(op, 4), outH = arg(op, 5), outW = arg(op, 6);
  const rows = argAt(op, HEADER), cols = argAt(op, HEADER + 3 * outH);
  const rowBytes = <usize>(inW * depth), pixel = <usize>depth;
  let out = tensorAt(arena, op, 0);
  for (let b = 0; b < batches; b++) {
    const image = tensorAt(arena, op, 1) + <usize>(b * inH) * rowBytes;
    for (let y = 0; y < outH; y++) {
      const r = rows + <usize>(12 * y);
      const y0 = load<i32>(r), y1 = load<i32>(r, 4), dy = <i64>load<i32>(r, 8);
      for (let x = 0; x < outW; x++) {
        const c = cols + <usize>(12 * x);
        const x0 = load<i32>(c), x1 = load<i32>(c, 4), dx = <i64>load<i32>(c, 8);
        const p00 = image + <usize>y0 * rowBytes + <usize>x0 * pixel;
        if (!bilinear) {
          memory.copy(out, p00, pixel);
          out += pixel;
          continue;
        }
        const p10 = image + <usize>y1 * rowBytes + <usize>x0 * pixel;
        const p01 = image + <usize>y0 * rowBytes + <usize>x1 * pixel;
        const p11 = image + <usize>y1 * rowBytes + <usize>x1 * pixel;
        const w00 = (1024 - dy) * (1024 - dx), w10 = dy * (1024 - dx), w01 = (1024 - dy) * dx, w11 = dy * dx;
        for (let k: usize = 0; k < pixel; k++) {
          const sum = <i64>load<i8>(p00 + k) * w00 + <i64>load<i8>(p10 + k) * w10 + <i64>load<i8>(p01 + k) * w01 + <i64>load<i8>(p11 + k) * w11;
          // TFLM's double rounding: half away from zero, then truncating division.
          const rounded = (sum + (sum > 0 ? <i64>(1 << 19) : -<i64>(1 << 19))) / <i64>(1 << 20);
          store<i8>(out + k, <i8>rounded);
        }
        out += pixel;
      }
    }
  }
}
