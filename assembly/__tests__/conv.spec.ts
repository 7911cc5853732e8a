import { convS8 } from "../kernels/conv";
import { buffer, channelRecords, fill, fillRandom, randomChannelParams, referenceConv, reseed, sameBytes } from "./reference";

// Runs the kernel and the TFLM-style reference on random data; true if equal.
function convMatches(
  inH: i32, inW: i32, inC: i32, outC: i32, kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32,
  padTop: i32, padLeft: i32, padBottom: i32, padRight: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  xLo: i32 = -128, xHi: i32 = 127, wLo: i32 = -128, wHi: i32 = 127,
): bool {
  const outH = (inH + padTop + padBottom - ((kH - 1) * dH + 1)) / sH + 1;
  const outW = (inW + padLeft + padRight - ((kW - 1) * dW + 1)) / sW + 1;
  const input = buffer(inH * inW * inC);
  const filter = buffer(outC * kH * kW * inC);
  fillRandom(input, inH * inW * inC, xLo, xHi);
  fillRandom(filter, outC * kH * kW * inC, wLo, wHi);
  const p = randomChannelParams(outC, -12, -6);
  const records = channelRecords(outC, p[0], p[1], p[2]);
  const expected = buffer(outH * outW * outC), actual = buffer(outH * outW * outC);
  referenceConv(input, expected, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, p[0], p[1], p[2]);
  convS8(input, actual, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, records, 0, outC);
  return sameBytes(expected, actual, outH * outW * outC);
}

describe("convS8", () => {
  beforeEach(() => reseed(7));
  it("matches the reference with no padding, stride 1", () => {
    expect(convMatches(6, 5, 3, 5, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 3, -2, -128, 127)).toBe(true);
  });
  it("matches with padding on every side, one side at a time and all together", () => {
    expect(convMatches(5, 5, 2, 6, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, -7, 4, -128, 127)).toBe(true);
    expect(convMatches(5, 5, 2, 6, 3, 3, 1, 1, 1, 1, 0, 1, 0, 0, -7, 4, -128, 127)).toBe(true);
    expect(convMatches(5, 5, 2, 6, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, -7, 4, -128, 127)).toBe(true);
    expect(convMatches(5, 5, 2, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 1, -7, 4, -128, 127)).toBe(true);
    expect(convMatches(7, 6, 3, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 11, 0, -128, 127)).toBe(true);
  });
  it("matches with strides 2 and 3, odd and even sizes", () => {
    expect(convMatches(9, 8, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, 5, -128, 127)).toBe(true);
    expect(convMatches(10, 7, 2, 5, 3, 2, 3, 2, 1, 1, 0, 0, 1, 1, 9, -3, -128, 127)).toBe(true);
  });
  it("matches with dilation, including only horizontal or vertical", () => {
    expect(convMatches(9, 9, 2, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, -1, 2, -128, 127)).toBe(true);
    expect(convMatches(9, 9, 2, 5, 3, 3, 1, 1, 1, 3, 1, 3, 1, 3, -1, 2, -128, 127)).toBe(true);
    expect(convMatches(9, 9, 2, 5, 3, 3, 2, 1, 3, 1, 3, 1, 3, 1, -1, 2, -128, 127)).toBe(true);
  });
  it("matches for a 1x1 conv and a channel count that is not a multiple of 4", () => {
    expect(convMatches(4, 4, 7, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -128, 127, -128, 127)).toBe(true);
  });
  it("matches at zero-point corners and with fused ReLU6-style ranges", () => {
    expect(convMatches(5, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -128, -128, -128, 127)).toBe(true);
    expect(convMatches(5, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 127, 127, -128, 127)).toBe(true);
    expect(convMatches(5, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, -128, -128, -105)).toBe(true);
  });
  it("matches with extreme inputs and filters that push the accumulator hard", () => {
    // x - zp = -255 and w = -128 on every tap: the largest int8 products.
    expect(convMatches(6, 6, 64, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 127, 0, -128, 127, -128, -128, -128, -128)).toBe(true);
    expect(convMatches(6, 6, 64, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, -128, 0, -128, 127, 127, 127, -128, -128)).toBe(true);
  });
  it("saturates the output at -128 and 127", () => {
    const input = buffer(9 * 4), filter = buffer(2 * 9 * 4), out = buffer(2);
    fill(input, 36, 127);
    fill(filter, 36, 127);
    fill(filter + 36, 36, -128);
    const p = randomChannelParams(2, 0, 0);
    const records = channelRecords(2, p[0], p[1], p[2]);
    convS8(input, out, 3, 3, 4, 1, 1, 2, 3, 3, 1, 1, 1, 1, 0, 0, -128, 0, -128, 127, filter, records, 0, 2);
    expect(load<i8>(out)).toBe(127);
    expect(load<i8>(out, 1)).toBe(-128);
  });
});
