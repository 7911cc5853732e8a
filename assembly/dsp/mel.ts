// Triangular Mel filterbanks built like tf.signal.linear_to_mel_weight_matrix
// (float32, HTK Mel scale, DC bin excluded), stored sparsely: for each band
// its first spectrum bin, its bin count and its weights.

// Table layout from the bank's base: first bin i32[bands], count i32[bands],
// weight index i32[bands], then f32 weights (each bin feeds at most two bands).
export function melBankBytes(bands: i32, spectrumBins: i32): i32 {
  return bands * 12 + 2 * spectrumBins * 4;
}

@inline
function hertzToMel(hz: f32): f32 {
  return <f32>1127.0 * Mathf.log(<f32>1.0 + hz / <f32>700.0);
}

export function melBankInit(bank: usize, bands: i32, spectrumBins: i32, sampleRate: f32, lowerHz: f32, upperHz: f32): void {
  const weights = bank + <usize>(bands * 12);
  const lowMel = hertzToMel(lowerHz), highMel = hertzToMel(upperHz);
  // tf.linspace(low, high, bands + 2): start + step * i, the last one exact.
  const edgeStep = (highMel - lowMel) / <f32>(bands + 1);
  const binStep = (sampleRate / 2) / <f32>(spectrumBins - 1);
  let w = 0;
  for (let m = 0; m < bands; m++) {
    const lower = lowMel + edgeStep * <f32>m;
    const center = lowMel + edgeStep * <f32>(m + 1);
    const upper = m + 2 == bands + 1 ? highMel : lowMel + edgeStep * <f32>(m + 2);
    let first = -1, count = 0;
    store<i32>(bank + <usize>((2 * bands + m) << 2), w);
    for (let k = 1; k < spectrumBins; k++) {
      const mel = hertzToMel(binStep * <f32>k);
      const weight = max(<f32>0, min((mel - lower) / (center - lower), (upper - mel) / (upper - center)));
      if (weight > 0) {
        if (first < 0) first = k;
        store<f32>(weights + <usize>(w << 2), weight);
        w++;
        count++;
      }
    }
    store<i32>(bank + <usize>(m << 2), first < 0 ? 0 : first);
    store<i32>(bank + <usize>((bands + m) << 2), count);
  }
}

// Band energies: out[m] = sum over bins of spectrum[k] * weight, in float32.
export function melBankApply(bank: usize, bands: i32, spectrum: usize, out: usize): void {
  const weights = bank + <usize>(bands * 12);
  for (let m = 0; m < bands; m++) {
    const first = load<i32>(bank + <usize>(m << 2));
    const count = load<i32>(bank + <usize>((bands + m) << 2));
    const w = weights + <usize>(load<i32>(bank + <usize>((2 * bands + m) << 2)) << 2);
    let energy: f32 = 0;
    for (let j = 0; j < count; j++) energy += load<f32>(spectrum + <usize>((first + j) << 2)) * load<f32>(w + <usize>(j << 2));
    store<f32>(out + <usize>(m << 2), energy);
  }
}
