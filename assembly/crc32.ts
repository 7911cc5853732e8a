// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise so that it
// needs no table in memory. It runs once per model load.
export function crc32(ptr: usize, length: usize): u32 {
  let crc: u32 = 0xffffffff;
  for (let i: usize = 0; i < length; i++) {
    crc ^= <u32>load<u8>(ptr + i);
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}
