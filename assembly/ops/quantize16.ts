// QUANTIZE between int8 and int16 runs on ACTIVATION's LEAKY_RELU loop
// (kinds 4 to 6 of assembly/ops/activation.ts, with the alpha multiplier the
// identity one), which computes TFLM's Requantize: (x - input zero point)
// times the multiplier, plus the output zero point, clamped to the output type.
export { validate, run } from "./activation";
