// MLPerf Tiny streaming-wakeword scoring, as str_ww_util.get_true_and_false_
// detections does it at the audio sample rate: each window's raw detection
// (probability > 0.95) is held for one hop, aligned to the end of the audio;
// a wakeword counts as found if a detection falls between its start and
// `hitToleranceSec` after its end; detections within `maskSec` after a
// wakeword are ignored, and the remaining false positives are debounced over
// `debounceSec`.
import * as A from "../../assembly/frontend";

export interface Score {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  falsePositiveStartsSec: number[];
  missedStartsSec: number[];
}

export interface ScoreOptions {
  sampleRate?: number;
  hopSamples?: number;
  hitToleranceSec?: number; // reference default 0.5
  maskSec?: number; // reference default 1.0
  debounceSec?: number; // reference default 1.0
}

export function scoreDetections(windowDetected: boolean[], audioSamples: number, wakewords: [number, number][], options: ScoreOptions = {}): Score {
  const { sampleRate = A.SAMPLE_RATE, hopSamples = A.HOP_SAMPLES, hitToleranceSec = 0.5, maskSec = 1.0, debounceSec = 1.0 } = options;
  const detected = new Uint8Array(audioSamples);
  const lead = audioSamples - windowDetected.length * hopSamples;
  windowDetected.forEach((d, i) => {
    if (d) detected.fill(1, Math.max(0, lead + i * hopSamples), Math.max(0, lead + (i + 1) * hopSamples));
  });
  const falseDetected = detected.slice();
  const score: Score = { truePositives: 0, falsePositives: 0, falseNegatives: 0, falsePositiveStartsSec: [], missedStartsSec: [] };
  for (const [startSec, stopSec] of wakewords) {
    // The reference marks the sample before each edge of the 0/1 presence signal.
    const start = Math.floor(startSec * sampleRate) - 1;
    const stop = Math.floor(stopSec * sampleRate) - 1;
    if (detected.subarray(start, stop + Math.floor(hitToleranceSec * sampleRate)).includes(1)) score.truePositives++;
    else {
      score.falseNegatives++;
      score.missedStartsSec.push(startSec);
    }
    falseDetected.fill(0, start, Math.min(audioSamples, stop + Math.floor(maskSec * sampleRate)));
  }
  const debounce = Math.floor(debounceSec * sampleRate);
  for (let i = falseDetected.indexOf(1); i >= 0; i = falseDetected.indexOf(1, i + debounce)) {
    score.falsePositives++;
    score.falsePositiveStartsSec.push(i / sampleRate);
  }
  return score;
}
