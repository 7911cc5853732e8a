// Reading a .wisp file's section table and op records on the host, for a
// file the module has validated (the description's checks, per-model
// builds, tests). The walk stops at the graph's end, so a mutated file
// gives fewer records, never a read outside the file.
import * as F from "../../assembly/format";

export interface Section {
  kind: number;
  at: number; // byte offset in the file
  size: number;
}

export function sections(wisp: Uint8Array): Section[] {
  const v = new DataView(wisp.buffer, wisp.byteOffset, wisp.byteLength);
  const count = v.getUint32(F.HEADER_BYTES, true);
  return Array.from({ length: count }, (_, i) => {
    const entry = F.HEADER_BYTES + 4 + i * F.SECTION_ENTRY_BYTES;
    return { kind: v.getUint32(entry, true), at: v.getUint32(entry + 4, true), size: v.getUint32(entry + 8, true) };
  });
}

export interface OpRecord {
  opcode: number;
  at: number; // byte offset of the record (its opcode word) in the file
  words: number; // the record's length, its two header words included
}

// The op records of the graph section, in order (none without one).
export function opRecords(wisp: Uint8Array): OpRecord[] {
  const graph = sections(wisp).find((s) => s.kind === F.SECTION_GRAPH);
  if (!graph) return [];
  const v = new DataView(wisp.buffer, wisp.byteOffset, wisp.byteLength);
  const end = graph.at + graph.size;
  const records: OpRecord[] = [];
  let at = graph.at + 4 * F.GRAPH_HEADER_WORDS;
  for (let k = 0, n = v.getInt32(graph.at + 4 * F.GRAPH_OP_COUNT, true); k < n && at + 8 <= end; k++) {
    const words = Math.max(F.OP_HEADER_WORDS, v.getInt32(at + 4, true));
    records.push({ opcode: v.getInt32(at, true), at, words });
    at += 4 * words;
  }
  return records;
}
