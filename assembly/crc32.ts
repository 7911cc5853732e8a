// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise so that it
// needs no table in memory. It runs once per model load, possibly in chunks:
// start from CRC32_INITIAL, update with each chunk, then crc32Final.
export const CRC32_INITIAL: u32 = 0xffffffff;

export function crc32Update(crc: u32, ptr: usize, length: usize): u32 {
  for (let i: usize = 0; i < length; i++) {
    crc ^= <u32>load<u8>(ptr + i);
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return crc;
}

@inline
export function crc32Final(crc: u32): u32 {
  return ~crc;
}
