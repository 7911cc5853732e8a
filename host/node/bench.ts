// Latency of one invoke in Node: the median and spread over many runs, for
// `wisp bench` and the benchmarks.
export interface Latency {
  runs: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q, lo = Math.floor(at), hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

// Cycles over the inputs after a few warm-up invokes; onProgress sees each run.
export function measureLatency(invoke: (x: Int8Array) => unknown, inputs: Int8Array[], runs: number, onProgress?: (done: number) => void, warmup = 5): Latency {
  for (let i = 0; i < warmup; i++) invoke(inputs[i % inputs.length]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    invoke(inputs[i % inputs.length]);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    onProgress?.(i + 1);
  }
  times.sort((a, b) => a - b);
  return { runs, medianMs: quantile(times, 0.5), p10Ms: quantile(times, 0.1), p90Ms: quantile(times, 0.9), minMs: times[0], maxMs: times[times.length - 1] };
}
