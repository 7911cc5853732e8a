// In-place radix-2 complex FFT over separate real and imaginary f32 arrays,
// with a precomputed table of twiddles. Memory comes from the front end's
// region; nothing is allocated here.

// Twiddle table for an n-point FFT: cos then sin of -2*pi*k/n, k < n/2.
// Computed in f64 and rounded once, so every twiddle is the nearest f32.
export function fillTwiddles(table: usize, n: i32): void {
  const half = n >> 1;
  for (let k = 0; k < half; k++) {
    const angle = -2.0 * Math.PI * <f64>k / <f64>n;
    store<f32>(table + <usize>(k << 2), <f32>Math.cos(angle));
    store<f32>(table + <usize>((half + k) << 2), <f32>Math.sin(angle));
  }
}

// Forward FFT of n points (a power of two) in place.
export function fft(re: usize, im: usize, n: i32, twiddles: usize): void {
  // Bit-reversal permutation.
  const bits = 31 - clz<i32>(n);
  for (let i = 0; i < n; i++) {
    const j = <i32>(reverseBits(<u32>i) >>> (32 - bits));
    if (j > i) {
      const pi = <usize>(i << 2), pj = <usize>(j << 2);
      const tr = load<f32>(re + pi), ti = load<f32>(im + pi);
      store<f32>(re + pi, load<f32>(re + pj));
      store<f32>(im + pi, load<f32>(im + pj));
      store<f32>(re + pj, tr);
      store<f32>(im + pj, ti);
    }
  }
  const half = n >> 1;
  for (let size = 2; size <= n; size <<= 1) {
    const span = size >> 1;
    const step = n / size; // twiddle index stride
    for (let start = 0; start < n; start += size) {
      // k = 0: the twiddle is exactly 1 - 0i, so the products would return
      // their operands unchanged (up to the sign of a zero, which the
      // magnitudes square away): skip them. A fifth of all butterflies.
      {
        const a = <usize>(start << 2), b = <usize>((start + span) << 2);
        const br = load<f32>(re + b), bi = load<f32>(im + b);
        const ar = load<f32>(re + a), ai = load<f32>(im + a);
        store<f32>(re + b, ar - br);
        store<f32>(im + b, ai - bi);
        store<f32>(re + a, ar + br);
        store<f32>(im + a, ai + bi);
      }
      for (let k = 1; k < span; k++) {
        const wr = load<f32>(twiddles + <usize>((k * step) << 2));
        const wi = load<f32>(twiddles + <usize>((half + k * step) << 2));
        const a = <usize>((start + k) << 2), b = <usize>((start + k + span) << 2);
        const br = load<f32>(re + b), bi = load<f32>(im + b);
        const tr = br * wr - bi * wi;
        const ti = br * wi + bi * wr;
        const ar = load<f32>(re + a), ai = load<f32>(im + a);
        store<f32>(re + b, ar - tr);
        store<f32>(im + b, ai - ti);
        store<f32>(re + a, ar + tr);
        store<f32>(im + a, ai + ti);
      }
    }
  }
}

@inline
function reverseBits(x: u32): u32 {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}
