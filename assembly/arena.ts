// Linear memory layout: [static data][front-end regions][model bytes][arena]
// (a front end initialized once a model is loaded goes after the model
// instead; see index.ts). Memory grows only while a front end initializes or
// a model loads; nothing grows or allocates while they run.

const PAGE_BYTES: usize = 65536;

@inline
export function alignUp(value: usize, alignment: usize): usize {
  return (value + alignment - 1) & ~(alignment - 1);
}

// End of the optional audio front-end region (0: none reserved).
let frontEndEnd: usize = 0;

// Reserves a front end's region past the static data and any earlier front
// end, ahead of the model, which is then placed after it.
export function reserveFrontEnd(bytes: usize): usize {
  const base = alignUp(max(__heap_base, frontEndEnd), 16);
  if (!ensureMemory(<u64>base + <u64>bytes)) return 0;
  frontEndEnd = base + bytes;
  return base;
}

// Where the host should copy a model: past the static data and the front end.
export function modelBase(): usize {
  return alignUp(max(__heap_base, frontEndEnd), 16);
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
