// Linear memory layout: [static data][model bytes][arena]. Memory grows only
// while a model loads; nothing grows or allocates while it runs.

const PAGE_BYTES: usize = 65536;

@inline
export function alignUp(value: usize, alignment: usize): usize {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Where the host should copy a model: just past the static data.
export function modelBase(): usize {
  return alignUp(__heap_base, 16);
}

// Makes sure linear memory reaches `end` bytes; false when it cannot.
export function ensureMemory(end: u64): bool {
  const have = <u64>memory.size() * <u64>PAGE_BYTES;
  if (end <= have) return true;
  if (end > 0xffff0000) return false;
  const pages = <i32>((end - have + <u64>PAGE_BYTES - 1) / <u64>PAGE_BYTES);
  return memory.grow(pages) >= 0;
}

// The activation arena starts after the model, 16-aligned.
export function arenaBaseAfter(modelPtr: usize, modelBytes: usize): usize {
  return alignUp(modelPtr + modelBytes, 16);
}
