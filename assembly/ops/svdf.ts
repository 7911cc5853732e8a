// SVDF: TFLM's integer SVDF (svdf_common.cc, EvalIntegerSvdfReference): int8
// input and feature weights, int8 or int16 time weights and activation state.
// Per batch, the state (per filter, the last M feature values) shifts one
// step, then for every filter f
//   state[f][M-1] = sat(MBQM(Wf[f] . (x - inZp), scale1)) + stateZp
//   sum[f] = Wt[f] . (state[f] - stateZp)
// and per unit u (filters u*R .. u*R+R-1, R the rank)
//   out[u] = clamp8(MBQM(bias[u] + sum of its filters' sums, scale2) + outZp)
// (TFLM's integer path applies no fused activation). Each unit's filters are
// computed together, so no scratch is needed. The state holds each value's
// sat(...) part without its zero point, so a fresh load's zeroed arena is
// TFLM's reset state (every value its zero point); it persists across invokes.
// Tensors: 0 output [B][U] int8, 1 input [B][I] int8, 2 state [B][F][M].
// Blocks: 0 feature weights [F][I] int8, 1 time weights [F][M] (state type),
// 2 bias [U] int32.
// Arguments: 0 state element bytes (1 or 2), 1 batches B, 2 input size I,
// 3 filters F, 4 memory M, 5 rank R, 6 inZp, 7 stateZp, 8 outZp,
// 9/10 scale1 multiplier/shift, 11/12 scale2 multiplier/shift.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier } from "../quant";
import { argAt, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";

const ARGS = 13;

// Argument k at `a` (argAt(op, 0)): one address for all of them keeps the code small.
@inline
function word(a: usize, k: i32): i32 {
  return load<i32>(a + (<usize>k << 2));
}

export function validate(index: i32, op: usize, n: i32): i32 {
  const a = argAt(op, 0);
  if (n != ARGS || tensorCount(op) != 3 || blockCount(op) != 3) return failAt(F.ERR_BAD_OP, index, "SVDF has the wrong argument, tensor or block count", n);
  const es = word(a, 0);
  if (es != 1 && es != 2) return failAt(F.ERR_BAD_OP, index, "SVDF state type invalid", es);
  for (let k = 1; k <= 5; k++) if (word(a, k) < 1 || word(a, k) > 0xffff) return failAt(F.ERR_BAD_OP, index, "SVDF dimension out of range", k);
  const b = <i64>word(a, 1), i = <i64>word(a, 2), f = <i64>word(a, 3), m = <i64>word(a, 4), r = <i64>word(a, 5);
  if (f % r != 0) return failAt(F.ERR_BAD_OP, index, "SVDF filters are not a multiple of the rank", <i32>r);
  const u = f / r;
  if (<i64>tensorBytes(op, 0) != b * u || <i64>tensorBytes(op, 1) != b * i || <i64>tensorBytes(op, 2) != b * f * m * es) return failAt(F.ERR_BAD_OP, index, "SVDF tensor sizes do not fit", 0);
  if (<i64>blockBytes(op, 0) != f * i || <i64>blockBytes(op, 1) != f * m * es || <i64>blockBytes(op, 2) != u * 4) return failAt(F.ERR_BAD_OP, index, "SVDF block sizes do not fit", 0);
  for (let k = 6; k <= 8; k++) if (word(a, k) < -128 || word(a, k) > 127) return failAt(F.ERR_BAD_OP, index, "SVDF zero point out of range", k);
  for (let k = 9; k <= 11; k += 2) if (word(a, k) < 0 || word(a, k + 1) < -31 || word(a, k + 1) > 30) return failAt(F.ERR_BAD_OP, index, "SVDF multiplier or shift out of range", k);
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const a = argAt(op, 0);
  const es = word(a, 0), wide = es == 2;
  const batches = word(a, 1), inputs = word(a, 2), filters = word(a, 3), memorySize = word(a, 4), rank = word(a, 5);
  const inZp = word(a, 6), stateZp = word(a, 7), outZp = word(a, 8);
  const m1 = word(a, 9), s1 = word(a, 10), m2 = word(a, 11), s2 = word(a, 12);
  const lo = wide ? -32768 : -128, hi = wide ? 32767 : 127;
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1), state = tensorAt(arena, op, 2);
  const featureWeights = blockAt(op, 0), timeWeights = blockAt(op, 1), bias = blockAt(op, 2);
  const units = filters / rank, rowBytes = memorySize * es;
  for (let b = 0; b < batches; b++) {
    const x = input + <usize>(b * inputs), s = state + <usize>(b * filters * rowBytes);
    // One step older: the last slot of every filter is written below.
    memory.copy(s, s + <usize>es, <usize>(filters * rowBytes - es));
    for (let u = 0; u < units; u++) {
      let acc = load<i32>(bias + (<usize>u << 2));
      for (let f = u * rank; f < (u + 1) * rank; f++) {
        const wf = featureWeights + <usize>(f * inputs);
        let dot = 0;
        for (let c = 0; c < inputs; c++) dot += <i32>load<i8>(wf + <usize>c) * (<i32>load<i8>(x + <usize>c) - inZp);
        dot = multiplyByQuantizedMultiplier(dot, m1, s1);
        dot = dot < lo ? lo : dot > hi ? hi : dot;
        const row = s + <usize>(f * rowBytes), wt = timeWeights + <usize>(f * rowBytes);
        if (wide) store<i16>(row + <usize>(rowBytes - 2), <i16>dot);
        else store<i8>(row + <usize>(rowBytes - 1), <i8>dot);
        // TFLM stores stateZp + dot in the state's type and reads it less stateZp.
        for (let j = 0; j < memorySize; j++) {
          if (wide) acc += <i32>load<i16>(wt + (<usize>j << 1)) * (<i32><i16>(<i32>load<i16>(row + (<usize>j << 1)) + stateZp) - stateZp);
          else acc += <i32>load<i8>(wt + <usize>j) * (<i32><i8>(<i32>load<i8>(row + <usize>j) + stateZp) - stateZp);
        }
      }
      let v = multiplyByQuantizedMultiplier(acc, m2, s2) + outZp;
      v = v < -128 ? -128 : v > 127 ? 127 : v;
      store<i8>(output + <usize>(b * units + u), <i8>v);
    }
  }
}
