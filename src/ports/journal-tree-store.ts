/** One leaf of a journal tree: a stream's signed checkpoint note (see core/journal-tree.ts). */
export interface JournalLeaf {
  /** 0-based position in the tree. */
  index: number;
  note: string;
  /** Hex RFC 6962 leaf hash of the note. */
  hash: string;
}

/** A journal tree as it stands: its newest signed checkpoint, and what it takes to extend it. */
export interface JournalTreeHead {
  journal: string;
  size: number;
  /** Hex root. */
  root: string;
  /** The signed checkpoint note of the tree (origin `<journal>`). */
  note: string;
  /** Hex hashes of the tree's right frontier (MerkleFrontier.hashes()). */
  frontier: string[];
  /** Witnesses' cosignature lines on `note`. */
  cosignatures: string[];
}

/** The journal trees' storage primitives; appends are serialized here, by a condition on the size. */
export interface JournalTreeStore {
  head(journal: string): Promise<JournalTreeHead | null>;
  /**
   * Appends leaves `expectedSize`, `expectedSize + 1`, … and makes `next` the head, in one
   * atomic step, only if the tree still has `expectedSize` leaves; false (nothing written)
   * when another writer appended first.
   */
  append(journal: string, expectedSize: number, leaves: JournalLeaf[], next: Omit<JournalTreeHead, 'journal' | 'cosignatures'>): Promise<boolean>;
  /** Leaves with index ≥ fromIndex, ascending, at most `limit`. */
  readLeaves(journal: string, fromIndex: number, limit: number): Promise<JournalLeaf[]>;
  /**
   * The index of a leaf with this hex leaf hash (a look-up, not evidence: callers read the
   * leaf back before they prove anything with it); null when no leaf has it.
   */
  findLeaf(journal: string, hash: string): Promise<number | null>;
  /** Adds cosignature lines to the head, if it is still the checkpoint of that size; false otherwise. */
  addCosignatures(journal: string, size: number, lines: string[]): Promise<boolean>;
}
