// TRANSPOSE_CONV, int8 with per-channel quantization, as TFLM's
// reference_integer_ops::TransposeConv. TFLM scatters every input pixel into
// an int32 scratch buffer; this kernel gathers, for each output element, the
// input pixels that reach it (out = in * stride - pad + tap), which adds the
// same int32 products (integer addition is associative), so it needs no
// scratch. Then bias, the channel's multiplier and shift, zero point, clamp.
// Blocks: 0 the filter [outC][kH][kW][inC], 1 the per-channel records
// (bias, multiplier, shift). Arguments: batches, inH, inW, inC, outH, outW,
// outC, kH, kW, strideH, strideW, padTop, padLeft, inZp, outZp, actMin, actMax.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { arg, blockAt, blockBytes, blockCount, tensorAt, tensorBytes } from "./record";

const ARGS = 17;

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != ARGS || blockCount(op) != 2) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV has the wrong argument count", n);
  for (let k = 0; k < 11; k++) {
    const v = arg(op, k);
    if (v < 1 || v > 0xffff) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV dimension out of range", k);
  }
  const batches = <i64>arg(op, 0), inH = <i64>arg(op, 1), inW = <i64>arg(op, 2), inC = <i64>arg(op, 3);
  const outH = <i64>arg(op, 4), outW = <i64>arg(op, 5), outC = <i64>arg(op, 6), kH = <i64>arg(op, 7), kW = <i64>arg(op, 8);
  const padTop = arg(op, 11), padLeft = arg(op, 12);
  if (batches * inH * inW * inC != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV input size does not match", tensorBytes(op, 1));
  if (batches * outH * outW * outC != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV output size does not match", tensorBytes(op, 0));
  if (outC * kH * kW * inC != <i64>blockBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV filter size does not match", blockBytes(op, 0));
  if (outC * F.CHANNEL_RECORD_BYTES != <i64>blockBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV channel records do not match", blockBytes(op, 1));
  if (padTop < 0 || padTop > 0xffff || padLeft < 0 || padLeft > 0xffff) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV padding out of range", padTop);
  const inZp = arg(op, 13), outZp = arg(op, 14), actMin = arg(op, 15), actMax = arg(op, 16);
  if (inZp < -128 || inZp > 127 || outZp < -128 || outZp > 127) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV zero point out of range", 0);
  if (actMin < -128 || actMax > 127 || actMin > actMax) return failAt(F.ERR_BAD_OP, index, "TRANSPOSE_CONV activation range invalid", actMin);
  return F.ERR_NONE;
}

// Record contents only feed arithmetic (no address depends on them), so a
// mutated multiplier or shift gives wrong numbers, never a stray access.
export function run(op: usize, arena: usize): void {
  const batches = arg(op, 0), inH = arg(op, 1), inW = arg(op, 2), inC = arg(op, 3);
  const outH = arg(op, 4), outW = arg(op, 5), outC = arg(op, 6), kH = arg(op, 7), kW = arg(op, 8);
  const sH = arg(op, 9), sW = arg(op, 10), padTop = arg(op, 11), padLeft = arg(op, 12);
  const inOffset = -arg(op, 13), outZp = arg(op, 14), actMin = arg(op, 15), actMax = arg(op, 16);
  const filter = blockAt(op, 0), records = blockAt(op, 1);
  const input = tensorAt(arena, op, 1);
  let out = tensorAt(arena, op, 0);
  const tapBytes = <usize>inC, filterChannel = <usize>(kH * kW * inC);
  for (let b = 0; b < batches; b++) {
    const image = input + <usize>(b * inH * inW * inC);
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (let oc = 0; oc < outC; oc++) {
          const channelFilter = filter + <usize>oc * filterChannel;
          let acc: i32 = 0;
          for (let ky = 0; ky < kH; ky++) {
            const ty = oy + padTop - ky;
            if (ty < 0) break; // ty only falls as ky grows
            if (ty % sH != 0) continue;
            const iy = ty / sH;
            if (iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const tx = ox + padLeft - kx;
              if (tx < 0) break;
              if (tx % sW != 0) continue;
              const ix = tx / sW;
              if (ix >= inW) continue;
              const px = image + <usize>((iy * inW + ix) * inC);
              const fp = channelFilter + <usize>(ky * kW + kx) * tapBytes;
              for (let ic = 0; ic < inC; ic++) {
                acc += (<i32>load<i8>(px + <usize>ic) + inOffset) * <i32>load<i8>(fp + <usize>ic);
              }
            }
          }
          const record = records + <usize>(oc * F.CHANNEL_RECORD_BYTES);
          acc += load<i32>(record, F.CHANNEL_BIAS);
          let v = multiplyByQuantizedMultiplier(acc, load<i32>(record, F.CHANNEL_MULT), load<i32>(record, F.CHANNEL_SHIFT)) + outZp;
          if (v < actMin) v = actMin;
          if (v > actMax) v = actMax;
          store<i8>(out, <i8>v);
          out++;
        }
      }
    }
  }
}
