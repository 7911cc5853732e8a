// Measuring: golden vector sets counted byte-exact, median latency, and the
// plain-text tables the main job and the benchmark print. Tests use it too.
import { Model } from "../host/node/api";
import { GoldenSet } from "../host/node/models";
import { measureLatency } from "../host/node/bench";

export interface GoldenResult {
  set: string;
  vectors: number;
  exact: number;
  firstMismatch: number; // vector index, -1 when all match
}

export function vectors(buffer: Buffer, size: number): Int8Array[] {
  const n = Math.floor(buffer.length / size);
  return Array.from({ length: n }, (_, i) => new Int8Array(buffer.buffer, buffer.byteOffset + i * size, size));
}

export function runGolden(model: Model, set: GoldenSet): GoldenResult {
  const inputs = vectors(set.inputs, model.inputBytes);
  const outputs = vectors(set.outputs, model.outputBytes);
  if (inputs.length !== outputs.length || set.inputs.length % model.inputBytes !== 0) {
    throw new Error(`${set.name}: ${inputs.length} inputs but ${outputs.length} outputs`);
  }
  let exact = 0;
  let firstMismatch = -1;
  inputs.forEach((x, i) => {
    const y = model.invoke(x);
    if (Buffer.compare(Buffer.from(y.buffer), Buffer.from(outputs[i].buffer, outputs[i].byteOffset, outputs[i].length)) === 0) exact++;
    else if (firstMismatch < 0) firstMismatch = i;
  });
  return { set: set.name, vectors: inputs.length, exact, firstMismatch };
}

export function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Median wall time of one invoke, in milliseconds, cycling over the inputs.
export function medianLatency(invoke: (x: Int8Array) => unknown, inputs: Int8Array[], runs: number, warmup = 5): number {
  return measureLatency(invoke, inputs, runs, undefined, warmup).medianMs;
}

// Several invokes timed side by side: `rounds` rounds, each running every
// one for `block` invokes in turn (cycling over the inputs), so a machine
// whose speed drifts slows them alike. Per invoke: the median over rounds of
// each block's mean, and for every pair the median of the rounds' ratios.
export interface Interleaved {
  medianMs: number[];
  ratio(a: number, b: number): number; // median over rounds of a's time / b's
}

export function interleavedLatency(invokes: ((x: Int8Array) => unknown)[], inputs: Int8Array[], rounds: number, block: number, warmup = 5): Interleaved {
  for (const invoke of invokes) for (let i = 0; i < warmup; i++) invoke(inputs[i % inputs.length]);
  const times = invokes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    invokes.forEach((invoke, k) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < block; i++) invoke(inputs[(r * block + i) % inputs.length]);
      times[k].push(Number(process.hrtime.bigint() - t) / 1e6 / block);
    });
  }
  return {
    medianMs: times.map(median),
    ratio: (a, b) => median(times[a].map((t, r) => t / times[b][r])),
  };
}

// Prints rows as aligned columns; the first row is the header. Columns listed
// in `leftAligned` are padded on the right, the rest on the left.
// A row shorter than the header is a note: its leading cells in their
// columns, its last cell as free text after them (e.g. "does not fit: ...").
export function printTable(rows: string[][], leftAligned: number[]): void {
  const full = rows.filter((r) => r.length === rows[0].length);
  const widths = rows[0].map((_, c) => Math.max(...full.map((r) => r[c].length), ...rows.filter((r) => c < r.length - 1).map((r) => r[c].length)));
  rows.forEach((r, i) => {
    const pad = (cell: string, c: number) => (leftAligned.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]));
    if (r.length < rows[0].length) return console.log([...r.slice(0, -1).map(pad), r[r.length - 1]].join("  ").trimEnd());
    console.log(r.map(pad).join("  ").trimEnd());
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  });
}

// Runs a benchmark's main: a failure prints its message (and code), not a
// stack trace, and sets the exit code.
export function runMain(main: () => number | void | Promise<number | void>): void {
  const failed = (e: unknown) => {
    const code = (e as { code?: string }).code;
    console.error(`${code ? `${code}: ` : ""}${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  };
  try {
    const r = main();
    if (r instanceof Promise) r.then((code) => (process.exitCode = code ?? 0), failed);
    else process.exitCode = r ?? 0;
  } catch (e) {
    failed(e);
  }
}
