// Feature quantization as the MLPerf Tiny reference scripts do it:
// np.array(x / scale + zero_point, dtype=np.int8) on float32 data, i.e.
// float32 arithmetic truncated toward zero. Values outside int8 saturate
// (numpy's cast of an out-of-range float is undefined).
@inline
export function quantizeTruncating(value: f32, scale: f32, zeroPoint: i32): i8 {
  const scaled = Mathf.trunc(value / scale + <f32>zeroPoint);
  return <i8>min(max(<i32>scaled, -128), 127);
}
