// Every failure the host reports is a WispError with a stable `code` that
// scripts can match on. The message is one line, meant for people.

export type WispErrorCode =
  | "BAD_TFLITE" // the .tflite flatbuffer is malformed
  | "UNSUPPORTED_OP" // an op, op version or op option Wisp does not run
  | "UNSUPPORTED_TYPE" // a tensor type or quantization Wisp does not run
  | "DYNAMIC_SHAPE" // a tensor without a fixed shape
  | "BAD_MODEL" // the graph is inconsistent (shapes, quantization, buffers)
  | "TOO_LARGE" // a tensor, the arena or the weights exceed what the .wisp format or the module holds
  | "BAD_WISP" // the .wisp container failed validation
  | "BAD_INPUT" // the caller passed input of the wrong size or type
  | "OUT_OF_MEMORY" // the module could not reserve memory for the model
  | "RUNTIME" // the module reported an error while running
  | "BAD_UPDATE" // a federated update message failed validation
  | "BAD_CONFIG" // a federated-learning configuration is invalid
  | "USAGE" // the CLI was called wrongly
  | "BAD_SIGNATURE" // a signed model, module or file failed verification
  | "IO"; // a file could not be read or written

export class WispError extends Error {
  readonly code: WispErrorCode;
  constructor(code: WispErrorCode, message: string) {
    super(message);
    this.name = "WispError";
    this.code = code;
  }
}

export function fail(code: WispErrorCode, message: string): never {
  throw new WispError(code, message);
}
