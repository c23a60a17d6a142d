import { hashChildren } from '../core/merkle.js';
import type { JournalStore } from '../ports/journal-store.js';
import type { JournalTreeStore } from '../ports/journal-tree-store.js';

/** Leaf hashes [lo, hi) of one tree (0-based), all of them. */
export type LeafReader = (tree: string, lo: number, hi: number) => Promise<Buffer[]>;

/** Leaves read per store round trip. */
const READ_PAGE_LEAVES = 1_000;

/** Leaves per cached block: perfect subtrees this size and larger are remembered once computed. */
export const BLOCK_LEAVES = 256;
/** Cached subtree hashes across all streams before the cache starts over. */
export const CACHE_ENTRIES_MAX = 200_000;

/**
 * RFC 6962 subtree hashes of stored append-only trees (streams, or journal trees), for
 * inclusion and consistency proofs. A perfect subtree's hash never changes: those of
 * BLOCK_LEAVES leaves and up are cached, and a proof in a tree of millions of leaves reads a
 * few blocks of leaves, not all of them.
 */
export class SubtreeHashes {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly read: LeafReader) {}

  /** Over the streams' records (a stream's leaf i is its record seq i + 1). */
  static ofStreams(journal: JournalStore): SubtreeHashes {
    return new SubtreeHashes(async (stream, lo, hi) => {
      const hashes = await journal.readHashes(stream, lo + 1, hi - lo);
      if (hashes.length !== hi - lo) throw new Error(`stream ${stream} has fewer than ${hi} records`);
      return hashes.map((h) => Buffer.from(h, 'hex'));
    });
  }

  /** Over the journal trees' leaves (the streams' checkpoints), keyed by journal name. */
  static ofJournalTrees(store: JournalTreeStore): SubtreeHashes {
    return new SubtreeHashes(async (journal, lo, hi) => {
      const hashes: Buffer[] = [];
      while (lo + hashes.length < hi) {
        const from = lo + hashes.length;
        const page = await store.readLeaves(journal, from, Math.min(READ_PAGE_LEAVES, hi - from));
        if (page.length === 0 || page.some((leaf, i) => leaf.index !== from + i)) break;
        hashes.push(...page.map((leaf) => Buffer.from(leaf.hash, 'hex')));
      }
      if (hashes.length !== hi - lo) throw new Error(`the journal tree ${journal} has fewer than ${hi} leaves`);
      return hashes;
    });
  }

  /** MTH of leaves [lo, hi) of a stream (0-based leaf indexes). */
  async range(stream: string, lo: number, hi: number): Promise<Buffer> {
    const n = hi - lo;
    if (n === 1) return (await this.leaves(stream, lo, hi))[0] as Buffer;
    if (isPowerOfTwo(n) && lo % n === 0) return this.perfect(stream, lo, n);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return hashChildren(await this.range(stream, lo, lo + k), await this.range(stream, lo + k, hi));
  }

  /** The audit path (RFC 6962 PATH) of leaf `index` in the tree of the stream's first `size` leaves. */
  async inclusionProof(stream: string, index: number, size: number): Promise<Buffer[]> {
    const path = async (m: number, lo: number, hi: number): Promise<Buffer[]> => {
      if (hi - lo === 1) return [];
      let k = 1;
      while (k * 2 < hi - lo) k *= 2;
      return m < k
        ? [...(await path(m, lo, lo + k)), await this.range(stream, lo + k, hi)]
        : [...(await path(m - k, lo + k, hi)), await this.range(stream, lo, lo + k)];
    };
    return path(index, 0, size);
  }

  /** RFC 6962 PROOF(size1, D[size2]): the tree of the first size1 leaves is a prefix of the first size2. */
  async consistencyProof(stream: string, size1: number, size2: number): Promise<Buffer[]> {
    if (size1 === 0 || size1 === size2) return [];
    const sub = async (m: number, lo: number, hi: number, whole: boolean): Promise<Buffer[]> => {
      if (m === hi - lo) return whole ? [] : [await this.range(stream, lo, hi)];
      let k = 1;
      while (k * 2 < hi - lo) k *= 2;
      return m <= k
        ? [...(await sub(m, lo, lo + k, whole)), await this.range(stream, lo + k, hi)]
        : [...(await sub(m - k, lo + k, hi, false)), await this.range(stream, lo, lo + k)];
    };
    return sub(size1, 0, size2, true);
  }

  private async perfect(stream: string, lo: number, n: number): Promise<Buffer> {
    if (n < BLOCK_LEAVES) return rootOf(await this.leaves(stream, lo, lo + n));
    const key = `${stream}:${lo}:${n}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const hash = n === BLOCK_LEAVES
      ? rootOf(await this.leaves(stream, lo, lo + n))
      : hashChildren(await this.perfect(stream, lo, n / 2), await this.perfect(stream, lo + n / 2, n / 2));
    if (this.cache.size >= CACHE_ENTRIES_MAX) this.cache.clear();
    this.cache.set(key, hash);
    return hash;
  }

  private leaves(stream: string, lo: number, hi: number): Promise<Buffer[]> {
    return this.read(stream, lo, hi);
  }
}

/** MTH of a power-of-two run of leaves, pairwise. */
function rootOf(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i] as Buffer, level[i + 1] as Buffer));
    level = next;
  }
  return level[0] as Buffer;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
