// On-device training of a two-layer int8 head (in -> hidden with ReLU ->
// classes), after "On-Device Training Under 256KB Memory" (Lin et al. 2022):
// weights stay int8 and run through the same dense kernel as inference; the
// backward pass and the update are integer arithmetic; each weight keeps a
// Q16 residual (a fraction of one int8 step) so that updates smaller than a
// step accumulate instead of vanishing. All state lives in one region of
// linear memory sized at init.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_RECORD_BYTES, CHANNEL_SHIFT } from "../format";
import { denseS8 } from "../kernels/dense";
import { softmaxS8 } from "../kernels/softmax";
import { multiplyByQuantizedMultiplier } from "../quant";

// Quantization and learning parameters, computed by the host (words).
export const P_IN = 0; // input features
export const P_HIDDEN = 1;
export const P_CLASSES = 2;
export const P_IN_ZP = 3;
export const P_HIDDEN_ZP = 4; // layer-1 output zero point (ReLU floor)
export const P_LOGIT_ZP = 5;
export const P_L1_MULT = 6; // layer-1 requantization
export const P_L1_SHIFT = 7;
export const P_L2_MULT = 8;
export const P_L2_SHIFT = 9;
export const P_SOFTMAX_MULT = 10;
export const P_SOFTMAX_SHIFT = 11;
export const P_SOFTMAX_DIFF_MIN = 12;
export const P_W1_STEP_MULT = 13; // dW1 -> Q16 weight steps (includes lr / batch)
export const P_W1_STEP_SHIFT = 14;
export const P_W2_STEP_MULT = 15;
export const P_W2_STEP_SHIFT = 16;
export const P_B1_MULT = 17; // db1 -> bias units
export const P_B1_SHIFT = 18;
export const P_B2_MULT = 19;
export const P_B2_SHIFT = 20;
export const PARAM_WORDS = 21;

let params: usize = 0;
let nIn = 0, nHidden = 0, nClasses = 0;
// Region layout (addresses).
let w1: usize = 0, w2: usize = 0; // int8 [hidden][in], [classes][hidden]
let r1: usize = 0, r2: usize = 0; // i32 Q16 residuals, same shapes
let rec1: usize = 0, rec2: usize = 0; // channel records (bias, mult, shift)
let g1: usize = 0, g2: usize = 0; // i32 weight-gradient sums
let gb1: usize = 0, gb2: usize = 0; // i32 bias-gradient sums
let input: usize = 0, hidden: usize = 0, logits: usize = 0, probs: usize = 0; // int8 activations
let back: usize = 0; // i32 [hidden] gradient at the hidden layer
let samples = 0;

@inline function p(i: i32): i32 {
  return load<i32>(params + <usize>(i << 2));
}

function align(x: usize): usize {
  return (x + 15) & ~15;
}

// Bytes the region needs for these sizes (everything training uses).
export function regionBytes(inDim: i32, hiddenDim: i32, classes: i32): usize {
  const weights = <usize>(hiddenDim * inDim + classes * hiddenDim);
  const channels = <usize>(hiddenDim + classes);
  return align(PARAM_WORDS * 4) + align(weights) + 8 * weights + align(CHANNEL_RECORD_BYTES * channels) + 4 * channels
    + align(<usize>(inDim + hiddenDim + 2 * classes)) + 4 * <usize>hiddenDim + 64;
}

export function layout(base: usize, inDim: i32, hiddenDim: i32, classes: i32): void {
  nIn = inDim;
  nHidden = hiddenDim;
  nClasses = classes;
  let at = base;
  params = at; at = align(at + PARAM_WORDS * 4);
  w1 = at; w2 = w1 + <usize>(nHidden * nIn); at = align(w2 + <usize>(nClasses * nHidden));
  r1 = at; r2 = r1 + <usize>(4 * nHidden * nIn); at = r2 + <usize>(4 * nClasses * nHidden);
  g1 = at; g2 = g1 + <usize>(4 * nHidden * nIn); at = g2 + <usize>(4 * nClasses * nHidden);
  rec1 = align(at); rec2 = rec1 + <usize>(CHANNEL_RECORD_BYTES * nHidden); at = align(rec2 + <usize>(CHANNEL_RECORD_BYTES * nClasses));
  gb1 = at; gb2 = gb1 + <usize>(4 * nHidden); at = gb2 + <usize>(4 * nClasses);
  input = at; hidden = input + <usize>nIn; logits = hidden + <usize>nHidden; probs = logits + <usize>nClasses; at = align(probs + <usize>nClasses);
  back = at;
}

// The head's parameters as one vector (w1, w2, b1, b2, the order of the
// update message), each in its finest unit: a weight in Q16 int8 steps
// (weight * 65536 + residual), a bias as its int32.
export function parameterCount(): i32 {
  return nHidden * nIn + nClasses * nHidden + nHidden + nClasses;
}

// Where tensor t (w1, w2, b1, b2 for 0..3) ends in the parameter vector.
export function tensorEnd(t: i32): i32 {
  const n1 = nHidden * nIn, n2 = n1 + nClasses * nHidden;
  return t == 0 ? n1 : t == 1 ? n2 : t == 2 ? n2 + nHidden : n2 + nHidden + nClasses;
}

// Which of w1, w2, b1, b2 (0..3) parameter i belongs to.
export function parameterLayer(i: i32): i32 {
  const n1 = nHidden * nIn, n2 = n1 + nClasses * nHidden;
  return i < n1 ? 0 : i < n2 ? 1 : i < n2 + nHidden ? 2 : 3;
}

export function fineValue(i: i32): i32 {
  const n1 = nHidden * nIn, n2 = nClasses * nHidden;
  if (i < n1) return (<i32>load<i8>(w1 + <usize>i) << 16) + load<i32>(r1 + <usize>(i << 2));
  i -= n1;
  if (i < n2) return (<i32>load<i8>(w2 + <usize>i) << 16) + load<i32>(r2 + <usize>(i << 2));
  i -= n2;
  if (i < nHidden) return load<i32>(rec1 + <usize>(i * CHANNEL_RECORD_BYTES), CHANNEL_BIAS);
  return load<i32>(rec2 + <usize>((i - nHidden) * CHANNEL_RECORD_BYTES), CHANNEL_BIAS);
}

// Adds `fine` units to parameter i. A weight is renormalized to an int8 step
// (saturating at ±127) and a Q16 residual within ±2^20, as training keeps
// them; a bias saturates at the int32 range.
export function addFine(i: i32, fine: i64): void {
  const n1 = nHidden * nIn, n2 = nClasses * nHidden;
  if (i < n1 + n2) {
    const w = i < n1 ? w1 + <usize>i : w2 + <usize>(i - n1);
    const r = i < n1 ? r1 + <usize>(i << 2) : r2 + <usize>((i - n1) << 2);
    const value = (<i64>load<i8>(w) << 16) + <i64>load<i32>(r) + fine;
    const step = min(max((value + (1 << 15)) >> 16, -127), 127);
    store<i8>(w, <i8>step);
    store<i32>(r, <i32>min(max(value - (step << 16), -(1 << 20)), 1 << 20));
    return;
  }
  const c = i - n1 - n2;
  const record = c < nHidden ? rec1 + <usize>(c * CHANNEL_RECORD_BYTES) : rec2 + <usize>((c - nHidden) * CHANNEL_RECORD_BYTES);
  const bias = <i64>load<i32>(record, CHANNEL_BIAS) + fine;
  store<i32>(record, <i32>min(max(bias, <i64>i32.MIN_VALUE), <i64>i32.MAX_VALUE), CHANNEL_BIAS);
}

export function paramsPtr(): usize { return params; }
export function weights1Ptr(): usize { return w1; }
export function weights2Ptr(): usize { return w2; }
export function residuals1Ptr(): usize { return r1; }
export function residuals2Ptr(): usize { return r2; }
export function records1Ptr(): usize { return rec1; }
export function records2Ptr(): usize { return rec2; }
export function inputPtr(): usize { return input; }
export function logitsPtr(): usize { return logits; }
export function hiddenPtr(): usize { return hidden; }
export function grad2Ptr(): usize { return g2; }

// Writes each layer's per-tensor multiplier into its channel records.
export function prepare(): void {
  for (let c = 0; c < nHidden; c++) {
    store<i32>(rec1 + <usize>(c * CHANNEL_RECORD_BYTES), p(P_L1_MULT), CHANNEL_MULT);
    store<i32>(rec1 + <usize>(c * CHANNEL_RECORD_BYTES), p(P_L1_SHIFT), CHANNEL_SHIFT);
  }
  for (let c = 0; c < nClasses; c++) {
    store<i32>(rec2 + <usize>(c * CHANNEL_RECORD_BYTES), p(P_L2_MULT), CHANNEL_MULT);
    store<i32>(rec2 + <usize>(c * CHANNEL_RECORD_BYTES), p(P_L2_SHIFT), CHANNEL_SHIFT);
  }
  clearGradients();
}

function clearGradients(): void {
  memory.fill(g1, 0, <usize>(4 * nHidden * nIn + 4 * nClasses * nHidden));
  memory.fill(gb1, 0, <usize>(4 * (nHidden + nClasses)));
  samples = 0;
}

// Inference on the features at inputPtr(); returns the predicted class.
export function forward(): i32 {
  denseS8(input, hidden, 1, nIn, nHidden, p(P_IN_ZP), p(P_HIDDEN_ZP), p(P_HIDDEN_ZP), 127, w1, rec1, 0, nHidden);
  denseS8(hidden, logits, 1, nHidden, nClasses, p(P_HIDDEN_ZP), p(P_LOGIT_ZP), -128, 127, w2, rec2, 0, nClasses);
  let best = 0;
  for (let c = 1; c < nClasses; c++) if (load<i8>(logits + <usize>c) > load<i8>(logits + <usize>best)) best = c;
  return best;
}

// Adds one sample's gradients (cross-entropy on the int8 softmax).
export function accumulate(label: i32): void {
  forward();
  softmaxS8(logits, probs, 1, nClasses, p(P_SOFTMAX_MULT), p(P_SOFTMAX_SHIFT), p(P_SOFTMAX_DIFF_MIN));
  const hiddenZp = p(P_HIDDEN_ZP), inZp = p(P_IN_ZP);
  // Output gradient p - onehot in units of 1/256.
  for (let h = 0; h < nHidden; h++) store<i32>(back + <usize>(h << 2), 0);
  for (let o = 0; o < nClasses; o++) {
    const g = <i32>load<i8>(probs + <usize>o) + 128 - (o == label ? 256 : 0);
    store<i32>(gb2 + <usize>(o << 2), load<i32>(gb2 + <usize>(o << 2)) + g);
    for (let h = 0; h < nHidden; h++) {
      const a = <i32>load<i8>(hidden + <usize>h) - hiddenZp;
      const at = g2 + <usize>((o * nHidden + h) << 2);
      store<i32>(at, load<i32>(at) + g * a);
      const b = back + <usize>(h << 2);
      store<i32>(b, load<i32>(b) + g * <i32>load<i8>(w2 + <usize>(o * nHidden + h)));
    }
  }
  // Through the ReLU, scaled down by 2^8 so that batch sums fit in 32 bits.
  for (let h = 0; h < nHidden; h++) {
    const active = <i32>load<i8>(hidden + <usize>h) > hiddenZp;
    const d = active ? (load<i32>(back + <usize>(h << 2)) + 128) >> 8 : 0;
    store<i32>(gb1 + <usize>(h << 2), load<i32>(gb1 + <usize>(h << 2)) + d);
    if (d == 0) continue;
    for (let i = 0; i < nIn; i++) {
      const at = g1 + <usize>((h * nIn + i) << 2);
      store<i32>(at, load<i32>(at) + d * (<i32>load<i8>(input + <usize>i) - inZp));
    }
  }
  samples++;
}

// One gradient-descent step on int8 weights with Q16 residuals.
function stepWeights(w: usize, r: usize, g: usize, count: i32, mult: i32, shift: i32): void {
  for (let k = 0; k < count; k++) {
    const at = r + <usize>(k << 2);
    let residual = load<i32>(at) - multiplyByQuantizedMultiplier(load<i32>(g + <usize>(k << 2)), mult, shift);
    const carry = (residual + (1 << 15)) >> 16;
    const next = min(max(<i32>load<i8>(w + <usize>k) + carry, -127), 127);
    residual -= (next - <i32>load<i8>(w + <usize>k)) << 16;
    store<i8>(w + <usize>k, <i8>next);
    store<i32>(at, min(max(residual, -(1 << 20)), 1 << 20));
  }
}

function stepBiases(records: usize, g: usize, count: i32, mult: i32, shift: i32): void {
  for (let c = 0; c < count; c++) {
    const at = records + <usize>(c * CHANNEL_RECORD_BYTES);
    store<i32>(at, load<i32>(at, CHANNEL_BIAS) - multiplyByQuantizedMultiplier(load<i32>(g + <usize>(c << 2)), mult, shift), CHANNEL_BIAS);
  }
}

// Applies the accumulated batch (the multipliers include lr / batch size).
export function update(): i32 {
  if (samples == 0) return 0;
  stepWeights(w2, r2, g2, nClasses * nHidden, p(P_W2_STEP_MULT), p(P_W2_STEP_SHIFT));
  stepWeights(w1, r1, g1, nHidden * nIn, p(P_W1_STEP_MULT), p(P_W1_STEP_SHIFT));
  stepBiases(rec2, gb2, nClasses, p(P_B2_MULT), p(P_B2_SHIFT));
  stepBiases(rec1, gb1, nHidden, p(P_B1_MULT), p(P_B1_SHIFT));
  const n = samples;
  clearGradients();
  return n;
}
