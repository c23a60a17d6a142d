import type { JournalLeaf } from '../../../ports/journal-tree-store.js';

/** Leaves appended to a journal tree continue it: indexes from `expectedSize` on, one by one, to the new size. Shared by every store. */
export function checkTreeAppend(expectedSize: number, leaves: readonly JournalLeaf[], nextSize: number): void {
  const ok = leaves.length > 0 && nextSize === expectedSize + leaves.length && leaves.every((leaf, i) => leaf.index === expectedSize + i);
  if (!ok) throw new RangeError(`a journal tree append from size ${expectedSize} must carry leaves ${expectedSize}… and end at their count`);
}

/** The ceiling on cosignature lines kept per journal checkpoint: a few witnesses, each a line or two. */
export const COSIGNATURES_KEPT_MAX = 32;

/** The head's cosignatures with new ones merged in: each line once, at most COSIGNATURES_KEPT_MAX. */
export function mergeCosignatures(kept: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...kept, ...added])].slice(0, COSIGNATURES_KEPT_MAX);
}
