// Framing shared by the front ends: raised-cosine windows as TensorFlow
// builds them, and the magnitude spectrum of one windowed frame.
import { fft } from "./fft";

// tf.signal's raised cosine window in float32: a - b cos(2 pi n / denominator).
// Hamming non-periodic: (0.54, 0.46, N - 1); Hann periodic: (0.5, 0.5, N).
export function raisedCosineWindow(window: usize, length: i32, a: f32, b: f32, denominator: i32): void {
  const twoPi = <f32>(2 * Math.PI);
  for (let n = 0; n < length; n++) {
    const angle = twoPi * <f32>n / <f32>denominator;
    store<f32>(window + <usize>(n << 2), a - b * <f32>Math.cos(<f64>angle));
  }
}

// |FFT| of frame * window, zero-padded to fftLength; writes fftLength / 2 + 1
// magnitudes. `re` and `im` are fftLength-long work buffers.
export function magnitudeSpectrum(re: usize, im: usize, frameLength: i32, fftLength: i32, window: usize, twiddles: usize, magnitudes: usize): void {
  for (let n = 0; n < fftLength; n++) {
    const p = <usize>(n << 2);
    if (n < frameLength) store<f32>(re + p, load<f32>(re + p) * load<f32>(window + p));
    else store<f32>(re + p, 0);
    store<f32>(im + p, 0);
  }
  fft(re, im, fftLength, twiddles);
  for (let k = 0; k <= fftLength / 2; k++) {
    const r = load<f32>(re + <usize>(k << 2)), i = load<f32>(im + <usize>(k << 2));
    store<f32>(magnitudes + <usize>(k << 2), Mathf.sqrt(r * r + i * i));
  }
}
