// The audio front ends' parameters, shared by the module (assembly/dsp/) and
// the hosts (host/audio/, host/boards/, and the C API through the generated
// wisp_codes.h, as WISP_<NAME>), as format.ts is for the .wisp layout. Only
// `export const NAME = <number>;` lines, so that AssemblyScript, TypeScript
// and host/gen-abi.mjs all read the file.

export const SAMPLE_RATE = 16000;

// Streaming wakeword (sww): log-Mel frames of FRAME_SAMPLES every
// HOP_SAMPLES (32 ms), Mel bins over LFBE_LOW_HZ..LFBE_HIGH_HZ. A window of
// frames x bins is the model's input; both are passed at wisp_lfbe_init (sww:
// SWW_FRAMES x SWW_BINS), up to MAX_STREAM_FRAMES and MAX_LFBE_BINS.
export const FRAME_SAMPLES = 1024;
export const HOP_SAMPLES = 512;
export const LFBE_LOW_HZ = 0;
export const LFBE_HIGH_HZ = 8000;
export const SWW_FRAMES = 30;
export const SWW_BINS = 40;
export const MAX_STREAM_FRAMES = 1024;
export const MAX_LFBE_BINS = 256;

// The detector: a window fires when the wakeword probability (output 0)
// exceeds the threshold, then stays quiet for DEBOUNCE_WINDOWS (1 s).
export const DETECTION_THRESHOLD = 0.95;
export const DEBOUNCE_WINDOWS = 32;

// Keyword spotting (kws): the MFCC of a 1-s clip, MFCC_FRAMES frames of
// MFCC_FRAME_SAMPLES every MFCC_HOP_SAMPLES, an MFCC_FFT-point FFT,
// MFCC_BANDS Mel bands over MFCC_LOW_HZ..MFCC_HIGH_HZ, MFCC_COEFFICIENTS kept.
export const MFCC_CLIP_SAMPLES = 16000;
export const MFCC_FRAME_SAMPLES = 480;
export const MFCC_HOP_SAMPLES = 320;
export const MFCC_FFT = 512;
export const MFCC_BANDS = 40;
export const MFCC_LOW_HZ = 20;
export const MFCC_HIGH_HZ = 4000;
export const MFCC_FRAMES = 49;
export const MFCC_COEFFICIENTS = 10;
