// Naive transliterations of TFLM's reference loops (skip padded taps, add the
// input offset per tap, bias after the sum), to check the fused kernels and
// their folded-bias, padded-as-zero-point shortcuts against.
import { CHANNEL_BIAS, CHANNEL_MULT, CHANNEL_RECORD_BYTES, CHANNEL_SHIFT } from "../format";
import { requantize } from "../quant";

let seed: u32 = 12345;
export function reseed(s: u32): void {
  seed = s;
}
export function randomInt(lo: i32, hi: i32): i32 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return lo + <i32>(seed % <u32>(hi - lo + 1));
}

// Buffers stay referenced here so the test runtime's GC never frees memory
// the specs still address through raw pointers.
const pinned: StaticArray<u8>[] = [];
export function buffer(bytes: i32): usize {
  const b = new StaticArray<u8>(bytes);
  pinned.push(b);
  return changetype<usize>(b);
}

export function fillRandom(ptr: usize, bytes: i32, lo: i32, hi: i32): void {
  for (let i = 0; i < bytes; i++) store<i8>(ptr + <usize>i, <i8>randomInt(lo, hi));
}

export function fill(ptr: usize, bytes: i32, value: i32): void {
  for (let i = 0; i < bytes; i++) store<i8>(ptr + <usize>i, <i8>value);
}

export function sameBytes(a: usize, b: usize, bytes: i32): bool {
  for (let i = 0; i < bytes; i++) if (load<i8>(a + <usize>i) != load<i8>(b + <usize>i)) return false;
  return true;
}

// Channel records the way the converter writes them: bias, multiplier, shift.
export function channelRecords(channels: i32, bias: usize, mult: usize, shift: usize): usize {
  const records = buffer(channels * CHANNEL_RECORD_BYTES);
  for (let c = 0; c < channels; c++) {
    const r = records + <usize>(c * CHANNEL_RECORD_BYTES);
    store<i32>(r, load<i32>(bias + <usize>(4 * c)), CHANNEL_BIAS);
    store<i32>(r, load<i32>(mult + <usize>(4 * c)), CHANNEL_MULT);
    store<i32>(r, load<i32>(shift + <usize>(4 * c)), CHANNEL_SHIFT);
  }
  return records;
}

// TFLM ConvPerChannel (NHWC input, OHWI filter, batch 1).
export function referenceConv(
  input: usize, output: usize, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padTop: i32, padLeft: i32,
  inZp: i32, outZp: i32, actMin: i32, actMax: i32, filter: usize, bias: usize, mult: usize, shift: usize,
): void {
  for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let oc = 0; oc < outC; oc++) {
    let acc = 0;
    for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++) {
      const iy = oy * sH - padTop + ky * dH;
      const ix = ox * sW - padLeft + kx * dW;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
      for (let ic = 0; ic < inC; ic++) {
        const x = <i32>load<i8>(input + <usize>((iy * inW + ix) * inC + ic));
        const w = <i32>load<i8>(filter + <usize>(((oc * kH + ky) * kW + kx) * inC + ic));
        acc += w * (x - inZp);
      }
    }
    acc += load<i32>(bias + <usize>(4 * oc));
    const v = requantize(acc, load<i32>(mult + <usize>(4 * oc)), load<i32>(shift + <usize>(4 * oc)), outZp, actMin, actMax);
    store<i8>(output + <usize>((oy * outW + ox) * outC + oc), <i8>v);
  }
}

// TFLM DepthwiseConvPerChannel with the filter already in [outC][kH*kW].
export function referenceDepthwise(
  input: usize, output: usize, inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, dm: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32, padTop: i32, padLeft: i32,
  inZp: i32, outZp: i32, actMin: i32, actMax: i32, filter: usize, bias: usize, mult: usize, shift: usize,
): void {
  const outC = inC * dm;
  for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let ic = 0; ic < inC; ic++) for (let m = 0; m < dm; m++) {
    const oc = ic * dm + m;
    let acc = 0;
    for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++) {
      const iy = oy * sH - padTop + ky * dH;
      const ix = ox * sW - padLeft + kx * dW;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
      const x = <i32>load<i8>(input + <usize>((iy * inW + ix) * inC + ic));
      acc += <i32>load<i8>(filter + <usize>(oc * kH * kW + ky * kW + kx)) * (x - inZp);
    }
    acc += load<i32>(bias + <usize>(4 * oc));
    const v = requantize(acc, load<i32>(mult + <usize>(4 * oc)), load<i32>(shift + <usize>(4 * oc)), outZp, actMin, actMax);
    store<i8>(output + <usize>((oy * outW + ox) * outC + oc), <i8>v);
  }
}

// Random per-channel bias, multipliers in [2^30, 2^31) and shifts in [lo, hi].
export function randomChannelParams(channels: i32, shiftLo: i32, shiftHi: i32): StaticArray<usize> {
  const bias = buffer(4 * channels), mult = buffer(4 * channels), shift = buffer(4 * channels);
  for (let c = 0; c < channels; c++) {
    store<i32>(bias + <usize>(4 * c), randomInt(-20000, 20000));
    store<i32>(mult + <usize>(4 * c), (1 << 30) + randomInt(0, (1 << 30) - 1));
    store<i32>(shift + <usize>(4 * c), randomInt(shiftLo, shiftHi));
  }
  return [bias, mult, shift];
}
