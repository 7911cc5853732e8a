// The streaming-wakeword front end: log Mel filterbank energies exactly as
// the MLPerf Tiny v1.3 training code computes them (get_dataset.py,
// get_lfbe_func), in float32 like TensorFlow: pre-emphasis 1 - 2^-5, a
// 1024-sample non-periodic Hamming window, hop 512, power spectrum / 1024,
// Mel bins (sww: 40) over 0-8000 Hz, (10 log10(x) + 52) / 64 clipped to [0, 1], then
// int8 with the model's input scale and zero point, truncating as
// evaluate.py's numpy cast does.
import * as A from "../frontend";
import { fillTwiddles } from "./fft";
import { melBankApply, melBankBytes, melBankInit } from "./mel";
import { magnitudeSpectrum, raisedCosineWindow } from "./spectrum";
import { quantizeTruncating } from "./quantize";

const FRAME = A.FRAME_SAMPLES;
const SPECTRUM = FRAME / 2 + 1; // 513 bins
const PREEMPHASIS: f32 = 1 - 1.0 / 32;

// Region layout, in bytes from its base; the Mel bank, the samples and the
// features follow the bins' energies, so their places depend on the bins.
const WINDOW = 0; // f32[1024]
const TWIDDLES = WINDOW + FRAME * 4; // f32[1024]
const RE = TWIDDLES + FRAME * 4; // f32[1024]
const IM = RE + FRAME * 4; // f32[1024]
const SPECTRUM_AT = IM + FRAME * 4; // f32[513]
const ENERGIES = SPECTRUM_AT + SPECTRUM * 4 + 4; // f32[bins]

function melAt(bins: i32): usize {
  return <usize>ENERGIES + <usize>bins * 4;
}

function samplesAt(bins: i32): usize {
  return melAt(bins) + <usize>melBankBytes(bins, SPECTRUM); // i16[1025]: the host writes a frame here
}

function featuresAt(bins: i32): usize {
  return samplesAt(bins) + (FRAME + 1) * 2 + 2; // i8[bins]: the frame's features
}

export function lfbeRegionBytes(bins: i32): usize {
  return featuresAt(bins) + <usize>bins;
}

// The region's places, set once at init.
let region: usize = 0;
let bins = A.SWW_BINS;
let mel: usize = 0;
let samplesAddress: usize = 0;
let featuresAddress: usize = 0;
let inputScale: f32 = 1;
let inputZeroPoint: i32 = 0;

export function lfbeInit(base: usize, scale: f32, zeroPoint: i32, melBins: i32): void {
  region = base;
  bins = melBins;
  mel = base + melAt(melBins);
  samplesAddress = base + samplesAt(melBins);
  featuresAddress = base + featuresAt(melBins);
  inputScale = scale;
  inputZeroPoint = zeroPoint;
  raisedCosineWindow(base + WINDOW, FRAME, 0.54, 0.46, FRAME - 1);
  fillTwiddles(base + TWIDDLES, FRAME);
  melBankInit(mel, melBins, SPECTRUM, <f32>A.SAMPLE_RATE, <f32>A.LFBE_LOW_HZ, <f32>A.LFBE_HIGH_HZ);
}

// Where the host writes a frame's 1025 samples, and where its features appear.
export function lfbeSamples(): usize {
  return samplesAddress;
}

export function lfbeFeatures(): usize {
  return featuresAddress;
}

// One frame: `samples` holds 1025 int16 values, the sample before the frame
// (for pre-emphasis) and the frame's 1024. Writes `bins` int8 features to `out`.
export function lfbeFrame(samples: usize, out: usize): void {
  const base = region;
  let previous = <f32>load<i16>(samples) / <f32>32768;
  for (let n = 0; n < FRAME; n++) {
    const x = <f32>load<i16>(samples + <usize>((n + 1) << 1)) / <f32>32768;
    store<f32>(base + RE + <usize>(n << 2), x - PREEMPHASIS * previous);
    previous = x;
  }
  magnitudeSpectrum(base + RE, base + IM, FRAME, FRAME, base + WINDOW, base + TWIDDLES, base + SPECTRUM_AT);
  // Power spectrum / 1024, floored at 1e-30 as the reference clips it.
  for (let k = 0; k < SPECTRUM; k++) {
    const p = base + SPECTRUM_AT + <usize>(k << 2);
    const magnitude = load<f32>(p);
    store<f32>(p, max(<f32>(1.0 / <f64>FRAME) * (magnitude * magnitude), <f32>1e-30));
  }
  const n = bins;
  melBankApply(mel, n, base + SPECTRUM_AT, base + ENERGIES);
  const log10 = Mathf.log(<f32>10);
  for (let m = 0; m < n; m++) {
    const logMel = <f32>10 * (Mathf.log(load<f32>(base + ENERGIES + <usize>(m << 2))) / log10);
    const value = min(max((((logMel + <f32>52) - <f32>32) + <f32>32) / <f32>64, <f32>0), <f32>1);
    store<i8>(out + <usize>m, quantizeTruncating(value, inputScale, inputZeroPoint));
  }
}
