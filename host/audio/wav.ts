// A WAV reader for the audio front ends: RIFF/WAVE with 16-bit PCM, any
// channel count (channel 0 is used, as the MLPerf Tiny scripts do).
import { fail } from "../errors";

export interface Wav {
  sampleRate: number;
  channels: number;
  samples: Int16Array; // channel 0
}

export function readWav(bytes: Uint8Array): Wav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") fail("BAD_INPUT", "not a WAV file (no RIFF/WAVE header)");
  let format: { sampleRate: number; channels: number; bits: number; encoding: number } | null = null;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (body + size > bytes.length && id !== "data") fail("BAD_INPUT", `WAV chunk "${id}" runs past the end of the file`);
    if (id === "fmt ") {
      if (size < 16) fail("BAD_INPUT", "WAV format chunk is too short");
      format = { encoding: view.getUint16(body, true), channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === "data") {
      if (!format) fail("BAD_INPUT", "WAV data chunk comes before the format chunk");
      // WAVE_FORMAT_PCM (1), or WAVE_FORMAT_EXTENSIBLE (0xFFFE) carrying PCM.
      if ((format.encoding !== 1 && format.encoding !== 0xfffe) || format.bits !== 16) fail("BAD_INPUT", `WAV must be 16-bit PCM (format ${format.encoding}, ${format.bits} bits)`);
      if (format.channels < 1) fail("BAD_INPUT", "WAV has no channels");
      const frameBytes = 2 * format.channels;
      const available = Math.min(size, bytes.length - body); // tolerate a data size past EOF
      const count = Math.floor(available / frameBytes);
      const samples = new Int16Array(count);
      for (let i = 0; i < count; i++) samples[i] = view.getInt16(body + i * frameBytes, true);
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    at = body + size + (size & 1);
  }
  return fail("BAD_INPUT", "WAV file has no data chunk");
}
