import { addS8 } from "../kernels/add";
import { denseS8 } from "../kernels/dense";
import { meanHwS8 } from "../kernels/mean";
import { averagePoolS8, maxPoolS8 } from "../kernels/pool";
import { softmaxS8 } from "../kernels/softmax";
import { multiplyByQuantizedMultiplier, requantize } from "../quant";
import { buffer, channelRecords, fillRandom, randomChannelParams, reseed, sameBytes } from "./reference";

describe("denseS8", () => {
  it("matches a TFLM-style reference for several rows and a channel tail", () => {
    reseed(3);
    const rows = 3, depth = 37, outC = 6, inZp = -17, outZp = 9;
    const x = buffer(rows * depth), w = buffer(outC * depth);
    fillRandom(x, rows * depth, -128, 127);
    fillRandom(w, outC * depth, -128, 127);
    const p = randomChannelParams(outC, -11, -7);
    const records = channelRecords(outC, p[0], p[1], p[2]);
    const expected = buffer(rows * outC), actual = buffer(rows * outC);
    for (let r = 0; r < rows; r++) for (let c = 0; c < outC; c++) {
      let acc = 0;
      for (let d = 0; d < depth; d++) acc += <i32>load<i8>(w + <usize>(c * depth + d)) * (<i32>load<i8>(x + <usize>(r * depth + d)) - inZp);
      acc += load<i32>(p[0] + <usize>(4 * c));
      store<i8>(expected + <usize>(r * outC + c), <i8>requantize(acc, load<i32>(p[1] + <usize>(4 * c)), load<i32>(p[2] + <usize>(4 * c)), outZp, -128, 127));
    }
    denseS8(x, actual, rows, depth, outC, inZp, outZp, -128, 127, w, records, 0, outC);
    expect(sameBytes(expected, actual, rows * outC)).toBe(true);
  });
});

describe("pooling", () => {
  it("averages with TFLM's rounding and skips padded taps", () => {
    // 2x2 input, one channel, 3x3 window with padding 1: every window sees
    // the whole input, count 4: (1 + 2 + 3 + 5) / 4 = 2.75 -> 3.
    const x = buffer(4), out = buffer(4);
    store<i8>(x, 1); store<i8>(x, 2, 1); store<i8>(x, 3, 2); store<i8>(x, 5, 3);
    averagePoolS8(x, out, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1, -128, 127);
    expect(load<i8>(out)).toBe(3);
    // Negative sums round half away from zero: -6 / 4 = -1.5 -> -2.
    store<i8>(x, -1); store<i8>(x, -1, 1); store<i8>(x, -2, 2); store<i8>(x, -2, 3);
    averagePoolS8(x, out, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1, -128, 127);
    expect(load<i8>(out)).toBe(-2);
  });
  it("takes the maximum and applies the activation range", () => {
    const x = buffer(6), out = buffer(2);
    for (let i = 0; i < 6; i++) store<i8>(x + <usize>i, <i8>(-100 + 7 * i));
    // 1x3 input with 2 channels, global 1x3 window.
    maxPoolS8(x, out, 1, 3, 2, 1, 1, 1, 3, 1, 1, 0, 0, -128, 127);
    expect(load<i8>(out)).toBe(-72);
    expect(load<i8>(out, 1)).toBe(-65);
    maxPoolS8(x, out, 1, 3, 2, 1, 1, 1, 3, 1, 1, 0, 0, -70, 127);
    expect(load<i8>(out)).toBe(-70);
  });
});

describe("addS8", () => {
  it("rescales both inputs with 20 bits of headroom, like TFLM", () => {
    reseed(5);
    const n = 64;
    const a = buffer(n), b = buffer(n), out = buffer(n), expected = buffer(n);
    fillRandom(a, n, -128, 127);
    fillRandom(b, n, -128, 127);
    const m1 = 1073741824, s1 = 0, m2 = 1431655765, s2 = -1, mo = 1717986918, so = -18;
    for (let i = 0; i < n; i++) {
      const x = (<i32>load<i8>(a + <usize>i) + 3) * (1 << 20);
      const y = (<i32>load<i8>(b + <usize>i) - 7) * (1 << 20);
      const sum = multiplyByQuantizedMultiplier(x, m1, s1) + multiplyByQuantizedMultiplier(y, m2, s2);
      store<i8>(expected + <usize>i, <i8>requantize(sum, mo, so, -4, -128, 127));
    }
    addS8(a, b, out, n, -3, 7, -4, 20, m1, s1, m2, s2, mo, so, -128, 127);
    expect(sameBytes(expected, out, n)).toBe(true);
  });
});

describe("meanHwS8", () => {
  it("subtracts the zero point times the count before requantizing", () => {
    // 2x2 pixels, 2 channels; channel 0 sums to 10, channel 1 to -8.
    const x = buffer(8), out = buffer(2);
    const values: i32[] = [1, -2, 2, -2, 3, -2, 4, -2];
    for (let i = 0; i < 8; i++) store<i8>(x + <usize>i, <i8>values[i]);
    // Multiplier 0.5 in Q31 with shift 0 and input zero point 1: (10 - 4) * 0.5 = 3.
    meanHwS8(x, out, 2, 2, 2, 1, 0, 1 << 30, 0);
    expect(load<i8>(out)).toBe(3);
    expect(load<i8>(out, 1)).toBe(-6);
  });
});

describe("softmaxS8", () => {
  it("gives equal inputs equal outputs that sum to about one", () => {
    const x = buffer(4), out = buffer(4);
    for (let i = 0; i < 4; i++) store<i8>(x + <usize>i, 10);
    // Input scale 1/16, beta 1: beta * scale * 2^26 = 2^22 is multiplier 2^30,
    // shift 23; the input radius is floor(31 * 2^26 / 2^23) = 248.
    softmaxS8(x, out, 1, 4, 1 << 30, 23, -248);
    for (let i = 0; i < 4; i++) expect(load<i8>(out + <usize>i)).toBe(-64); // 0.25 * 256 - 128
  });
  it("orders outputs like inputs and saturates a dominant logit at 127", () => {
    const x = buffer(3), out = buffer(3);
    store<i8>(x, 127); store<i8>(x, -128, 1); store<i8>(x, -128, 2);
    softmaxS8(x, out, 1, 3, 1 << 30, 23, -248);
    expect(load<i8>(out)).toBe(127);
    expect(load<i8>(out, 1)).toBe(-128);
  });
});
