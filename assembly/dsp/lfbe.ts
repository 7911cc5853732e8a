// The streaming-wakeword front end: log Mel filterbank energies exactly as
// the MLPerf Tiny v1.3 training code computes them (get_dataset.py,
// get_lfbe_func), in float32 like TensorFlow: pre-emphasis 1 - 2^-5, a
// 1024-sample non-periodic Hamming window, hop 512, power spectrum / 1024,
// 40 Mel bins over 0-8000 Hz, (10 log10(x) + 52) / 64 clipped to [0, 1], then
// int8 with the model's input scale and zero point, truncating as
// evaluate.py's numpy cast does.
import { fft, fillTwiddles } from "./fft";

export const LFBE_FRAME = 1024;
export const LFBE_HOP = 512;
export const LFBE_BINS = 40;
const SPECTRUM = LFBE_FRAME / 2 + 1; // 513 bins
const SAMPLE_RATE: f32 = 16000;
const PREEMPHASIS: f32 = 1 - 1.0 / 32;

// Region layout, in bytes from its base.
const WINDOW = 0; // f32[1024]
const TWIDDLES = WINDOW + LFBE_FRAME * 4; // f32[1024]
const RE = TWIDDLES + LFBE_FRAME * 4; // f32[1024]
const IM = RE + LFBE_FRAME * 4; // f32[1024]
const POWER = IM + LFBE_FRAME * 4; // f32[513]
const BAND_FIRST = POWER + SPECTRUM * 4 + 4; // i32[40] first spectrum bin of each band
const BAND_COUNT = BAND_FIRST + LFBE_BINS * 4; // i32[40]
const BAND_WEIGHTS = BAND_COUNT + LFBE_BINS * 4; // i32[40] index of its first weight
const WEIGHTS = BAND_WEIGHTS + LFBE_BINS * 4; // f32[2 * 513]: a bin feeds at most two bands
export const LFBE_SAMPLES = WEIGHTS + 2 * SPECTRUM * 4; // i16[1025]: the host writes a frame here
export const LFBE_FEATURES = LFBE_SAMPLES + (LFBE_FRAME + 1) * 2 + 2; // i8[40]: the frame's features
export const LFBE_REGION_BYTES = LFBE_FEATURES + LFBE_BINS;

let region: usize = 0;
let inputScale: f32 = 1;
let inputZeroPoint: i32 = 0;

// TensorFlow's _hertz_to_mel in float32.
@inline
function hertzToMel(hz: f32): f32 {
  return <f32>1127.0 * Mathf.log(<f32>1.0 + hz / <f32>700.0);
}

export function lfbeInit(base: usize, scale: f32, zeroPoint: i32): void {
  region = base;
  inputScale = scale;
  inputZeroPoint = zeroPoint;
  // tf.signal.hamming_window(periodic=False): 0.54 - 0.46 cos(2 pi n / (N - 1)).
  const twoPi = <f32>(2 * Math.PI);
  for (let n = 0; n < LFBE_FRAME; n++) {
    const angle = twoPi * <f32>n / <f32>(LFBE_FRAME - 1);
    store<f32>(base + WINDOW + <usize>(n << 2), <f32>0.54 - <f32>0.46 * <f32>Math.cos(<f64>angle));
  }
  fillTwiddles(base + TWIDDLES, LFBE_FRAME);
  // tf.signal.linear_to_mel_weight_matrix(40, 513, 16000, 0, 8000), float32.
  const edgeStep = (hertzToMel(SAMPLE_RATE / 2) - hertzToMel(0)) / <f32>(LFBE_BINS + 1);
  const binStep = (SAMPLE_RATE / 2) / <f32>(SPECTRUM - 1);
  let w = 0;
  for (let m = 0; m < LFBE_BINS; m++) {
    const lower = edgeStep * <f32>m;
    const center = edgeStep * <f32>(m + 1);
    const upper = m + 2 == LFBE_BINS + 1 ? hertzToMel(SAMPLE_RATE / 2) : edgeStep * <f32>(m + 2);
    let first = -1, count = 0;
    store<i32>(base + BAND_WEIGHTS + <usize>(m << 2), w);
    // The DC bin is excluded, as in HTK and TensorFlow.
    for (let k = 1; k < SPECTRUM; k++) {
      const mel = hertzToMel(binStep * <f32>k);
      const rising = (mel - lower) / (center - lower);
      const falling = (upper - mel) / (upper - center);
      const weight = max(<f32>0, min(rising, falling));
      if (weight > 0) {
        if (first < 0) first = k;
        store<f32>(base + WEIGHTS + <usize>(w << 2), weight);
        w++;
        count++;
      }
    }
    store<i32>(base + BAND_FIRST + <usize>(m << 2), first < 0 ? 0 : first);
    store<i32>(base + BAND_COUNT + <usize>(m << 2), count);
  }
}

// One frame: `samples` holds 1025 int16 values, the sample before the frame
// (for pre-emphasis) and the frame's 1024. Writes 40 int8 features to `out`.
export function lfbeFrame(samples: usize, out: usize): void {
  const base = region;
  const re = base + RE, im = base + IM;
  let previous = <f32>load<i16>(samples) / <f32>32768;
  for (let n = 0; n < LFBE_FRAME; n++) {
    const x = <f32>load<i16>(samples + <usize>((n + 1) << 1)) / <f32>32768;
    const emphasized = x - PREEMPHASIS * previous;
    previous = x;
    store<f32>(re + <usize>(n << 2), emphasized * load<f32>(base + WINDOW + <usize>(n << 2)));
    store<f32>(im + <usize>(n << 2), 0);
  }
  fft(re, im, LFBE_FRAME, base + TWIDDLES);
  const power = base + POWER;
  for (let k = 0; k < SPECTRUM; k++) {
    const r = load<f32>(re + <usize>(k << 2)), i = load<f32>(im + <usize>(k << 2));
    const magnitude = Mathf.sqrt(r * r + i * i);
    store<f32>(power + <usize>(k << 2), max(<f32>(1.0 / <f64>LFBE_FRAME) * (magnitude * magnitude), <f32>1e-30));
  }
  const log10 = Mathf.log(<f32>10);
  for (let m = 0; m < LFBE_BINS; m++) {
    const first = load<i32>(base + BAND_FIRST + <usize>(m << 2));
    const count = load<i32>(base + BAND_COUNT + <usize>(m << 2));
    const weights = base + WEIGHTS + <usize>(load<i32>(base + BAND_WEIGHTS + <usize>(m << 2)) << 2);
    let energy: f32 = 0;
    for (let j = 0; j < count; j++) energy += load<f32>(power + <usize>((first + j) << 2)) * load<f32>(weights + <usize>(j << 2));
    const logMel = <f32>10 * (Mathf.log(energy) / log10);
    let value = (((logMel + <f32>52) - <f32>32) + <f32>32) / <f32>64;
    value = min(max(value, <f32>0), <f32>1);
    // numpy: float32 value / scale + zero point, cast to int8 by truncation.
    const scaled = Mathf.trunc(value / inputScale + <f32>inputZeroPoint);
    store<i8>(out + <usize>m, <i8>min(max(<i32>scaled, -128), 127));
  }
}
