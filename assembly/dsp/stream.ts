// Streaming wakeword detection on the device: 512 new samples per 32 ms hop
// become one log-Mel frame in a ring of 30; each full window is copied, oldest
// frame first, into the model's input and the model runs. The detector fires
// when the wakeword probability (output 0, dequantized) exceeds 0.95, then
// stays quiet for 1 s, as the MLPerf Tiny runner debounces.
import { LFBE_BINS, LFBE_FRAME, LFBE_HOP, lfbeFrame } from "./lfbe";

export const STREAM_WINDOW_FRAMES = 30;
const HISTORY = LFBE_FRAME + 1; // samples: the one before the frame, then the frame
const DEBOUNCE_WINDOWS = 32; // the first window at least 1 s (16000 samples) after a detection
const THRESHOLD: f32 = 0.95;

// Region layout (bytes), after the log-Mel front end's own region.
const HOP_AT = 0; // i16[512]: the host writes each hop here
const HISTORY_AT = HOP_AT + LFBE_HOP * 2; // i16[1025]
const RING_AT = HISTORY_AT + HISTORY * 2 + 2; // i8[30][40]
export const STREAM_REGION_BYTES = RING_AT + STREAM_WINDOW_FRAMES * LFBE_BINS;

let region: usize = 0;
let hops = 0;
let frames = 0;
let windows = 0;
let lastDetection = -1_000_000;
let detections = 0;
let outputScale: f32 = 1;
let outputZeroPoint: i32 = 0;

export function streamInit(base: usize): void {
  region = base;
  memory.fill(base, 0, STREAM_REGION_BYTES);
  hops = frames = windows = detections = 0;
  lastDetection = -1_000_000;
}

export function streamHopPtr(): usize {
  return region + HOP_AT;
}

// Takes the hop the host wrote; true when a new frame entered the ring.
export function streamPushHop(features: usize): bool {
  const history = region + HISTORY_AT;
  memory.copy(history, history + <usize>(LFBE_HOP * 2), <usize>((HISTORY - LFBE_HOP) * 2));
  memory.copy(history + <usize>((HISTORY - LFBE_HOP) * 2), region + HOP_AT, <usize>(LFBE_HOP * 2));
  hops++;
  // Frame f covers samples [512 f, 512 f + 1024): it is whole after hop f + 2.
  if (hops < 2) return false;
  lfbeFrame(history, features);
  memory.copy(region + RING_AT + <usize>((frames % STREAM_WINDOW_FRAMES) * LFBE_BINS), features, LFBE_BINS);
  frames++;
  return true;
}

export function streamWindowReady(): bool {
  return frames >= STREAM_WINDOW_FRAMES;
}

// Copies the last 30 frames, oldest first, to `dst` (the model input); from
// frame `first` of the window on (an incremental hop reads only the newest).
export function streamCopyWindow(dst: usize, first: i32 = 0): void {
  for (let j = first; j < STREAM_WINDOW_FRAMES; j++) {
    const frame = (frames - STREAM_WINDOW_FRAMES + j) % STREAM_WINDOW_FRAMES;
    memory.copy(dst + <usize>(j * LFBE_BINS), region + RING_AT + <usize>(frame * LFBE_BINS), LFBE_BINS);
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
  if (probability > THRESHOLD && window - lastDetection >= DEBOUNCE_WINDOWS) {
    lastDetection = window;
    detections++;
    return true;
  }
  return false;
}

export function streamWindows(): i32 {
  return windows;
}
