// Package entry: the Node API.
export { load, loadSync, Model, detectFormat } from "./node/api";
export { convertTflite } from "./convert";
export type { ModelInfo, OpInfo, TensorInfo } from "./convert";
export { WispError } from "./errors";
export type { WispErrorCode } from "./errors";
export { listen } from "./audio/listen";
export type { Detection, ListenOptions, ListenResult } from "./audio/listen";
export { readWav } from "./audio/wav";
