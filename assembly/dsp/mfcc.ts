// The keyword-spotting front end: the 49 x 10 MFCC the MLPerf Tiny DS-CNN was
// trained on (keyword_spotting/get_dataset.py, get_preprocess_audio_func), in
// float32 like TensorFlow: the 1-s clip divided by its maximum sample, 480-
// sample periodic Hann frames with hop 320, |FFT-512|, 40 Mel bins over
// 20-4000 Hz, log(x + 1e-6), an orthonormal-scaled DCT-II, the first 10
// coefficients, then int8 by truncation like the reference scripts.
import * as A from "../frontend";
import { fillTwiddles } from "./fft";
import { melBankApply, melBankBytes, melBankInit } from "./mel";
import { quantizeTruncating } from "./quantize";
import { magnitudeSpectrum, raisedCosineWindow } from "./spectrum";

const MFCC_CLIP = A.MFCC_CLIP_SAMPLES;
const MFCC_FRAMES = A.MFCC_FRAMES;
const MFCC_COEFFICIENTS = A.MFCC_COEFFICIENTS;
const FRAME = A.MFCC_FRAME_SAMPLES;
const HOP = A.MFCC_HOP_SAMPLES;
const FFT_LENGTH = A.MFCC_FFT;
const SPECTRUM = FFT_LENGTH / 2 + 1; // 257
const BANDS = A.MFCC_BANDS;

const WINDOW = 0; // f32[480]
const TWIDDLES = WINDOW + FRAME * 4; // f32[512]
const RE = TWIDDLES + FFT_LENGTH * 4; // f32[512]
const IM = RE + FFT_LENGTH * 4; // f32[512]
const SPECTRUM_AT = IM + FFT_LENGTH * 4; // f32[257]
const ENERGIES = SPECTRUM_AT + SPECTRUM * 4 + 4; // f32[40]
const DCT = ENERGIES + BANDS * 4; // f64[10][40]: 2 cos(pi k (2n + 1) / 80)
const MEL = DCT + MFCC_COEFFICIENTS * BANDS * 8;
export const MFCC_SAMPLES = MEL + melBankBytes(BANDS, SPECTRUM); // i16[16000]: the host writes a clip here
export const MFCC_FEATURES = MFCC_SAMPLES + MFCC_CLIP * 2; // i8[490]
export const MFCC_REGION_BYTES = MFCC_FEATURES + MFCC_FRAMES * MFCC_COEFFICIENTS;

let region: usize = 0;
let inputScale: f32 = 1;
let inputZeroPoint: i32 = 0;

export function mfccInit(base: usize, scale: f32, zeroPoint: i32): void {
  region = base;
  inputScale = scale;
  inputZeroPoint = zeroPoint;
  raisedCosineWindow(base + WINDOW, FRAME, 0.5, 0.5, FRAME);
  fillTwiddles(base + TWIDDLES, FFT_LENGTH);
  melBankInit(base + MEL, BANDS, SPECTRUM, <f32>A.SAMPLE_RATE, <f32>A.MFCC_LOW_HZ, <f32>A.MFCC_HIGH_HZ);
  for (let k = 0; k < MFCC_COEFFICIENTS; k++) {
    for (let n = 0; n < BANDS; n++) {
      store<f64>(base + DCT + <usize>((k * BANDS + n) << 3), 2 * Math.cos(Math.PI * <f64>(k * (2 * n + 1)) / <f64>(2 * BANDS)));
    }
  }
}

// Features of the 1-s clip at `samples` (16000 int16) into `out` (490 int8).
export function mfccClip(samples: usize, out: usize): void {
  const base = region;
  // The reference divides by the clip's maximum (not its maximum magnitude).
  let peak = <f32>load<i16>(samples);
  for (let i = 1; i < MFCC_CLIP; i++) peak = max(peak, <f32>load<i16>(samples + <usize>(i << 1)));
  const orthonormal = <f32>1 / Mathf.sqrt(<f32>BANDS * <f32>2);
  for (let f = 0; f < MFCC_FRAMES; f++) {
    const frame = samples + <usize>((f * HOP) << 1);
    for (let n = 0; n < FRAME; n++) store<f32>(base + RE + <usize>(n << 2), <f32>load<i16>(frame + <usize>(n << 1)) / peak);
    magnitudeSpectrum(base + RE, base + IM, FRAME, FFT_LENGTH, base + WINDOW, base + TWIDDLES, base + SPECTRUM_AT);
    melBankApply(base + MEL, BANDS, base + SPECTRUM_AT, base + ENERGIES);
    for (let m = 0; m < BANDS; m++) {
      const p = base + ENERGIES + <usize>(m << 2);
      store<f32>(p, Mathf.log(load<f32>(p) + <f32>1e-6));
    }
    for (let k = 0; k < MFCC_COEFFICIENTS; k++) {
      let sum: f64 = 0;
      for (let n = 0; n < BANDS; n++) sum += <f64>load<f32>(base + ENERGIES + <usize>(n << 2)) * load<f64>(base + DCT + <usize>((k * BANDS + n) << 3));
      store<i8>(out + <usize>(f * MFCC_COEFFICIENTS + k), quantizeTruncating(<f32>sum * orthonormal, inputScale, inputZeroPoint));
    }
  }
}
