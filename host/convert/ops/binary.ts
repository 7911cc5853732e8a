// Lowers the int8 elementwise binary ops (ADD, SUB, MUL, MAXIMUM, MINIMUM,
// SQUARED_DIFFERENCE) to BINARY records (assembly/ops/binary.ts), with the
// parameters TFLM computes at Prepare time (add_common.cc, sub_common.cc,
// mul_common.cc, squared_difference.cc; MAXIMUM/MINIMUM have none) and
// TFLM's broadcasting (shapes right-aligned, size-1 dimensions repeated, up to
// 6 dimensions) folded into at most 6 loops over the contiguous output.
// A constant operand (batch-norm scales and offsets) travels as a block.
// int8 BATCH_MATMUL (batch_matmul.cc) is a BINARY record too: the walk goes
// over the batch dimensions, the rows and the columns, each operand's depth
// read through a stride, so adj_x and adj_y need no transposed copy.
import type { Lowering } from "../lower";
import type { Quant, Value } from "../graph";
import { TensorType } from "../tflite";
import { activationRange, addParams, perTensorDenseMultiplier, quantizeMultiplier } from "../quantization";
import { pushRecord, stridesOf } from "./record";
import { int16, range16 } from "./conv16";

const RANK = 6;
const KIND: Record<string, number> = { ADD: 0, SUB: 1, MUL: 2, MAXIMUM: 3, MINIMUM: 4, SQUARED_DIFFERENCE: 5, BATCH_MATMUL: 6 };

interface Operand {
  shape: number[];
  quant: Quant;
  value?: Value; // an activation
  block?: Uint8Array; // a constant
}

interface Multiplier {
  multiplier: number;
  shift: number;
}

interface Params {
  leftShift: number;
  input1: Multiplier;
  input2: Multiplier;
  output: Multiplier;
}

const NONE: Multiplier = { multiplier: 0, shift: 0 };

function operand(l: Lowering, index: number, role: string, wide: boolean): Operand {
  const t = l.tensor(index, role);
  if (wide && t.data) l.reject("UNSUPPORTED_TYPE", `first input tensor "${l.tensor(l.op.inputs[0], role).name}" is INT16 and ${role} a constant; Wisp runs int16 ADD and MUL on activations only`);
  if (!t.data) {
    const value = wide ? int16(l, index, role) : l.activation(index, role);
    return { shape: value.shape, quant: value.quant, value };
  }
  const elements = t.shape.reduce((a, b) => a * b, 1);
  const c = l.constant(index, role, TensorType.INT8, elements);
  return { shape: t.shape, quant: l.quant(c, role), block: new Uint8Array(c.data!) };
}

// TFLM's QuantizeMultiplierSmallerThanOneExp: CHECKs 0 < real < 1.
function smallerThanOne(l: Lowering, real: number, what: string): Multiplier {
  if (!(real > 0 && real < 1)) l.reject("BAD_MODEL", `${what} multiplier ${real} is not below 1 (TFLM refuses it)`);
  return quantizeMultiplier(real);
}

// SUB: as ADD, but TFLM's CalculateOpDataSub computes in float32.
function subParams(l: Lowering, s1: number, s2: number, so: number): Params {
  const f = Math.fround;
  const leftShift = 20;
  const twiceMax = f(2 * Math.max(s1, s2));
  return {
    leftShift,
    input1: smallerThanOne(l, f(s1 / twiceMax), "first input"),
    input2: smallerThanOne(l, f(s2 / twiceMax), "second input"),
    output: smallerThanOne(l, f(twiceMax / f((1 << leftShift) * so)), "output"),
  };
}

// SQUARED_DIFFERENCE: left shift 7, the output multiplier squared (any size).
function squaredDifferenceParams(l: Lowering, s1: number, s2: number, so: number): Params {
  const leftShift = 7;
  const twiceMax = 2 * Math.max(s1, s2);
  return {
    leftShift,
    input1: smallerThanOne(l, s1 / twiceMax, "first input"),
    input2: smallerThanOne(l, s2 / twiceMax, "second input"),
    output: quantizeMultiplier((twiceMax * twiceMax) / Math.fround((1 << (2 * leftShift)) * so)),
  };
}

interface Loops {
  shape: number[];
  aStrides: number[];
  bStrides: number[];
  aFull: boolean; // the first operand has the output's shape: read at the output's index
  bFull: boolean;
}

// TFLM's BroadcastBinaryOpSimple: shapes right-aligned; a size-1 dimension of
// an operand repeats along the output. Dimensions of size 1 are dropped and
// neighbours broadcasting the same way are fused.
function loops(l: Lowering, a: number[], b: number[], out: number[]): Loops {
  const rank = Math.max(a.length, b.length, out.length);
  if (rank > RANK) l.reject("UNSUPPORTED_OP", `tensors of rank ${rank} are not supported (TFLM runs at most ${RANK})`);
  const extend = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const [ea, eb, eo] = [extend(a), extend(b), extend(out)];
  const dims: { size: number; aRepeats: boolean; bRepeats: boolean }[] = [];
  for (let d = 0; d < rank; d++) {
    const [x, y, o] = [ea[d], eb[d], eo[d]];
    if ((x !== o && x !== 1) || (y !== o && y !== 1) || o !== Math.max(x, y)) {
      l.reject("BAD_MODEL", `shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast to the output ${JSON.stringify(out)}`);
    }
    if (o === 1) continue;
    const aRepeats = x === 1, bRepeats = y === 1;
    const last = dims[dims.length - 1];
    if (last && last.aRepeats === aRepeats && last.bRepeats === bRepeats) last.size *= o;
    else dims.push({ size: o, aRepeats, bRepeats });
  }
  if (dims.length === 0) dims.push({ size: 1, aRepeats: false, bRepeats: false });
  const aStrides: number[] = [], bStrides: number[] = [];
  let aAcc = 1, bAcc = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    aStrides[d] = dims[d].aRepeats ? 0 : aAcc;
    bStrides[d] = dims[d].bRepeats ? 0 : bAcc;
    if (!dims[d].aRepeats) aAcc *= dims[d].size;
    if (!dims[d].bRepeats) bAcc *= dims[d].size;
  }
  const pad = RANK - dims.length;
  const lead = (v: number[], x: number) => [...new Array(pad).fill(x), ...v];
  return {
    shape: lead(dims.map((d) => d.size), 1),
    aStrides: lead(aStrides, 0),
    bStrides: lead(bStrides, 0),
    aFull: dims.every((d) => !d.aRepeats),
    bFull: dims.every((d) => !d.bRepeats),
  };
}

// Tensor k >= 1 or block -1 - j, for the record's operand arguments.
function sources(a: Operand, b: Operand, full: [boolean, boolean]) {
  const inputs: Value[] = [], blocks: Uint8Array[] = [], overlap: (number | null)[] = [];
  // An operand with the output's shape reads element i before element i is
  // written, so the output may take its place.
  const source = (x: Operand, k: number): number => {
    if (x.block) {
      blocks.push(x.block);
      return -blocks.length;
    }
    inputs.push(x.value!);
    overlap.push(full[k] ? 0 : null);
    return inputs.length;
  };
  const srcA = source(a, 0), srcB = source(b, 1);
  // One buffer read twice (x + x, or through a reshape): in place only if both reads are.
  if (inputs.length === 2 && inputs[0].id === inputs[1].id && (overlap[0] === null || overlap[1] === null)) overlap.fill(null);
  return { inputs, blocks, overlap, srcA, srcB };
}

// BATCH_MATMUL as TFLM's Prepare checks it: int8 (Wisp; TFLM also runs
// int16), ranks 2 to 5, batch dimensions broadcasting, the depths equal;
// the multiplier from lhs scale * rhs scale in float32 over the output scale
// (GetQuantizedConvolutionMultipler), no activation.
function batchMatmul(l: Lowering, opcode: number): void {
  l.arity([2], 1);
  const op = l.op;
  const types = [op.inputs[0], op.inputs[1], op.outputs[0]].map((i, k) => l.tensor(i, ["lhs", "rhs", "output"][k]).type);
  if (types[0] !== types[1] || types[0] !== types[2]) l.reject("UNSUPPORTED_TYPE", "BATCH_MATMUL needs both inputs and the output of one type (TFLM refuses mixed types)");
  if (types[0] === TensorType.INT16) l.reject("UNSUPPORTED_TYPE", "int16 BATCH_MATMUL is not supported by Wisp (it runs int8)");
  const a = operand(l, op.inputs[0], "lhs", false), b = operand(l, op.inputs[1], "rhs", false);
  const output = l.activation(op.outputs[0], "output");
  // BatchMatMulOptions: adj_x 0, adj_y 1.
  const adjX = op.options ? op.options.u8(0) !== 0 : false, adjY = op.options ? op.options.u8(1) !== 0 : false;
  for (const [x, role] of [[a, "lhs"], [b, "rhs"]] as [Operand, string][]) {
    if (x.shape.length < 2 || x.shape.length > 5) l.reject("UNSUPPORTED_OP", `${role} has rank ${x.shape.length}; TFLM's BATCH_MATMUL takes ranks 2 to 5`);
  }
  const rank = Math.max(a.shape.length, b.shape.length);
  const extend = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const ea = extend(a.shape), eb = extend(b.shape), sa = stridesOf(ea), sb = stridesOf(eb);
  const batch: number[] = [], aBatch: number[] = [], bBatch: number[] = [];
  for (let d = 0; d < rank - 2; d++) {
    if (ea[d] !== eb[d] && ea[d] !== 1 && eb[d] !== 1) l.reject("BAD_MODEL", `batch dimensions of ${JSON.stringify(a.shape)} and ${JSON.stringify(b.shape)} do not broadcast`);
    batch.push(Math.max(ea[d], eb[d]));
    aBatch.push(ea[d] === 1 ? 0 : sa[d]);
    bBatch.push(eb[d] === 1 ? 0 : sb[d]);
  }
  const [r, c] = [rank - 2, rank - 1];
  // Rows of the lhs and columns of the rhs, with their strides and the depth's.
  const [rows, aRow, depthA, aDepth] = adjX ? [ea[c], sa[c], ea[r], sa[r]] : [ea[r], sa[r], ea[c], sa[c]];
  const [cols, bCol, depthB, bDepth] = adjY ? [eb[r], sb[r], eb[c], sb[c]] : [eb[c], sb[c], eb[r], sb[r]];
  if (depthA !== depthB) l.reject("BAD_MODEL", `lhs depth ${depthA} differs from rhs depth ${depthB}`);
  const shape = [...batch, rows, cols];
  if (output.shape.length !== shape.length || output.shape.some((d, i) => d !== shape[i])) l.reject("BAD_MODEL", `output shape ${JSON.stringify(output.shape)} is not ${JSON.stringify(shape)}`);
  const m = perTensorDenseMultiplier(a.quant.scale, b.quant.scale, output.quant.scale);
  if (m.shift > 30) l.reject("UNSUPPORTED_TYPE", `lhs scale * rhs scale / output scale ${(a.quant.scale * b.quant.scale) / output.quant.scale} is too large`);
  // Batch dimensions padded to three, then rows and columns, in 6 loops.
  const pad = <T>(v: T[], x: T) => [...new Array(RANK - 2 - v.length).fill(x), ...v];
  const s = sources(a, b, [false, false]);
  pushRecord(l, opcode, {
    output,
    inputs: s.inputs,
    blocks: s.blocks,
    overlap: s.overlap,
    macs: output.bytes * depthA,
    args: [
      KIND.BATCH_MATMUL, s.srcA, s.srcB, a.quant.zeroPoint, b.quant.zeroPoint, output.quant.zeroPoint, 0,
      0, 0, 0, 0, m.multiplier, m.shift, -128, 127,
      ...pad(batch, 1), rows, cols, ...pad(aBatch, 0), aRow, 0, ...pad(bBatch, 0), 0, bCol,
      depthA, aDepth, bDepth,
    ],
  });
}

export function lower(l: Lowering, builtin: string, opcode: number): void {
  if (builtin === "BATCH_MATMUL") return batchMatmul(l, opcode);
  const kind = KIND[builtin];
  if (kind === undefined) l.reject("UNSUPPORTED_OP", `${builtin} is not lowered by the binary op`);
  l.arity([2], 1);
  const op = l.op;
  const wide = l.tensor(op.inputs[0], "first input").type === TensorType.INT16;
  if (wide && builtin !== "ADD" && builtin !== "MUL") l.reject("UNSUPPORTED_TYPE", `int16 ${builtin} is not supported`);
  const a = operand(l, op.inputs[0], "first input", wide);
  const b = operand(l, op.inputs[1], "second input", wide);
  const output = wide ? int16(l, op.outputs[0], "output") : l.activation(op.outputs[0], "output");
  const s1 = a.quant.scale, s2 = b.quant.scale, so = output.quant.scale;
  // AddOptions, SubOptions, MulOptions: fused_activation_function 0. Without
  // options TFLM runs with no activation.
  const activation = () => {
    const code = op.options ? op.options.i8(0) : 0;
    if (!wide) return activationRange(code, so, output.quant.zeroPoint, l.where());
    const [min, max] = range16(l, code, so);
    return { min, max };
  };
  let p: Params = { leftShift: 0, input1: NONE, input2: NONE, output: NONE };
  let act = { min: -128, max: 127 };
  switch (builtin) {
    case "ADD": {
      // int16: left shift 15, every multiplier below 1 (QuantizeMultiplierSmallerThanOneExp).
      if (wide) {
        const twiceMax = 2 * Math.max(s1, s2);
        p = { leftShift: 15, input1: smallerThanOne(l, s1 / twiceMax, "first input"), input2: smallerThanOne(l, s2 / twiceMax, "second input"), output: smallerThanOne(l, twiceMax / ((1 << 15) * so), "output") };
        act = activation();
        break;
      }
      p = addParams(s1, s2, so);
      const twiceMax = 2 * Math.max(s1, s2);
      smallerThanOne(l, twiceMax / ((1 << p.leftShift) * so), "output");
      act = activation();
      break;
    }
    case "SUB":
      p = subParams(l, s1, s2, so);
      act = activation();
      break;
    case "MUL":
      p = { leftShift: 0, input1: NONE, input2: NONE, output: quantizeMultiplier((s1 * s2) / so) };
      act = activation();
      break;
    case "SQUARED_DIFFERENCE":
      p = squaredDifferenceParams(l, s1, s2, so);
      break;
    // MAXIMUM, MINIMUM: raw int8 comparison whatever the quantization (TFLM has no Prepare).
  }
  if (p.output.shift > 31) l.reject("UNSUPPORTED_OP", `output multiplier ${p.output.multiplier} << ${p.output.shift} is out of range`);
  const w = loops(l, a.shape, b.shape, output.shape);
  const { inputs, blocks, overlap, srcA, srcB } = sources(a, b, [w.aFull, w.bFull]);
  pushRecord(l, opcode, {
    output,
    inputs,
    blocks,
    overlap,
    args: [
      kind + (wide ? 8 : 0), srcA, srcB,
      a.quant.zeroPoint, b.quant.zeroPoint, output.quant.zeroPoint, p.leftShift,
      p.input1.multiplier, p.input1.shift, p.input2.multiplier, p.input2.shift,
      p.output.multiplier, p.output.shift, act.min, act.max,
      ...w.shape, ...w.aStrides, ...w.bStrides,
    ],
  });
}
