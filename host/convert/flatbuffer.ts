// A minimal, bounds-checked FlatBuffers reader: enough to walk tables,
// vectors and strings. Any offset that leaves the buffer is a BAD_TFLITE error.
import { fail } from "../errors";

export class FlatBuffer {
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.length) {
      fail("BAD_TFLITE", `flatbuffer ${what} at byte ${pos} runs past the end of the file`);
    }
  }

  u8(pos: number): number { this.check(pos, 1, "byte"); return this.view.getUint8(pos); }
  i8(pos: number): number { this.check(pos, 1, "byte"); return this.view.getInt8(pos); }
  u16(pos: number): number { this.check(pos, 2, "u16"); return this.view.getUint16(pos, true); }
  i32(pos: number): number { this.check(pos, 4, "i32"); return this.view.getInt32(pos, true); }
  u32(pos: number): number { this.check(pos, 4, "u32"); return this.view.getUint32(pos, true); }
  f32(pos: number): number { this.check(pos, 4, "f32"); return this.view.getFloat32(pos, true); }
  i64(pos: number): number {
    this.check(pos, 8, "i64");
    const v = this.view.getBigInt64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail("BAD_TFLITE", `64-bit value at byte ${pos} is out of range`);
    return Number(v);
  }

  root(): Table {
    return new Table(this, this.u32(0));
  }
}

export class Table {
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(readonly fb: FlatBuffer, readonly pos: number) {
    this.vtable = pos - fb.i32(pos);
    this.vtableSize = fb.u16(this.vtable);
    if (this.vtableSize < 4 || this.vtableSize % 2 !== 0) fail("BAD_TFLITE", `bad vtable size at byte ${this.vtable}`);
    fb.check(this.vtable, this.vtableSize, "vtable");
  }

  // Byte position of field `id`, or 0 when the field is absent.
  field(id: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtableSize) return 0;
    const offset = this.fb.u16(this.vtable + slot);
    return offset === 0 ? 0 : this.pos + offset;
  }

  has(id: number): boolean { return this.field(id) !== 0; }
  u8(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.u8(p) : dflt; }
  i8(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.i8(p) : dflt; }
  i32(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.i32(p) : dflt; }
  u32(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.u32(p) : dflt; }
  f32(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.f32(p) : dflt; }
  i64(id: number, dflt = 0): number { const p = this.field(id); return p ? this.fb.i64(p) : dflt; }

  private target(id: number): number {
    const p = this.field(id);
    return p ? p + this.fb.u32(p) : 0;
  }

  table(id: number): Table | null {
    const t = this.target(id);
    return t ? new Table(this.fb, t) : null;
  }

  // Start and length of a vector whose elements are `elementSize` bytes.
  vector(id: number, elementSize: number): { start: number; length: number } {
    const t = this.target(id);
    if (!t) return { start: 0, length: 0 };
    const length = this.fb.u32(t);
    this.fb.check(t + 4, length * elementSize, "vector");
    return { start: t + 4, length };
  }

  bytes(id: number): Uint8Array | null {
    if (!this.has(id)) return null;
    const { start, length } = this.vector(id, 1);
    return this.fb.bytes.subarray(start, start + length);
  }

  string(id: number): string {
    const b = this.bytes(id);
    return b ? new TextDecoder().decode(b) : "";
  }

  i32s(id: number): number[] {
    const { start, length } = this.vector(id, 4);
    return Array.from({ length }, (_, i) => this.fb.i32(start + 4 * i));
  }

  f32s(id: number): number[] {
    const { start, length } = this.vector(id, 4);
    return Array.from({ length }, (_, i) => this.fb.f32(start + 4 * i));
  }

  i64s(id: number): number[] {
    const { start, length } = this.vector(id, 8);
    return Array.from({ length }, (_, i) => this.fb.i64(start + 8 * i));
  }

  tables(id: number): Table[] {
    const { start, length } = this.vector(id, 4);
    return Array.from({ length }, (_, i) => {
      const p = start + 4 * i;
      return new Table(this.fb, p + this.fb.u32(p));
    });
  }
}
