import type { Problem } from './chain-report.js';
import type { MerkleFrontier } from './merkle.js';
import type { PinSource, PinnedRoots } from './pinned-roots.js';
import type { RecentFrontiers } from './recent-frontiers.js';
import type { RecentHashes } from './recent-hashes.js';

/* What ChainVerifier keeps per stream while the records go past. */

export type SignatureKind = 'checkpoint' | 'seal' | 'head';

/** A signature over a stream's first `size` records, to be matched when the stream gets there. */
export interface ExpectedSignature {
  size: number;
  root: string;
  /** What to call it in a problem. */
  source: string;
  /** A seal (another writer's checkpoint of a crashed stream) lets nothing follow it. */
  kind: SignatureKind;
  /** Its checked signed time, when the note has one. */
  timeMs: number | null;
  /** Where a problem with it is reported. */
  seq: number | null;
}

/** One stream's verification so far: its chain, its tree, its signatures and its times. */
export interface StreamState {
  stream: string;
  expectedSeq: number;
  prevHash: string;
  records: number;
  lastHash: string;
  stopped: boolean;
  seen: RecentHashes;
  missing: Map<number, Problem>;
  problems: Problem[];
  frontier: MerkleFrontier;
  /** The tree at its last sizes, for signatures that arrive after later records. */
  recent: RecentFrontiers;
  /** Its first record is not seq 1 (a `--since` export): roots cannot be rebuilt, so are not checked. */
  partial: boolean;
  checkpoints: number;
  /** Records 1 … covered are covered by a valid signature whose root they reproduce. */
  covered: number;
  /** Seq of the last valid journal.checkpoint record, counted as covered unless requireCoverage. */
  checkpointRecordSeq: number;
  /** Record times, for the checks without signatures (ms). */
  lastCheckpointMs: number | null;
  firstMs: number | null;
  /** The previous record's time, and the newest record time so far. */
  lastMs: number | null;
  lastTs: string;
  maxMs: number | null;
  /** The first record dated beyond the time of verification, and how many are. */
  future: { seq: number; ts: string } | null;
  futureCount: number;
  /** The newest signed time of a valid signature of this stream. */
  signedMs: number | null;
  sealed: boolean;
  mustStop: boolean;
  stoppedSeq: number | null;
  afterStop: { seq: number; count: number } | null;
  afterSealSeq: number | null;
  /** The last record is a journal.checkpoint (valid or not: an invalid one is reported as such). */
  lastIsCheckpoint: boolean;
  /** Signatures waiting for the stream to reach their size, by size. */
  expected: Map<number, ExpectedSignature[]>;
  expectedCount: number;
  /** Roots from the journal tree's leaves and from published checkpoints, matched as the records go past. */
  pins: PinnedRoots | null;
  /** The size of the next pin to match (Infinity: none): one comparison per record. */
  pinNext: number;
  /** The first root of each source the stream contradicts, and how many more it does. */
  pinMismatches: Map<PinSource, { problem: Problem; more: number }>;
}
