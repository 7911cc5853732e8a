// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int16 activations and
// int8 weights, as TFLM's reference_integer_ops int16 templates, and the int8
// grouped CONV_2D (reference_integer_ops::ConvPerChannel): one kernel.
// out[oy][ox][c] = clamp(MBQM(bias[c] + sum in[iy][ix][g * icPer + i] *
// filter[c][ky][kx][i])), g = c / cDiv: a convolution has cDiv = outC / groups
// and icPer = its filter depth, a depthwise one cDiv = depth multiplier and
// icPer = 1, a dense layer is a 1x1 convolution over a 1 x rows image.
// With an int64 bias TFLM sums in int64 and uses the 64-bit
// MultiplyByQuantizedMultiplier; with an int32 bias, int32 and the 32-bit one.
// Blocks: 0 filter [outC][kH][kW][icPer] int8, 1 per channel 16 bytes: bias
// (int64), multiplier, shift. Arguments: inH, inW, inC, outH, outW, outC, kH,
// kW, strideH, strideW, dilH, dilW, padTop, padLeft, icPer, cDiv, actMin,
// actMax, mode: 0 int32 sums, 1 int64 sums, 2 AVERAGE_POOL_2D, 3 MAX_POOL_2D
// (TFLM's int16 pooling: icPer = cDiv = 1, no blocks; the average of the
// window's pixels inside the image rounds half away from zero), 4 int8
// activations (int32 sums of filter * (input - inZp), then + outZp), which
// appends inZp and outZp.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplier64 } from "../quant";
import { argAt, blockAt, blockBytes, blockCount, tensorAt, tensorBytes } from "./record";

const ARGS = 19;
const INT8 = 4; // the mode of int8 activations, with two more arguments
const RECORD = 16;

@inline
function word(a: usize, k: i32): i32 {
  return load<i32>(a + <usize>(k << 2));
}

export function validate(index: i32, op: usize, n: i32): i32 {
  const a = argAt(op, 0), mode = n >= ARGS ? word(a, 18) : -1;
  const int8 = mode == INT8, pool = mode == 2 || mode == 3;
  if (mode < 0 || mode > INT8 || n != (int8 ? ARGS + 2 : ARGS) || blockCount(op) != (pool ? 0 : 2)) return failAt(F.ERR_BAD_OP, index, "CONV16 args", n);
  const es: i64 = int8 ? 1 : 2;
  for (let k = 0; k < 16; k++) {
    const v = word(a, k);
    if (v < (k == 12 || k == 13 ? 0 : 1) || v > 0xffff) return failAt(F.ERR_BAD_OP, index, "CONV16 arg", k);
  }
  const inH = <i64>word(a, 0), inW = <i64>word(a, 1), inC = <i64>word(a, 2), outH = <i64>word(a, 3), outW = <i64>word(a, 4), outC = <i64>word(a, 5);
  const kH = <i64>word(a, 6), kW = <i64>word(a, 7), icPer = <i64>word(a, 14), cDiv = <i64>word(a, 15);
  const actMin = word(a, 16), actMax = word(a, 17);
  if (inH * inW * inC * es != <i64>tensorBytes(op, 1) || outH * outW * outC * es != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "CONV16 size", 0);
  if (outC % cDiv != 0 || (outC / cDiv) * icPer != inC) return failAt(F.ERR_BAD_OP, index, "CONV16 groups", <i32>cDiv);
  if (!pool && (outC * kH * kW * icPer != <i64>blockBytes(op, 0) || outC * RECORD != <i64>blockBytes(op, 1)) || pool && icPer != 1) return failAt(F.ERR_BAD_OP, index, "CONV16 size", 0);
  // Keeps every index below 2^31.
  if (outH * <i64>word(a, 8) + kH * <i64>word(a, 10) > 0x10000 || outW * <i64>word(a, 9) + kW * <i64>word(a, 11) > 0x10000) return failAt(F.ERR_BAD_OP, index, "CONV16 window", 0);
  const lo = int8 ? -128 : -32768, hi = int8 ? 127 : 32767;
  if (actMin < lo || actMax > hi || actMin > actMax) return failAt(F.ERR_BAD_OP, index, "CONV16 range", actMin);
  if (int8 && (word(a, 19) < -128 || word(a, 19) > 127 || word(a, 20) < -128 || word(a, 20) > 127)) return failAt(F.ERR_BAD_OP, index, "CONV16 zero point", 0);
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const a = argAt(op, 0);
  const inH = word(a, 0), inW = word(a, 1), inC = word(a, 2), outH = word(a, 3), outW = word(a, 4), outC = word(a, 5);
  const kH = word(a, 6), kW = word(a, 7), sH = word(a, 8), sW = word(a, 9), dH = word(a, 10), dW = word(a, 11);
  const padTop = word(a, 12), padLeft = word(a, 13), icPer = word(a, 14), cDiv = word(a, 15);
  const actMin = word(a, 16), actMax = word(a, 17), mode = word(a, 18);
  const pool = mode == 2 || mode == 3, int8 = mode == INT8;
  const inOffset = int8 ? -word(a, 19) : 0, outZp = int8 ? word(a, 20) : 0;
  const es = int8 ? 1 : 2;
  const filter: usize = pool ? 0 : blockAt(op, 0), records: usize = pool ? 0 : blockAt(op, 1);
  const input = tensorAt(arena, op, 1);
  let out = tensorAt(arena, op, 0);
  const taps = kH * kW * icPer;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < outC; c++) {
        const fc = filter + <usize>(c * taps);
        const base = input + <usize>((c / cDiv) * icPer * es);
        let acc: i64 = mode == 3 ? -32768 : 0;
        let count = 0;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - padTop + ky * dH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - padLeft + kx * dW;
            if (ix < 0 || ix >= inW) continue;
            const px = base + <usize>((iy * inW + ix) * inC * es);
            if (pool) {
              const x = <i64>load<i16>(px);
              acc = mode == 2 ? acc + x : x > acc ? x : acc;
              count++;
              continue;
            }
            const fp = fc + <usize>((ky * kW + kx) * icPer);
            // int64 sums wrap to the int32 ones in their low word.
            if (int8) for (let i = 0; i < icPer; i++) acc += <i64>((<i32>load<i8>(px + <usize>i) + inOffset) * <i32>load<i8>(fp + <usize>i));
            else for (let i = 0; i < icPer; i++) acc += <i64>(<i32>load<i16>(px + <usize>(i << 1)) * <i32>load<i8>(fp + <usize>i));
          }
        }
        const record = records + <usize>(c * RECORD);
        let v: i32;
        if (mode == 3) v = <i32>acc;
        else if (pool) {
          const d = <i64>(count > 0 ? count : 1), half = d >> 1;
          v = <i32>((acc > 0 ? acc + half : acc - half) / d);
        } else if (mode == 1) v = multiplyByQuantizedMultiplier64(acc + load<i64>(record), load<i32>(record, 8), load<i32>(record, 12));
        else v = multiplyByQuantizedMultiplier(<i32>acc + load<i32>(record), load<i32>(record, 8), load<i32>(record, 12)) + outZp;
        if (v < actMin) v = actMin;
        if (v > actMax) v = actMax;
        if (int8) store<i8>(out, <i8>v);
        else store<i16>(out, <i16>v);
        out += es;
      }
    }
  }
}
