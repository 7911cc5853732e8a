import {
  multiplyByQuantizedMultiplier, requantize, roundingDivideByPOT, saturatingRoundingDoublingHighMul, saturatingShiftLeft,
} from "../quant";

describe("saturatingRoundingDoublingHighMul", () => {
  it("saturates the single overflow case", () => {
    expect(saturatingRoundingDoublingHighMul(i32.MIN_VALUE, i32.MIN_VALUE)).toBe(i32.MAX_VALUE);
  });
  it("computes (a * b * 2) >> 32 with rounding", () => {
    expect(saturatingRoundingDoublingHighMul(1 << 30, 1 << 30)).toBe(1 << 29);
    expect(saturatingRoundingDoublingHighMul(i32.MAX_VALUE, i32.MAX_VALUE)).toBe(i32.MAX_VALUE - 1);
    expect(saturatingRoundingDoublingHighMul(i32.MIN_VALUE, i32.MAX_VALUE)).toBe(-i32.MAX_VALUE);
    // gemmlowp's nudge rounds ties toward +infinity: 1.5 -> 2 but -1.5 -> -1.
    expect(saturatingRoundingDoublingHighMul(3, 1 << 30)).toBe(2);
    expect(saturatingRoundingDoublingHighMul(-3, 1 << 30)).toBe(-1);
    expect(saturatingRoundingDoublingHighMul(1, 1 << 30)).toBe(1); // 0.5 -> 1
    expect(saturatingRoundingDoublingHighMul(-1, 1 << 30)).toBe(0); // -0.5 -> 0
  });
});

describe("roundingDivideByPOT", () => {
  it("rounds ties away from zero", () => {
    expect(roundingDivideByPOT(5, 1)).toBe(3);
    expect(roundingDivideByPOT(-5, 1)).toBe(-3);
    expect(roundingDivideByPOT(6, 2)).toBe(2);
    expect(roundingDivideByPOT(-6, 2)).toBe(-2);
    expect(roundingDivideByPOT(-4, 1)).toBe(-2);
    expect(roundingDivideByPOT(7, 3)).toBe(1);
    expect(roundingDivideByPOT(-7, 3)).toBe(-1);
  });
  it("handles exponent 0 and 31", () => {
    expect(roundingDivideByPOT(-123, 0)).toBe(-123);
    expect(roundingDivideByPOT(i32.MAX_VALUE, 31)).toBe(1);
    expect(roundingDivideByPOT(i32.MIN_VALUE, 31)).toBe(-1);
  });
});

describe("multiplyByQuantizedMultiplier", () => {
  it("rounds twice like TFLM, not once", () => {
    // x = 5, multiplier 0.5, shift -1 is exactly 1.25. One rounding gives 1;
    // TFLM rounds 2.5 -> 3 in the high multiply, then 1.5 -> 2 in the shift.
    expect(multiplyByQuantizedMultiplier(5, 1 << 30, -1)).toBe(2);
    // -2.5 -> -2 (ties toward +infinity), then -1.0 -> -1.
    expect(multiplyByQuantizedMultiplier(-5, 1 << 30, -1)).toBe(-1);
    // x = 3, multiplier 0.75, shift -1: 2.25 -> 2, then 1.0 -> 1.
    expect(multiplyByQuantizedMultiplier(3, 1610612736, -1)).toBe(1);
  });
  it("scales up for a positive shift", () => {
    expect(multiplyByQuantizedMultiplier(100, 1 << 30, 2)).toBe(200);
  });
});

describe("requantize", () => {
  it("saturates at -128 and 127 from int32 accumulator extremes", () => {
    expect(requantize(i32.MAX_VALUE, i32.MAX_VALUE, 0, 0, -128, 127)).toBe(127);
    expect(requantize(i32.MIN_VALUE, i32.MAX_VALUE, 0, 0, -128, 127)).toBe(-128);
    expect(requantize(i32.MIN_VALUE, 1 << 30, -31, -128, -128, 127)).toBe(-129 + 1);
  });
  it("applies the zero point and the fused activation range", () => {
    expect(requantize(1000, 1 << 30, -3, 10, -128, 127)).toBe(73);
    expect(requantize(-1000, 1 << 30, -3, 10, -5, 127)).toBe(-5);
    expect(requantize(1000, 1 << 30, -3, 10, -128, 40)).toBe(40);
  });
});

describe("saturatingShiftLeft", () => {
  it("saturates instead of wrapping", () => {
    expect(saturatingShiftLeft(1 << 28, 2)).toBe(1 << 30);
    expect(saturatingShiftLeft(1 << 29, 2)).toBe(i32.MAX_VALUE);
    expect(saturatingShiftLeft(-(1 << 29), 2)).toBe(i32.MIN_VALUE);
  });
});
