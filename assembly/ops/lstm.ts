// LSTM: UNIDIRECTIONAL_SEQUENCE_LSTM as TFLM's integer kernel computes it
// (lstm_eval.h: int8 activations with int32 bias sums, or int16 activations
// with int64 ones; int8 weights; an int16 cell state). Per row (one batch,
// one time step) and per gate g (input, forget, cell, output):
//   gate_g = act(sat16(sat16(MBQM(bias_g + W_g . (x - inZp))) +
//                      sat16(MBQM(R_g . (h - hZp)))))
// act: TFLM's int16 sigmoid (the cell gate: its tanh), both on Q3.12 inputs
// (multiplier 3, shift 0); then
//   c = clip(sat16(sat16(MBQM(forget * c)) + sat16(MBQM(input * cell))))
//   h = clamp(MBQM(tanh_c(c) * output) + hZp)
// with tanh_c scaled by the cell state's power of two. Every step is
// elementwise per unit, so the kernel runs the four gates of one unit
// together and needs no scratch: the new h is written to the output row and
// copied into the state once the row is done (every unit reads the old h).
// The hidden state is kept as int16 (h - hZp), so the zeroed arena of a fresh
// load is TFLM's reset state (h = its zero point) and the recurrent sums read
// it as they are. Both state tensors persist from one invoke to the next.
// Tensors: 0 output [rows][S], 1 input [rows][I], 2 hidden state [B][S]
// int16, 3 cell state [B][S] int16. Blocks: 0 input weights [4][S][I],
// 1 recurrent weights [4][S][S] (gate order input, forget, cell, output),
// 2 biases [4][S] int64 (int8 mode sums in int32: the low word), 3 the
// 256-entry uint16 sigmoid table.
// Arguments: 0 mode (0 int8, 1 int16 activations), 1 batches B, 2 steps T,
// 3 input size I, 4 units S, 5 time major (rows t-major, else b-major),
// 6 inZp, 7 hZp, 8..23 per gate: input multiplier, shift, recurrent
// multiplier, shift; 24/25 forget x cell, 26/27 input x cell gate, 28/29
// tanh(cell) x output multiplier/shift; 30 quantized cell clip (-1: none);
// 31/32 the cell tanh's multiplier and shift.
import * as F from "../format";
import { failAt } from "../errors";
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplier64 } from "../quant";
import { argAt, blockAt, blockBytes, blockCount, tensorAt, tensorBytes, tensorCount } from "./record";
import { sigmoidOrTanh16 } from "./sigmoid";

const ARGS = 33;
const CELL_GATE = 2;

@inline
function sat16(v: i32): i32 {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

// Argument k at `a` (argAt(op, 0)): one address for all of them keeps the code small.
@inline
function word(a: usize, k: i32): i32 {
  return load<i32>(a + (<usize>k << 2));
}

export function validate(index: i32, op: usize, n: i32): i32 {
  const a = argAt(op, 0);
  if (n != ARGS || tensorCount(op) != 4 || blockCount(op) != 4) return failAt(F.ERR_BAD_OP, index, "LSTM has the wrong argument, tensor or block count", n);
  const mode = word(a, 0);
  if ((mode & ~1) != 0 || (word(a, 5) & ~1) != 0) return failAt(F.ERR_BAD_OP, index, "LSTM mode invalid", mode);
  for (let k = 1; k <= 4; k++) if (word(a, k) < 1 || word(a, k) > 0xffff) return failAt(F.ERR_BAD_OP, index, "LSTM dimension out of range", k);
  const es: i64 = mode + 1, b = <i64>word(a, 1), t = <i64>word(a, 2), i = <i64>word(a, 3), s = <i64>word(a, 4);
  if (<i64>tensorBytes(op, 0) != b * t * s * es || <i64>tensorBytes(op, 1) != b * t * i * es || <i64>tensorBytes(op, 2) != b * s * 2 || <i64>tensorBytes(op, 3) != b * s * 2) return failAt(F.ERR_BAD_OP, index, "LSTM tensor sizes do not fit", 0);
  if (<i64>blockBytes(op, 0) != 4 * s * i || <i64>blockBytes(op, 1) != 4 * s * s || <i64>blockBytes(op, 2) != 32 * s || blockBytes(op, 3) != 512) return failAt(F.ERR_BAD_OP, index, "LSTM block sizes do not fit", 0);
  const lo = mode == 0 ? -128 : 0, hi = mode == 0 ? 127 : 0;
  if (word(a, 6) < lo || word(a, 6) > hi || word(a, 7) < lo || word(a, 7) > hi) return failAt(F.ERR_BAD_OP, index, "LSTM zero point out of range", word(a, 7));
  for (let k = 8; k < 30; k += 2) {
    if (word(a, k) < 0 || word(a, k + 1) < -31 || word(a, k + 1) > 30) return failAt(F.ERR_BAD_OP, index, "LSTM multiplier or shift out of range", k);
  }
  if (word(a, 30) < -1 || word(a, 30) > 32767) return failAt(F.ERR_BAD_OP, index, "LSTM cell clip out of range", word(a, 30));
  if (word(a, 31) < 0 || word(a, 31) > 0xffff || word(a, 32) < 0 || word(a, 32) > 31) return failAt(F.ERR_BAD_OP, index, "LSTM tanh scaling out of range", word(a, 31));
  return F.ERR_NONE;
}

// One gate's two fully connected rows, summed and saturated as TFLM's
// CalculateLstmGate does before the activation.
function gateInput(a: usize, g: i32, j: i32, x: usize, h: usize, wIn: usize, wRec: usize, biases: usize, inputs: i32, units: i32, inZp: i32, wide: bool): i32 {
  const w = wIn + <usize>((g * units + j) * inputs), r = wRec + <usize>((g * units + j) * units);
  const bias = load<i64>(biases + (<usize>(g * units + j) << 3));
  let fromInput: i32;
  if (wide) {
    let acc = bias;
    for (let d = 0; d < inputs; d++) acc += <i64>(<i32>load<i16>(x + (<usize>d << 1)) * <i32>load<i8>(w + <usize>d));
    fromInput = multiplyByQuantizedMultiplier64(acc, word(a, 8 + 4 * g), word(a, 9 + 4 * g));
  } else {
    let acc = <i32>bias;
    for (let d = 0; d < inputs; d++) acc += (<i32>load<i8>(x + <usize>d) - inZp) * <i32>load<i8>(w + <usize>d);
    fromInput = multiplyByQuantizedMultiplier(acc, word(a, 8 + 4 * g), word(a, 9 + 4 * g));
  }
  // The hidden state is stored as h - hZp: the recurrent sums need no offset.
  let fromState: i32;
  if (wide) {
    let acc: i64 = 0;
    for (let d = 0; d < units; d++) acc += <i64>(<i32>load<i16>(h + (<usize>d << 1)) * <i32>load<i8>(r + <usize>d));
    fromState = multiplyByQuantizedMultiplier64(acc, word(a, 10 + 4 * g), word(a, 11 + 4 * g));
  } else {
    let acc = 0;
    for (let d = 0; d < units; d++) acc += <i32>load<i16>(h + (<usize>d << 1)) * <i32>load<i8>(r + <usize>d);
    fromState = multiplyByQuantizedMultiplier(acc, word(a, 10 + 4 * g), word(a, 11 + 4 * g));
  }
  return sat16(sat16(fromInput) + sat16(fromState));
}

export function run(op: usize, arena: usize): void {
  const a = argAt(op, 0);
  const wide = word(a, 0) == 1, es = wide ? 2 : 1;
  const batches = word(a, 1), steps = word(a, 2), inputs = word(a, 3), units = word(a, 4), timeMajor = word(a, 5) == 1;
  const inZp = word(a, 6), hZp = word(a, 7), clip = word(a, 30), tanhMultiplier = word(a, 31), tanhShift = word(a, 32);
  const hMin = wide ? -32768 : -128, hMax = wide ? 32767 : 127;
  const output = tensorAt(arena, op, 0), input = tensorAt(arena, op, 1), hidden = tensorAt(arena, op, 2), cell = tensorAt(arena, op, 3);
  const wIn = blockAt(op, 0), wRec = blockAt(op, 1), biases = blockAt(op, 2), table = blockAt(op, 3);
  for (let b = 0; b < batches; b++) {
    const h = hidden + <usize>(b * units * 2), c = cell + <usize>(b * units * 2);
    for (let t = 0; t < steps; t++) {
      const row = timeMajor ? t * batches + b : b * steps + t;
      const x = input + <usize>(row * inputs * es), out = output + <usize>(row * units * es);
      for (let j = 0; j < units; j++) {
        const inputGate = sigmoidOrTanh16(gateInput(a, 0, j, x, h, wIn, wRec, biases, inputs, units, inZp, wide), 3, 0, false, table);
        const forgetGate = sigmoidOrTanh16(gateInput(a, 1, j, x, h, wIn, wRec, biases, inputs, units, inZp, wide), 3, 0, false, table);
        const cellGate = sigmoidOrTanh16(gateInput(a, CELL_GATE, j, x, h, wIn, wRec, biases, inputs, units, inZp, wide), 3, 0, true, table);
        const outputGate = sigmoidOrTanh16(gateInput(a, 3, j, x, h, wIn, wRec, biases, inputs, units, inZp, wide), 3, 0, false, table);
        const cj = c + <usize>(j << 1);
        const kept = sat16(multiplyByQuantizedMultiplier(forgetGate * <i32>load<i16>(cj), word(a, 24), word(a, 25)));
        const added = sat16(multiplyByQuantizedMultiplier(inputGate * cellGate, word(a, 26), word(a, 27)));
        let next = sat16(kept + added);
        if (clip >= 0) next = next > clip ? clip : next < -clip ? -clip : next;
        store<i16>(cj, <i16>next);
        const squashed = sigmoidOrTanh16(next, tanhMultiplier, tanhShift, true, table);
        let v = multiplyByQuantizedMultiplier(squashed * outputGate, word(a, 28), word(a, 29)) + hZp;
        v = v < hMin ? hMin : v > hMax ? hMax : v;
        if (wide) store<i16>(out + (<usize>j << 1), <i16>v);
        else store<i8>(out + <usize>j, <i8>v);
      }
      // The row's new hidden state, once every unit has read the old one.
      for (let j = 0; j < units; j++) store<i16>(h + (<usize>j << 1), <i16>((wide ? <i32>load<i16>(out + (<usize>j << 1)) : <i32>load<i8>(out + <usize>j)) - hZp));
    }
  }
}
