// A trainer's whole state as bytes: what a device is provisioned with (the
// firmware loads it into its trainer module, host/c/train/wisp_train.h) and
// what it reports after applying a global delta, so a test can compare it
// with the Node trainer's byte for byte. Little-endian:
//   0  u32 magic "WHED", u32 in, u32 hidden, u32 classes, u32 channel-record bytes
//   20 21 x i32 parameter words (host/fl/trainer.ts), 4 x f64 fine units (w1, w2, b1, b2)
//   136 int8 w1 [hidden][in], int8 w2 [classes][hidden], zero padding to 4
//   then i32 Q16 residuals r1, r2 (same shapes), the channel records of
//   layer 1 and layer 2 (biases, multipliers, shifts), f32 error feedback per parameter
import { fail } from "../errors";

export const HEAD_IMAGE_MAGIC = 0x44454857; // "WHED"
export const HEAD_PARAM_WORDS = 21;
const HEADER = 20 + 4 * HEAD_PARAM_WORDS + 32;

export interface HeadImageLayout {
  inDim: number;
  hidden: number;
  classes: number;
  recordBytes: number;
}

// Byte offsets and sizes of each part.
export function headImageLayout(l: HeadImageLayout) {
  const n1 = l.hidden * l.inDim, n2 = l.classes * l.hidden, parameters = n1 + n2 + l.hidden + l.classes;
  const w1 = HEADER, w2 = w1 + n1, r1 = Math.ceil((w2 + n2) / 4) * 4, r2 = r1 + 4 * n1;
  const rec1 = r2 + 4 * n2, rec2 = rec1 + l.recordBytes * l.hidden, residual = rec2 + l.recordBytes * l.classes;
  return { params: 20, units: 20 + 4 * HEAD_PARAM_WORDS, w1, w2, r1, r2, rec1, rec2, residual, parameters, bytes: residual + 4 * parameters };
}

export function readHeadImageLayout(image: Uint8Array): HeadImageLayout {
  if (image.length < HEADER) fail("BAD_INPUT", `a head image has at least ${HEADER} bytes, got ${image.length}`);
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (v.getUint32(0, true) !== HEAD_IMAGE_MAGIC) fail("BAD_INPUT", "not a head image (magic WHED)");
  const l = { inDim: v.getUint32(4, true), hidden: v.getUint32(8, true), classes: v.getUint32(12, true), recordBytes: v.getUint32(16, true) };
  if (headImageLayout(l).bytes !== image.length) fail("BAD_INPUT", `a ${l.inDim}-${l.hidden}-${l.classes} head image has ${headImageLayout(l).bytes} bytes, got ${image.length}`);
  return l;
}
