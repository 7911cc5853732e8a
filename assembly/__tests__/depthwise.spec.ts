import { depthwiseS8 } from "../kernels/depthwise";
import { buffer, channelRecords, fillRandom, randomChannelParams, referenceDepthwise, reseed, sameBytes } from "./reference";

function depthwiseMatches(
  inH: i32, inW: i32, inC: i32, dm: i32, kH: i32, kW: i32, sH: i32, sW: i32, dH: i32, dW: i32,
  padTop: i32, padLeft: i32, padBottom: i32, padRight: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
): bool {
  const outH = (inH + padTop + padBottom - ((kH - 1) * dH + 1)) / sH + 1;
  const outW = (inW + padLeft + padRight - ((kW - 1) * dW + 1)) / sW + 1;
  const outC = inC * dm;
  const input = buffer(inH * inW * inC), filter = buffer(outC * kH * kW);
  fillRandom(input, inH * inW * inC, -128, 127);
  fillRandom(filter, outC * kH * kW, -128, 127);
  const p = randomChannelParams(outC, -10, -5);
  const records = channelRecords(outC, p[0], p[1], p[2]);
  const expected = buffer(outH * outW * outC), actual = buffer(outH * outW * outC);
  referenceDepthwise(input, expected, inH, inW, inC, outH, outW, dm, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, p[0], p[1], p[2]);
  depthwiseS8(input, actual, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW, padTop, padLeft, inZp, outZp, actMin, actMax, filter, records, 0, outC);
  return sameBytes(expected, actual, outH * outW * outC);
}

describe("depthwiseS8", () => {
  beforeEach(() => reseed(11));
  it("matches with depth multiplier 1, 2 and 3", () => {
    expect(depthwiseMatches(6, 6, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, -4, -128, 127)).toBe(true);
    expect(depthwiseMatches(6, 5, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, -9, 1, -128, 127)).toBe(true);
    expect(depthwiseMatches(5, 7, 2, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, -128, 127)).toBe(true);
  });
  it("matches with padding on each side alone", () => {
    expect(depthwiseMatches(5, 5, 3, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 3, 3, -128, 127)).toBe(true);
    expect(depthwiseMatches(5, 5, 3, 1, 3, 3, 1, 1, 1, 1, 0, 1, 0, 0, 3, 3, -128, 127)).toBe(true);
    expect(depthwiseMatches(5, 5, 3, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1, 0, 3, 3, -128, 127)).toBe(true);
    expect(depthwiseMatches(5, 5, 3, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 1, 3, 3, -128, 127)).toBe(true);
  });
  it("matches with stride 2, dilation 2 and a non-square kernel", () => {
    expect(depthwiseMatches(9, 8, 4, 1, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, -128, 127, -128, 127)).toBe(true);
    expect(depthwiseMatches(9, 9, 2, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 127, -128, -128, 127)).toBe(true);
    expect(depthwiseMatches(30, 1, 4, 1, 3, 1, 1, 1, 1, 1, 1, 0, 1, 0, -128, -128, -128, 127)).toBe(true);
  });
  it("matches with a fused activation range", () => {
    expect(depthwiseMatches(6, 6, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, -20, -20, 60)).toBe(true);
  });
});
