import { endInside, firstInside } from "./window";

// The host-kernel ABI (docs/host-kernels.md): optional native primitives for
// the innermost loops of conv, fully connected, depthwise and the int8 ADD
// of residual blocks. The host says
// once per load which it provides; the kernels call those and compute the
// rest themselves. Each call covers many pixels and channels, so the call's
// cost stays small next to its work. The host checks every range it is given
// against linear memory.

export const HOST_DOT = 1; // wisp_dot_s8
export const HOST_DEPTHWISE = 2; // wisp_depthwise_s8
export const HOST_ADD = 4; // wisp_add_s8

@external("wisp_kernels", "wisp_kernels")
declare function hostKernelsProvided(): i32;

@external("wisp_kernels", "wisp_dot_s8")
export declare function hostDotS8(
  out: usize, outStep: u32, pixels: u32, input: usize, pixelStep: u32, rows: u32, rowStep: u32, runLength: u32,
  filter: usize, filterStep: u32, filterRowStep: u32, channels: u32, records: usize, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
): void;

@external("wisp_kernels", "wisp_depthwise_s8")
export declare function hostDepthwiseS8(
  out: usize, outStep: u32, pixels: u32, input: usize, pixelStep: u32, rows: u32, columns: u32, rowStep: u32, columnStep: u32,
  filter: usize, filterStep: u32, filterRowStep: u32, channels: u32, records: usize, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
): void;

@external("wisp_kernels", "wisp_add_s8")
export declare function hostAddS8(
  out: usize, input1: usize, input2: usize, count: u32, in1Zp: i32, in2Zp: i32, outZp: i32, leftShift: i32,
  in1Mult: i32, in1Shift: i32, in2Mult: i32, in2Shift: i32, outMult: i32, outShift: i32, actMin: i32, actMax: i32,
): void;

// The mask of the primitives the host provides; 0 until a model loads.
export let hostKernels: i32 = 0;

export function askHostKernels(): void {
  hostKernels = hostKernelsProvided();
}

// Conv (dilation 1 in x) or depthwise (depth multiplier 1) through the host:
// one call per run of neighbouring output pixels whose windows have the same
// taps inside the input (a row's interior in one call, each edge pixel alone).
export function windowsByHost(
  depthwise: bool, input: usize, output: usize,
  inH: i32, inW: i32, inC: i32, outH: i32, outW: i32, outC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32,
  padTop: i32, padLeft: i32, inZp: i32, outZp: i32, actMin: i32, actMax: i32,
  filter: usize, records: usize, firstChannel: i32, channels: i32,
): void {
  const rowBytes = inW * inC;
  const tapBytes = depthwise ? 1 : inC; // of filter per tap
  let out = output + <usize>firstChannel;
  let oy = 0;
  while (oy < outH) {
    const iy0 = oy * strideH - padTop;
    const kyStart = firstInside(iy0, dilH);
    const rows = max(0, endInside(iy0, dilH, inH, kH) - kyStart);
    let ox = 0;
    let down = 1; // output rows this pass covers
    while (ox < outW) {
      const ix0 = ox * strideW - padLeft;
      const kxStart = firstInside(ix0, dilW);
      const kxEnd = endInside(ix0, dilW, inW, kW);
      let n = 1;
      let step = strideW * inC;
      if (kxStart == 0 && kxEnd == kW) {
        if (outW > 1) while (ox + n < outW && ix0 + n * strideW + (kW - 1) * dilW < inW) n++;
        else if (kyStart == 0 && rows == kH) {
          // A one-pixel-wide output (a keyword model's time axis): the run goes down the column.
          while (oy + n < outH && iy0 + n * strideH + (kH - 1) * dilH < inH) n++;
          step = strideH * rowBytes;
          down = n;
        }
      }
      const at = input + <usize>((iy0 + kyStart * dilH) * rowBytes + (ix0 + kxStart * dilW) * inC);
      const taps = filter + <usize>((kyStart * kW + kxStart) * tapBytes);
      const columns = max(0, kxEnd - kxStart);
      if (depthwise) {
        hostDepthwiseS8(out, outC, n, at + <usize>firstChannel, step, rows, columns, dilH * rowBytes, dilW * inC,
          taps, kH * kW, kW, channels, records, inZp, outZp, actMin, actMax);
      } else {
        hostDotS8(out, outC, n, at, step, rows, dilH * rowBytes, columns * inC,
          taps, kH * kW * inC, kW * inC, channels, records, inZp, outZp, actMin, actMax);
      }
      ox += down > 1 ? 1 : n;
      out += <usize>(n * outC);
    }
    oy += down;
  }
}
