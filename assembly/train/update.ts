// The device's update for the server, made inside the module: the
// difference between the trained head and the global head the round began
// with, plus the error-feedback residual of earlier rounds; optionally the
// top-k largest of those; quantized to int8 or 4 bits with one scale per
// tensor (or per group of equal size); written as the update message that
// host/fl/update-format.ts documents and decodes, CRC-32 included. What a
// round cannot carry (unsent elements, rounding) stays in the residual, on
// the device. The arithmetic is host/fl/quantize.ts's, step for step, so
// both make the same bytes from the same delta.
import { CRC32_INITIAL, crc32Final, crc32Update } from "../crc32";
import { addFine, fineValue, parameterCount, parameterLayer, tensorEnd } from "./head";

export const MAX_GROUPS = 256;
const HEADER = 40;
const MAGIC: u32 = 0x554c4657; // "WFLU"
const VERSION: u16 = 2;

let count = 0;
let globalAt: usize = 0; // i32 per parameter: the global head, in fine units
let residualAt: usize = 0; // f32 per parameter: error feedback
let messageAt: usize = 0;
// The real value of one fine unit, per layer (globals: nothing allocates).
let unitW1: f64 = 0, unitW2: f64 = 0, unitB1: f64 = 0, unitB2: f64 = 0;

// The largest message for n parameters: header, scales and group ends,
// varint gaps (one byte each, plus one more per 128 of span), values, CRC.
function messageCapacity(n: i32): usize {
  return <usize>(HEADER + 8 * MAX_GROUPS + 2 * n + n / 127 + 8);
}

export function regionBytes(n: i32): usize {
  return <usize>(8 * n) + messageCapacity(n);
}

export function layout(base: usize): void {
  count = parameterCount();
  globalAt = base;
  residualAt = globalAt + <usize>(4 * count);
  messageAt = residualAt + <usize>(4 * count);
}

export function messagePtr(): usize { return messageAt; }
export function messageBytes(): usize { return messageCapacity(count); }
export function residualPtr(): usize { return residualAt; }

export function setUnits(w1: f64, w2: f64, b1: f64, b2: f64): void {
  unitW1 = w1;
  unitW2 = w2;
  unitB1 = b1;
  unitB2 = b2;
}

// The round starts from the head as it is now (the global model just set).
export function beginRound(): void {
  for (let i = 0; i < count; i++) store<i32>(globalAt + <usize>(i << 2), fineValue(i));
}

// Each parameter back to its value at beginRound (weights renormalized to
// an int8 step and a Q16 residual, as addFine keeps them).
export function revert(): void {
  for (let i = 0; i < count; i++) addFine(i, <i64>load<i32>(globalAt + <usize>(i << 2)) - <i64>fineValue(i));
}

// The real value of one fine unit of parameter i.
function unitOf(i: i32): f64 {
  const layer = parameterLayer(i);
  return layer == 0 ? unitW1 : layer == 1 ? unitW2 : layer == 2 ? unitB1 : unitB2;
}

// Parameter i's change since beginRound, as a real number.
export function delta(i: i32): f32 {
  const fine = <i64>fineValue(i) - <i64>load<i32>(globalAt + <usize>(i << 2));
  return <f32>(<f64>fine * unitOf(i));
}

// The delta plus the residual of earlier rounds, which exportUpdate first
// writes over the residual (one pass of double arithmetic, which a Cortex-M4
// does in software, instead of one per pass of the top-k search); each
// element is read before its new residual replaces it.
@inline
function corrected(i: i32): f32 {
  return load<f32>(residualAt + <usize>(i << 2));
}

// |x| as ordered bits: for non-negative floats the bit patterns sort as the values.
@inline
function magnitudeBits(x: f32): u32 {
  return reinterpret<u32>(x) & 0x7fffffff;
}

function countAtLeast(threshold: u32): i32 {
  let n = 0;
  for (let i = 0; i < count; i++) if (magnitudeBits(corrected(i)) >= threshold) n++;
  return n;
}

// The k-th largest magnitude (as bits): the largest t with count(>= t) >= k.
function kthLargest(k: i32): u32 {
  let lo: u32 = 0, hi: u32 = 0x7f800000; // count(>= lo) >= k always holds
  while (lo < hi) {
    const mid = lo + ((hi - lo + 1) >> 1);
    if (countAtLeast(mid) >= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// JavaScript's Math.round: halves go up.
@inline
function roundHalfUp(x: f64): f64 {
  const r = Math.floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

// The scales and group ends of the message being written or read.
let scalesAt: usize = 0;
let endsAt: usize = 0;

@inline
function groupEnd(g: i32): u32 {
  return load<u32>(endsAt + <usize>(g << 2));
}

// The chosen elements: every magnitude above the threshold, and the first
// `ties` at it in index order. Each pass restarts the tie count.
let sparse = false;
let threshold: u32 = 0;
let ties = 0;
let tiesLeft = 0;

function isChosen(c: f32): bool {
  if (!sparse) return true;
  const m = magnitudeBits(c);
  if (m > threshold) return true;
  if (m == threshold && tiesLeft > 0) {
    tiesLeft--;
    return true;
  }
  return false;
}

// Writes the message at messagePtr(); returns its length in bytes, or -1 for
// bad arguments. The k = ceil(topk * n) largest corrected magnitudes go,
// ties to the lower index, as the host's sort picks them.
export function exportUpdate(bits: i32, topk: f64, groups: i32, modelVersion: u32, clientId: u32, round: u32, sampleCount: u32): i32 {
  if ((bits != 8 && bits != 4) || !(topk > 0 && topk <= 1) || groups < 0 || groups > MAX_GROUPS || groups > count) return -1;
  for (let i = 0; i < count; i++) {
    const r = residualAt + <usize>(i << 2);
    store<f32>(r, delta(i) + load<f32>(r));
  }
  // Groups 0: one per tensor (w1, w2, b1, b2); otherwise that many of nearly equal size.
  const perTensor = groups == 0;
  if (perTensor) groups = 4;
  scalesAt = messageAt + HEADER;
  endsAt = scalesAt + <usize>(4 * groups);
  for (let g = 0; g < groups; g++) {
    const end = perTensor ? tensorEnd(g) : <i32>(((<i64>(g + 1) * <i64>count) + <i64>groups - 1) / <i64>groups);
    store<u32>(endsAt + <usize>(g << 2), <u32>end);
  }
  const k = <i32>min(<f64>count, max(1.0, Math.ceil(topk * <f64>count)));
  sparse = k < count;
  threshold = sparse ? kthLargest(k) : 0;
  ties = sparse ? k - countAtLeast(threshold + 1) : 0;
  const qmax: f64 = bits == 8 ? 127 : 7;

  // The group scales: the largest chosen magnitude over qmax.
  memory.fill(scalesAt, 0, <usize>(4 * groups));
  tiesLeft = ties;
  for (let i = 0, g = 0; i < count; i++) {
    while (<u32>i >= groupEnd(g)) g++;
    const c = corrected(i);
    if (!isChosen(c)) continue;
    const s = scalesAt + <usize>(g << 2);
    store<f32>(s, <f32>max(<f64>load<f32>(s), <f64>Mathf.abs(c) / qmax));
  }

  // The indices, as varints of the gap to the previous one.
  let at = messageAt + <usize>(HEADER + 8 * groups);
  const indicesAt = at;
  if (sparse) {
    let previous = -1;
    tiesLeft = ties;
    for (let i = 0; i < count; i++) {
      if (!isChosen(corrected(i))) continue;
      let gap = <u32>(i - previous - 1);
      previous = i;
      while (gap > 0x7f) {
        store<u8>(at++, <u8>((gap & 0x7f) | 0x80));
        gap >>= 7;
      }
      store<u8>(at++, <u8>gap);
    }
  }
  const indexBytes = <u32>(at - indicesAt);

  // The values; what they cannot carry becomes the residual.
  const valueBytes = bits == 8 ? k : (k + 1) >> 1;
  memory.fill(at, 0, <usize>valueBytes);
  let j = 0;
  tiesLeft = ties;
  for (let i = 0, g = 0; i < count; i++) {
    while (<u32>i >= groupEnd(g)) g++;
    const r = residualAt + <usize>(i << 2);
    const c = corrected(i);
    if (!isChosen(c)) {
      store<f32>(r, c);
      continue;
    }
    const scale = <f64>load<f32>(scalesAt + <usize>(g << 2));
    const q = scale > 0 ? <i32>min(qmax, max(-qmax, roundHalfUp(<f64>c / scale))) : 0;
    if (bits == 8) store<i8>(at + <usize>j, <i8>q);
    else store<u8>(at + <usize>(j >> 1), load<u8>(at + <usize>(j >> 1)) | <u8>((q & 0xf) << (4 * (j & 1))));
    store<f32>(r, <f32>(<f64>c - <f64>q * scale));
    j++;
  }
  at += <usize>valueBytes;

  store<u32>(messageAt, MAGIC);
  store<u16>(messageAt, VERSION, 4);
  store<u8>(messageAt, <u8>bits, 6);
  store<u8>(messageAt, sparse ? 1 : 0, 7);
  store<u32>(messageAt, modelVersion, 8);
  store<u32>(messageAt, clientId, 12);
  store<u32>(messageAt, round, 16);
  store<u32>(messageAt, sampleCount, 20);
  store<u32>(messageAt, <u32>count, 24);
  store<u32>(messageAt, <u32>groups, 28);
  store<u32>(messageAt, <u32>k, 32);
  store<u32>(messageAt, indexBytes, 36);
  store<u32>(at, crc32Final(crc32Update(CRC32_INITIAL, messageAt, at - messageAt)));
  return <i32>(at + 4 - messageAt);
}

// A global delta from the server, in the same message format, added to the
// head: each value times its group's scale, in fine units (rounded), with
// weights renormalized to int8 plus a Q16 residual. The whole message is
// checked first (magic, version, sizes, CRC, indices); a bad one changes
// nothing. Returns 0, or 1 for a malformed message, 2 for a bad CRC, 3 for
// a message of another size of head.
export function applyUpdate(ptr: usize, length: usize): i32 {
  if (length < <usize>(HEADER + 4) || length > messageCapacity(count)) return 1;
  if (load<u32>(ptr) != MAGIC || load<u16>(ptr, 4) != VERSION) return 1;
  if (load<u32>(ptr + length - 4) != crc32Final(crc32Update(CRC32_INITIAL, ptr, length - 4))) return 2;
  const bits = <i32>load<u8>(ptr, 6), isSparse = (load<u8>(ptr, 7) & 1) != 0;
  const elements = load<u32>(ptr, 24), groups = load<u32>(ptr, 28), k = load<u32>(ptr, 32), indexBytes = load<u32>(ptr, 36);
  if (elements != <u32>count) return 3;
  if ((bits != 8 && bits != 4) || groups < 1 || groups > <u32>MAX_GROUPS || groups > elements || k > elements) return 1;
  if (!isSparse && (k != elements || indexBytes != 0)) return 1;
  const valueBytes = bits == 8 ? k : (k + 1) >> 1;
  if (<u64>HEADER + 8 * <u64>groups + <u64>indexBytes + <u64>valueBytes + 4 != <u64>length) return 1;
  scalesAt = ptr + HEADER;
  endsAt = scalesAt + <usize>(4 * groups);
  for (let g: u32 = 0; g < groups; g++) {
    const s = load<f32>(scalesAt + <usize>(g << 2));
    if (!(s >= 0) || !isFinite(s)) return 1;
    if (groupEnd(<i32>g) <= (g > 0 ? groupEnd(<i32>g - 1) : 0)) return 1;
  }
  if (groupEnd(<i32>groups - 1) != elements) return 1;
  // Two passes over the indices: check them all, then apply.
  for (let pass = 0; pass < 2; pass++) {
    let at = endsAt + <usize>(4 * groups);
    const indexEnd = at + <usize>indexBytes;
    const values = indexEnd;
    let previous: i64 = -1;
    let g = 0;
    for (let j: u32 = 0; j < k; j++) {
      let i: i64 = j;
      if (isSparse) {
        let gap: u64 = 0;
        for (let shift = 0; ; shift += 7) {
          if (at >= indexEnd || shift > 28) return 1;
          const byte = load<u8>(at++);
          gap |= <u64>(byte & 0x7f) << shift;
          if ((byte & 0x80) == 0) break;
        }
        i = previous + 1 + <i64>gap;
        if (i >= <i64>count) return 1;
        previous = i;
      }
      if (pass == 0) continue;
      const q = bits == 8 ? <i32>load<i8>(values + <usize>j) : ((<i32>load<u8>(values + <usize>(j >> 1)) >> (4 * (j & 1))) << 28) >> 28;
      while (<u32>i >= groupEnd(g)) g++;
      const scale = <f64>load<f32>(scalesAt + <usize>(g << 2));
      addReal(<i32>i, <f64>q * scale);
    }
    if (isSparse && at != indexEnd) return 1;
  }
  return 0;
}

function addReal(i: i32, value: f64): void {
  const unit = unitOf(i);
  if (unit > 0) addFine(i, <i64>roundHalfUp(value / unit));
}
