// Clamping a sliding window to the input, as TFLM's kernels do: the taps
// k in [first, end) are the ones whose position origin + k * dilation lies in
// [0, size). Shared by conv, depthwise and pooling.

@inline
export function firstInside(origin: i32, dilation: i32): i32 {
  return origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
}

@inline
export function endInside(origin: i32, dilation: i32, size: i32, taps: i32): i32 {
  return min(taps, origin >= size ? 0 : (size - origin + dilation - 1) / dilation);
}
