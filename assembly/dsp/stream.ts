// Streaming wakeword detection on the device: 512 new samples per 32 ms hop
// become one log-Mel frame of `bins` features in a ring of `frames` (sww: 30
// of 40); each full window is copied, oldest frame first, into the model's
// input and the model runs. The detector fires when the wakeword probability
// (output 0, dequantized) exceeds 0.95, then stays quiet for 1 s, as the
// MLPerf Tiny runner debounces.
import * as A from "../frontend";
import { lfbeFrame } from "./lfbe";

const HOP = A.HOP_SAMPLES;
const HISTORY = A.FRAME_SAMPLES + 1; // samples: the one before the frame, then the frame
const THRESHOLD: f32 = <f32>A.DETECTION_THRESHOLD;

// Region layout (bytes), after the log-Mel front end's own region.
const HOP_AT = 0; // i16[512]: the host writes each hop here
const HISTORY_AT = HOP_AT + HOP * 2; // i16[1025]
const RING_AT = HISTORY_AT + HISTORY * 2 + 2; // i8[frames][bins]

export function streamRegionBytes(frames: i32, bins: i32): usize {
  return <usize>RING_AT + <usize>frames * <usize>bins;
}

// The window: `windowFrames` frames of `frameBytes`; the ring's next write
// (its oldest frame once full) is at byte `ringAt`.
let region: usize = 0;
let windowFrames = A.SWW_FRAMES;
let frameBytes = A.SWW_BINS;
let windowBytes = A.SWW_FRAMES * A.SWW_BINS;
let ringAt = 0;
let hops = 0;
let frames = 0;
let windows = 0;
let lastDetection = -1_000_000;
let detections = 0;
let outputScale: f32 = 1;
let outputZeroPoint: i32 = 0;

export function streamInit(base: usize, windowLength: i32, bins: i32): void {
  region = base;
  windowFrames = windowLength;
  frameBytes = bins;
  windowBytes = windowLength * bins;
  memory.fill(base, 0, streamRegionBytes(windowLength, bins));
  ringAt = hops = frames = windows = detections = 0;
  lastDetection = -1_000_000;
}

// The window's frames, bins and size in bytes (the model input's).
export function streamFrames(): i32 {
  return windowFrames;
}

export function streamBins(): i32 {
  return frameBytes;
}

export function streamWindowBytes(): i32 {
  return windowBytes;
}

export function streamHopPtr(): usize {
  return region + HOP_AT;
}

// Takes the hop the host wrote; true when a new frame entered the ring and
// the ring holds a whole window.
export function streamPushHop(features: usize): bool {
  const history = region + HISTORY_AT;
  memory.copy(history, history + <usize>(HOP * 2), <usize>((HISTORY - HOP) * 2));
  memory.copy(history + <usize>((HISTORY - HOP) * 2), region + HOP_AT, <usize>(HOP * 2));
  hops++;
  // Frame f covers samples [512 f, 512 f + 1024): it is whole after hop f + 2.
  if (hops < 2) return false;
  lfbeFrame(history, features);
  const n = frameBytes, at = ringAt;
  memory.copy(region + RING_AT + <usize>at, features, <usize>n);
  ringAt = at + n == windowBytes ? 0 : at + n;
  frames++;
  return frames >= windowFrames;
}

// Copies the window's frames, oldest first, to `dst` (the model input); from
// frame `first` of the window on (an incremental hop reads only the newest).
export function streamCopyWindow(dst: usize, first: i32): void {
  const n = frameBytes, total = windowBytes, ring = region + RING_AT;
  let at = ringAt + first * n;
  if (at >= total) at -= total;
  for (let j = first * n; j < total; j += n) {
    memory.copy(dst + <usize>j, ring + <usize>at, <usize>n);
    at = at + n == total ? 0 : at + n;
  }
}

export function streamSetOutputQuantization(scale: f32, zeroPoint: i32): void {
  outputScale = scale;
  outputZeroPoint = zeroPoint;
}

// Applies the detector to the model's int8 wakeword score for the window
// that just ran; true when a (debounced) detection fires.
export function streamDetect(score: i32): bool {
  const window = windows++;
  const probability = <f32>(score - outputZeroPoint) * outputScale;
  if (probability > THRESHOLD && window - lastDetection >= A.DEBOUNCE_WINDOWS) {
    lastDetection = window;
    detections++;
    return true;
  }
  return false;
}

export function streamWindows(): i32 {
  return windows;
}
