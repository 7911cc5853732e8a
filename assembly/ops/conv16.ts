// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int16 activations and
// int8 weights, as TFLM's reference_integer_ops int16 templates: one kernel.
// out[oy][ox][c] = clamp(MBQM(bias[c] + sum in[iy][ix][g * icPer + i] *
// filter[c][ky][kx][i])), g = c / cDiv: a convolution has cDiv = outC / groups
// and icPer = its filter depth, a depthwise one cDiv = depth multiplier and
// icPer = 1, a dense layer is a 1x1 convolution over a 1 x rows image.
// With an int64 bias TFLM sums in int64 and uses the 64-bit
// MultiplyByQuantizedMultiplier; with an int32 bias, int32 and the 32-bit one.
// Blocks: 0 filter [outC][kH][kW][icPer] int8, 1 per channel 16 bytes: bias
// (int64), multiplier, shift. Arguments: inH, inW, inC, outH, outW, outC, kH,
// kW, strideH, strideW, dilH, dilW, padTop, padLeft, icPer, cDiv, actMin,
// actMax, wide (1: int64).
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes } from "./record";

const ARGS = 19;
const RECORD = 16;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || blockCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "CONV16 argument count", n);
  for (let k = 0; k < 16; k++) {
    const v = arg(op, k);
    if (v < (k == 12 || k == 13 ? 0 : 1) || v > 0xffff) return failAt(F.ERR_BAD_OP, index, "CONV16 argument out of range", k);
  }
  const inH = <i64>arg(op, 0), inW = <i64>arg(op, 1), inC = <i64>arg(op, 2), outH = <i64>arg(op, 3), outW = <i64>arg(op, 4), outC = <i64>arg(op, 5);
  const kH = <i64>arg(op, 6), kW = <i64>arg(op, 7), icPer = <i64>arg(op, 14), cDiv = <i64>arg(op, 15);
  const actMin = arg(op, 16), actMax = arg(op, 17), wide = arg(op, 18);
  if (inH * inW * inC * 2 != <i64>tensorBytes(op, 1) || outH * outW * outC * 2 != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "CONV16 tensor size", 0);
  if (outC % cDiv != 0 || (outC / cDiv) * icPer != inC) return failAt(F.ERR_BAD_OP, index, "CONV16 channel groups", <i32>cDiv);
  if (outC * kH * kW * icPer != <i64>blockBytes(op, 0) || outC * RECORD != <i64>blockBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "CONV16 block size", 0);
  // Keeps every index below 2^31.
  if (outH * <i64>arg(op, 8) + kH * <i64>arg(op, 10) > 0x10000 || outW * <i64>arg(op, 9) + kW * <i64>arg(op, 11) > 0x10000) return failAt(F.ERR_BAD_OP, index, "CONV16 window out of range", 0);
  if (actMin < -32768 || actMax > 32767 || actMin > actMax || (wide & ~1) != 0) return failAt(F.ERR_BAD_OP, index, "CONV16 range or mode", actMin);
  return F.ERR_NONE;
}

// TFLM's MultiplyByQuantizedMultiplier for an int64 accumulator: the
// multiplier rounded to 16 bits, one rounding shift.
@inline
function multiply64(x: i64, multiplier: i32, shift: i32): i32 {
  const reduced: i64 = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const total = <i64>(15 - shift);
  return <i32>((x * reduced + (<i64>1 << (total - 1))) >> total);
}

export function run(op: usize, arena: usize): void {
  const inH = arg(op, 0), inW = arg(op, 1), inC = arg(op, 2), outH = arg(op, 3), outW = arg(op, 4), outC = arg(op, 5);
  const kH = arg(op, 6), kW = arg(op, 7), sH = arg(op, 8), sW = arg(op, 9), dH = arg(op, 10), dW = arg(op, 11);
  const padTop = arg(op, 12), padLeft = arg(op, 13), icPer = arg(op, 14), cDiv = arg(op, 15);
  const actMin = arg(op, 16), actMax = arg(op, 17), wide = arg(op, 18) != 0;
  const filter = blockAt(op, 0), records = blockAt(op, 1);
  const input = tensorAt(arena, op, 1);
  let out = tensorAt(arena, op, 0);
  const taps = kH * kW * icPer;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < outC; c++) {
        const fc = filter + <usize>(c * taps);
        const base = input + <usize>((c / cDiv) * icPer * 2);
        let acc: i64 = 0;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * sH - padTop + ky * dH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * sW - padLeft + kx * dW;
            if (ix < 0 || ix >= inW) continue;
            const px = base + <usize>((iy * inW + ix) * inC * 2);
            const fp = fc + <usize>((ky * kW + kx) * icPer);
            // int64 sums wrap to the int32 ones in their low word.
            for (let i = 0; i < icPer; i++) acc += <i64>(<i32>load<i16>(px + <usize>(i << 1)) * <i32>load<i8>(fp + <usize>i));
          }
        }
        const record = records + <usize>(c * RECORD);
        let v: i32;
        if (wide) v = multiply64(acc + load<i64>(record), load<i32>(record, 8), load<i32>(record, 12));
        else v = multiplyByQuantizedMultiplier(<i32>acc + load<i32>(record), load<i32>(record, 8), load<i32>(record, 12));
        if (v < actMin) v = actMin;
        if (v > actMax) v = actMax;
        store<i16>(out, <i16>v);
        out += 2;
      }
    }
  }
}
