// ARG_MAX and ARG_MIN over one axis of an int8 tensor, int32 indices out, as
// TFLM's reference_ops::ArgMinMax: the first index wins a tie.
// Arguments: isMax (0/1), outer, axisSize, inner (input = outer x axis x inner).
import * as F from "../format";
import { failAt } from "../errors";
import { arg, tensorAt, tensorBytes } from "./record";

export function validate(index: i32, op: usize, n: i32): i32 {
  if (n != 4) return failAt(F.ERR_BAD_OP, index, "ARG_MIN_MAX has the wrong argument count", n);
  const isMax = arg(op, 0), outer = arg(op, 1), axis = arg(op, 2), inner = arg(op, 3);
  if (isMax != 0 && isMax != 1) return failAt(F.ERR_BAD_OP, index, "ARG_MIN_MAX flag invalid", isMax);
  if (outer < 1 || axis < 1 || inner < 1) return failAt(F.ERR_BAD_OP, index, "ARG_MIN_MAX dimension out of range", 0);
  if (<i64>outer * axis * inner != <i64>tensorBytes(op, 1)) return failAt(F.ERR_BAD_OP, index, "ARG_MIN_MAX input size does not match", tensorBytes(op, 1));
  if (<i64>outer * inner * 4 != <i64>tensorBytes(op, 0)) return failAt(F.ERR_BAD_OP, index, "ARG_MIN_MAX output size does not match", tensorBytes(op, 0));
  return F.ERR_NONE;
}

export function run(op: usize, arena: usize): void {
  const isMax = arg(op, 0) == 1, outer = arg(op, 1), axis = arg(op, 2), inner = arg(op, 3);
  const input = tensorAt(arena, op, 1), output = tensorAt(arena, op, 0);
  for (let o = 0; o < outer; o++) {
    const base = input + <usize>(o * axis * inner);
    for (let i = 0; i < inner; i++) {
      let best = <i32>load<i8>(base + <usize>i), at = 0;
      for (let k = 1; k < axis; k++) {
        const v = <i32>load<i8>(base + <usize>(k * inner + i));
        if (isMax ? v > best : v < best) {
          best = v;
          at = k;
        }
      }
      store<i32>(output + <usize>((o * inner + i) << 2), at);
    }
  }
}
