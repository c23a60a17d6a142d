/** What a witness holds for one log: the latest checkpoint it cosigned. */
export interface WitnessedCheckpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** The checkpoint note with the log signatures the witness verified (no others). */
  note: string;
  /** The witness's cosignature line(s), each ending with a newline. */
  cosignature: string;
  /** The cosignature's timestamp, POSIX seconds. */
  cosignedAt: number;
}

/** Why a validly signed checkpoint was refused with a 422: each is kept as evidence. */
export type EvidenceKind =
  /** A size-0 checkpoint whose root is not the empty tree's. */
  | 'empty_tree_root'
  /** A consistency proof sent from old size 0, where none can be. */
  | 'proof_from_empty'
  /** A consistency proof that does not lead from the held checkpoint to this one. */
  | 'proof_invalid'
  /** The held size with another root: the log signed two different trees of one size. */
  | 'root_mismatch';

/** A refused, validly signed checkpoint, with what the witness held when it came. */
export interface Evidence {
  origin: string;
  kind: EvidenceKind;
  /** ms since the epoch. */
  receivedAtMs: number;
  /** The whole add-checkpoint body: old size, proof and the log-signed note. */
  request: string;
  /** The checkpoint held then, with its cosignature; null when none was. */
  held: string | null;
}

/** What one atomic step decides: the checkpoint to save, or evidence to keep, or neither. */
export interface WitnessUpdate<T> {
  save?: WitnessedCheckpoint;
  evidence?: Evidence;
  result: T;
}

/**
 * A witness's durable state. `update` reads the held checkpoint of one origin, lets `decide`
 * judge against it, and writes what it returns, all in one transaction that no other update
 * can interleave with: the size a request was checked against is the size it replaces, so two
 * racing requests can never roll the witnessed size back. `decide` must be synchronous.
 */
export interface WitnessStore {
  update<T>(origin: string, decide: (held: WitnessedCheckpoint | null) => WitnessUpdate<T>): T;
  /** The held checkpoint of the log whose origin hashes (SHA-256) to `originHash`. */
  latestByOriginHash(originHash: Buffer): WitnessedCheckpoint | null;
  /** Kept evidence, oldest first, at most `limit` rows. */
  evidence(limit: number): Evidence[];
  close(): void;
}
