// Host access to the module's audio front ends, for whole recordings: the
// streaming-wakeword log-Mel frames and the keyword-spotting MFCC of a clip.
import * as A from "../../assembly/frontend";
import * as F from "../../assembly/format";
import { fail, WispError } from "../errors";
import { instantiate, lastError, WispExports } from "../node/runtime";

const MFCC_VALUES = A.MFCC_FRAMES * A.MFCC_COEFFICIENTS;

function ready(status: number, w: WispExports): WispExports {
  if (status !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(w));
  return w;
}

// Log-Mel features of every full frame of `samples`, `bins` int8 per frame,
// quantized with the model input's scale and zero point.
export function logMelFrames(samples: Int16Array, scale: number, zeroPoint: number, bins: number = A.SWW_BINS): Int8Array {
  const w = instantiate();
  ready(w.wisp_lfbe_init(scale, zeroPoint, 1, bins), w);
  const { FRAME_SAMPLES: FRAME, HOP_SAMPLES: HOP } = A;
  const frames = samples.length < FRAME ? 0 : Math.floor((samples.length - FRAME) / HOP) + 1;
  const out = new Int8Array(frames * bins);
  for (let f = 0; f < frames; f++) {
    const input = new Int16Array(w.memory.buffer, w.wisp_lfbe_samples_ptr(), FRAME + 1);
    input[0] = f === 0 ? 0 : samples[f * HOP - 1]; // pre-emphasis starts from silence
    input.set(samples.subarray(f * HOP, f * HOP + FRAME), 1);
    ready(w.wisp_lfbe_frame(), w);
    out.set(new Int8Array(w.memory.buffer, w.wisp_lfbe_features_ptr(), bins), f * bins);
  }
  return out;
}

// The 49 x 10 MFCC of each 1-s clip starting at the given sample offsets.
export function mfccClips(samples: Int16Array, starts: number[], scale: number, zeroPoint: number): Int8Array {
  const w = instantiate();
  ready(w.wisp_mfcc_init(scale, zeroPoint), w);
  const CLIP = A.MFCC_CLIP_SAMPLES;
  const out = new Int8Array(starts.length * MFCC_VALUES);
  starts.forEach((start, i) => {
    if (start < 0 || start + CLIP > samples.length) fail("BAD_INPUT", `clip at sample ${start} runs past the audio`);
    new Int16Array(w.memory.buffer, w.wisp_mfcc_samples_ptr(), CLIP).set(samples.subarray(start, start + CLIP));
    ready(w.wisp_mfcc_clip(), w);
    out.set(new Int8Array(w.memory.buffer, w.wisp_mfcc_features_ptr(), MFCC_VALUES), i * MFCC_VALUES);
  });
  return out;
}
