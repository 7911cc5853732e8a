// The Node API: load a .tflite or .wisp model and run it in its own
// WebAssembly instance.
import * as F from "../../assembly/format";
import { convertTflite, ModelInfo } from "../convert";
import { fail, WispError } from "../errors";
import { RUNTIME_CODES } from "./abi";
import { graphFacts, readDescription } from "./description";
import { EngineName, instantiateOn } from "./engine";
import { chooseModule, lastError, ModuleKind, WispExports } from "./runtime";

export type ModelFormat = "tflite" | "wisp";

export function detectFormat(bytes: Uint8Array): ModelFormat {
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === "TFL3") return "tflite";
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === F.WISP_MAGIC) return "wisp";
  return fail("BAD_INPUT", "not a model: expected a .tflite (TFL3) or .wisp (WISP) file");
}

// Which module runs the model: a built one, or the bytes given as `module`.
export type RunningModule = ModuleKind | "given";

export class Model {
  readonly info: ModelInfo & { module: RunningModule };
  // The instance's exports, for host modules that drive more of the ABI
  // (host/audio runs the streaming front end on a loaded model).
  readonly wasm: WispExports;

  constructor(info: ModelInfo & { module: RunningModule }, wasm: WispExports) {
    this.info = info;
    this.wasm = wasm;
  }

  get inputBytes(): number {
    return this.info.input.bytes;
  }

  get outputBytes(): number {
    return this.info.output.bytes;
  }

  // The linear memory the model uses (static data, front ends, the model or
  // its graph, arena, weights window): what a device must provide.
  get memoryBytes(): number {
    return this.wasm.wisp_memory_used();
  }

  // Runs one inference on a raw input tensor: an Int8Array of the raw bytes
  // (inputBytes long), a Uint8Array for a uint8 input, or an Int16Array for
  // an int16 input. Returns a copy of the output, raw bytes as Int8Array (a
  // Uint8Array when the output is uint8; an Int16Array for an Int16Array
  // input when the output is int16).
  invoke(input: Int8Array): Int8Array;
  invoke(input: Uint8Array): Uint8Array | Int8Array;
  invoke(input: Int16Array): Int16Array | Int8Array;
  invoke(input: Int8Array | Uint8Array | Int16Array): Int8Array | Uint8Array | Int16Array {
    const wide = input instanceof Int16Array && this.info.input.type === "int16";
    const unsigned = input instanceof Uint8Array && this.info.input.type === "uint8";
    if (!(input instanceof Int8Array) && !wide && !unsigned) fail("BAD_INPUT", "invoke() takes an Int8Array (a Uint8Array for a uint8 input, an Int16Array for an int16 input)");
    if (input.byteLength !== this.inputBytes) fail("BAD_INPUT", `input has ${input.byteLength} bytes, the model takes ${this.inputBytes}`);
    const w = this.wasm;
    new Uint8Array(w.memory.buffer, w.wisp_input_ptr(), input.byteLength).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const status = w.wisp_invoke();
    if (status !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(w));
    const out = new Int8Array(w.memory.buffer, w.wisp_output_ptr(), this.outputBytes).slice();
    if (this.info.output.type === "uint8") return new Uint8Array(out.buffer);
    return wide && this.info.output.type === "int16" ? new Int16Array(out.buffer) : out;
  }

  // Starts a stateful model afresh, as a new load would: the next invoke
  // refills its resource variables and reruns its CALL_ONCE init graphs.
  reset(): void {
    if (this.wasm.wisp_reset() !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(this.wasm));
  }

  // Runs the model op by op and returns a copy of every op's output, in op
  // order (info.ops[i] describes trace[i]). For comparing layers with TFLM.
  trace(input: Int8Array): Int8Array[] {
    if (!(input instanceof Int8Array) || input.length !== this.inputBytes) fail("BAD_INPUT", `trace() takes an Int8Array of ${this.inputBytes} values`);
    const w = this.wasm;
    new Int8Array(w.memory.buffer, w.wisp_input_ptr(), input.length).set(input);
    return this.info.ops.map((op, i) => {
      if (w.wisp_invoke_op(i) !== F.ERR_NONE) throw new WispError("RUNTIME", lastError(w));
      return new Int8Array(w.memory.buffer, w.wisp_arena_ptr() + op.arenaOffset, op.arenaBytes).slice();
    });
  }

  // Float in, float out: quantizes and dequantizes with the model's edge
  // parameters, as TFLM's QUANTIZE and DEQUANTIZE kernels do in float32.
  invokeFloat(input: Float32Array): Float32Array {
    if (!(input instanceof Float32Array)) fail("BAD_INPUT", "invokeFloat() takes a Float32Array");
    const { scale, zeroPoint, type } = this.info.input;
    const [lo, hi] = type === "uint8" ? [0, 255] : [-128, 127];
    const q = type === "uint8" ? new Uint8Array(input.length) : new Int8Array(input.length);
    for (let i = 0; i < input.length; i++) {
      const r = Math.fround(input[i] / scale);
      q[i] = Math.min(hi, Math.max(lo, Math.sign(r) * Math.round(Math.abs(r)) + zeroPoint));
    }
    const out = this.invoke(q as Int8Array);
    const o = this.info.output;
    return Float32Array.from(out, (v) => Math.fround(o.scale * (v - o.zeroPoint)));
  }
}

// Loads a model from .tflite or .wisp bytes. Errors are WispError with a code.
export async function load(modelBytes: Uint8Array, options: LoadOptions = {}): Promise<Model> {
  return loadSync(modelBytes, options);
}

export interface LoadOptions {
  // Leave the model outside linear memory and let the module read weights as
  // it needs them, as a device with the model in flash does.
  streamWeights?: boolean;
  // With streamWeights: the weights window in bytes (default: room for the
  // largest op). Smaller windows fetch each op's channels in blocks.
  weightWindow?: number;
  // A Wisp module's bytes to run instead of build/wisp.wasm, such as one
  // `wisp build-module` made for this model.
  module?: Uint8Array;
  // The engine that runs the module: "node" (V8, the default) or "wasm3"
  // (the interpreter devices run; see docs/wasm3.md).
  engine?: EngineName;
  // false: run build/wisp.wasm even where the engine has SIMD (the default
  // then is build/wisp-simd.wasm; both give the same bytes).
  simd?: boolean;
  // true: the engine provides the host kernels (docs/host-kernels.md), native
  // ones under wasm3, the JavaScript reference in Node; same bytes either way.
  hostKernels?: boolean;
}

export function loadSync(modelBytes: Uint8Array, options: LoadOptions = {}): Model {
  if (!(modelBytes instanceof Uint8Array)) fail("BAD_INPUT", "load() takes a Uint8Array");
  const wisp = detectFormat(modelBytes) === "tflite" ? convertTflite(modelBytes).wisp : modelBytes;
  let w: WispExports;
  let status: number;
  const window = options.weightWindow ?? 0;
  if (!Number.isInteger(window) || window < 0 || window > 0xffffffff) fail("BAD_INPUT", "weightWindow must be a whole number of bytes");
  if (window !== 0 && !options.streamWeights) fail("BAD_INPUT", "weightWindow applies only with streamWeights");
  if (options.module !== undefined && !(options.module instanceof Uint8Array)) fail("BAD_INPUT", "module must be a Uint8Array");
  if (options.simd !== undefined && typeof options.simd !== "boolean") fail("BAD_INPUT", "simd must be true or false");
  if (options.engine === "wasm3" && options.simd === true) fail("BAD_INPUT", "wasm3 has no SIMD: load with simd: false or leave it out");
  if (options.hostKernels !== undefined && typeof options.hostKernels !== "boolean") fail("BAD_INPUT", "hostKernels must be true or false");
  const kind = options.engine === "wasm3" ? "wasm3" : chooseModule(options.simd);
  const hostKernels = options.hostKernels === true;
  if (options.streamWeights) {
    w = instantiateOn(options.engine, wisp, options.module, kind, hostKernels);
    status = w.wisp_load_streamed(wisp.length, window);
  } else {
    w = instantiateOn(options.engine, undefined, options.module, kind, hostKernels);
    const ptr = w.wisp_model_buffer(wisp.length);
    if (ptr === 0) fail("OUT_OF_MEMORY", `cannot reserve ${wisp.length} bytes for the model`);
    new Uint8Array(w.memory.buffer, ptr, wisp.length).set(wisp);
    status = w.wisp_load(ptr, wisp.length);
  }
  if (status !== F.ERR_NONE) throw new WispError(RUNTIME_CODES[status] ?? "RUNTIME", lastError(w));
  // The module has validated the container and the graph: now the host's
  // own section, checked against them.
  const info = { ...readDescription(wisp, graphFacts(wisp)), module: options.module ? "given" as const : kind };
  return new Model(info, w);
}
