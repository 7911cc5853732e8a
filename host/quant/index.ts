// TFLM's Prepare-time quantization arithmetic as one public module, for every
// host part that quantizes: the converter's lowering and the trainer's host
// driver (host/fl/trainer.ts). The implementation is the converter's
// (host/convert/quantization.ts), so both compute the same bits.
export {
  activationRange, addParams, meanParams, perChannelMultipliers, perTensorDenseMultiplier, quantizeMultiplier, roundHalfAwayFromZero, softmaxParams,
} from "../convert/quantization";
