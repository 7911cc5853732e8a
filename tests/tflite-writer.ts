// A small FlatBuffers writer that builds .tflite models in tests, for op
// combinations no shared model has (float edges, int8 QUANTIZE) and for
// models the converter must refuse. Field ids follow the TFLite schema.
type ScalarType = "u8" | "i8" | "i32" | "u32" | "f32" | "i64";
interface Scalar { kind: "scalar"; type: ScalarType; value: number }
export interface TableNode { kind: "table"; fields: (Field | undefined)[] }
interface VectorNode { kind: "vector"; type: ScalarType | "table"; items: (number | TableNode)[] }
interface StringNode { kind: "string"; text: string }
type Node = TableNode | VectorNode | StringNode;
type Field = Scalar | Node;

const SIZE: Record<ScalarType, number> = { u8: 1, i8: 1, i32: 4, u32: 4, f32: 4, i64: 8 };

export const scalar = (type: ScalarType, value: number): Scalar => ({ kind: "scalar", type, value });
export const table = (...fields: (Field | undefined)[]): TableNode => ({ kind: "table", fields });
export const vector = (type: ScalarType | "table", items: (number | TableNode)[]): VectorNode => ({ kind: "vector", type, items });
export const string = (text: string): StringNode => ({ kind: "string", text });

class Writer {
  private view = new DataView(new ArrayBuffer(1 << 22));
  private pos = 8;
  private pending: { at: number; node: Node }[] = [];

  private align(n: number): void {
    this.pos = Math.ceil(this.pos / n) * n;
  }

  private put(type: ScalarType, at: number, value: number): void {
    const v = this.view;
    if (type === "u8") v.setUint8(at, value);
    else if (type === "i8") v.setInt8(at, value);
    else if (type === "i32") v.setInt32(at, value, true);
    else if (type === "u32") v.setUint32(at, value, true);
    else if (type === "f32") v.setFloat32(at, value, true);
    else v.setBigInt64(at, BigInt(value), true);
  }

  // Children are always written after their parent, so offsets point forward.
  finish(root: TableNode, identifier: string): Uint8Array {
    for (let i = 0; i < 4; i++) this.view.setUint8(4 + i, identifier.charCodeAt(i));
    this.pending.push({ at: 0, node: root });
    for (let k = 0; k < this.pending.length; k++) { // a queue read by index: shift() made big models quadratic
      const { at, node } = this.pending[k];
      const target = this.write(node);
      this.view.setUint32(at, target - at, true);
    }
    return new Uint8Array(this.view.buffer.slice(0, this.pos));
  }

  private write(node: Node): number {
    if (node.kind === "string") {
      this.align(4);
      const at = this.pos;
      const bytes = new TextEncoder().encode(node.text);
      this.view.setUint32(at, bytes.length, true);
      bytes.forEach((b, i) => this.view.setUint8(at + 4 + i, b));
      this.pos = at + 4 + bytes.length + 1;
      return at;
    }
    if (node.kind === "vector") {
      const size = node.type === "table" ? 4 : SIZE[node.type];
      this.align(Math.max(4, size));
      if (size === 8) this.pos += 4; // elements 8-aligned after the length
      const at = this.pos;
      this.view.setUint32(at, node.items.length, true);
      node.items.forEach((item, i) => {
        const p = at + 4 + i * size;
        if (node.type === "table") this.pending.push({ at: p, node: item as TableNode });
        else this.put(node.type as ScalarType, p, item as number);
      });
      this.pos = at + 4 + node.items.length * size;
      return at;
    }
    // Table: vtable first, then the table, whose first word points back to it.
    this.align(2);
    const vtable = this.pos;
    const vtableSize = 4 + 2 * node.fields.length;
    this.pos += vtableSize;
    this.align(8);
    const start = this.pos;
    let offset = 4;
    const fieldOffsets = node.fields.map((f) => {
      if (!f) return 0;
      const size = f.kind === "scalar" ? SIZE[f.type] : 4;
      offset = Math.ceil(offset / size) * size;
      const at = offset;
      offset += size;
      return at;
    });
    this.view.setInt32(start, start - vtable, true);
    node.fields.forEach((f, i) => {
      if (!f) return;
      const at = start + fieldOffsets[i];
      if (f.kind === "scalar") this.put(f.type, at, f.value);
      else this.pending.push({ at, node: f });
    });
    this.view.setUint16(vtable, vtableSize, true);
    this.view.setUint16(vtable + 2, offset, true);
    fieldOffsets.forEach((o, i) => this.view.setUint16(vtable + 4 + 2 * i, o, true));
    this.pos = start + offset;
    return start;
  }
}

export interface TensorSpec {
  shape: number[];
  type: number; // TensorType
  data?: Uint8Array;
  scale?: number[];
  zeroPoint?: number[];
  quantizedDimension?: number;
  shapeSignature?: number[];
  variable?: boolean; // is_variable: state that persists across invokes (LSTM, SVDF)
}

export interface OpSpec {
  builtin: number;
  version?: number;
  custom?: string;
  inputs: number[];
  outputs: number[];
  options?: TableNode;
}

export interface GraphSpec {
  tensors: TensorSpec[];
  ops: OpSpec[];
  inputs: number[];
  outputs: number[];
}

export interface ModelSpec extends GraphSpec {
  subgraphs?: number; // copies of the graph, to test multi-subgraph refusal
  graphs?: GraphSpec[]; // further subgraphs (1, 2, ...), such as CALL_ONCE init graphs
}

// BuiltinOptions union types of the schema, by builtin code. TFLM reads an
// op's options only when the operator names their type; the converter reads
// them by field id either way.
export const BUILTIN_OPTIONS_TYPE: Record<number, number> = {
  3: 1, 4: 2, 1: 5, 17: 5, 9: 8, 25: 9, 0: 11, 11: 12, 23: 15, 18: 21, 40: 27, 74: 27, 82: 27, 89: 27,
  56: 40, 67: 49, 79: 57, 97: 74, 27: 6, 44: 71, 2: 10, 45: 32, 129: 103, 142: 111, 143: 112, 144: 113, 100: 77, 126: 101,
};

// Builds a .tflite file. Each operator gets its own operator code.
// `optionsTypes`: also write each operator's options type (for models TFLM
// runs, such as the oracle's).
export function buildTflite(spec: ModelSpec, { optionsTypes = false } = {}): Uint8Array {
  const buffers: TableNode[] = [table()]; // buffer 0 is the empty sentinel
  const codes: TableNode[] = [];
  const optionsType = (o: OpSpec) => (optionsTypes && o.options && BUILTIN_OPTIONS_TYPE[o.builtin] !== undefined ? scalar("u8", BUILTIN_OPTIONS_TYPE[o.builtin]) : undefined);
  const graph = (g: GraphSpec, name: string): TableNode => {
    const tensors = g.tensors.map((t, i) => {
      let buffer = 0;
      if (t.data) {
        buffer = buffers.length;
        buffers.push(table(vector("u8", Array.from(t.data))));
      }
      const quant = t.scale ? table(undefined, undefined, vector("f32", t.scale), vector("i64", t.zeroPoint ?? t.scale.map(() => 0)), undefined, undefined, scalar("i32", t.quantizedDimension ?? 0)) : undefined;
      return table(vector("i32", t.shape), scalar("u8", t.type), scalar("u32", buffer), string(`t${i}`), quant,
        t.variable ? scalar("u8", 1) : undefined, undefined, t.shapeSignature ? vector("i32", t.shapeSignature) : undefined);
    });
    const operators = g.ops.map((o) => {
      codes.push(table(scalar("i8", Math.min(o.builtin, 127)), o.custom ? string(o.custom) : undefined, scalar("i32", o.version ?? 1), scalar("i32", o.builtin)));
      return table(scalar("u32", codes.length - 1), vector("i32", o.inputs), vector("i32", o.outputs), optionsType(o), o.options);
    });
    return table(vector("table", tensors), vector("i32", g.inputs), vector("i32", g.outputs), vector("table", operators), string(name));
  };
  const main = graph(spec, "main");
  const subgraphs = [...Array.from({ length: spec.subgraphs ?? 1 }, () => main), ...(spec.graphs ?? []).map((g, k) => graph(g, `init${k + 1}`))];
  const model = table(scalar("u32", 3), vector("table", codes), vector("table", subgraphs), string("wisp test model"), vector("table", buffers));
  return new Writer().finish(model, "TFL3");
}

export function int8Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Int8Array.from(values).buffer);
}

export function int32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}
