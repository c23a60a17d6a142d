import type { TrustedKey } from './checkpoint.js';

/**
 * What verification reports, and what it is asked: the shapes a verifier's callers (the CLI,
 * the use cases, tests) see, apart from how ChainVerifier works them out.
 */

export type ProblemKind =
  | 'malformed'      // not a record at all, or a record whose ts is not an RFC 3339 time
  | 'modified'       // the record's hash does not match its content
  | 'chain_broken'   // prev does not match the hash of the record before it
  | 'missing'        // a seq never arrived (record deleted)
  | 'reordered'      // a seq arrived after a later one
  | 'duplicate'      // the same seq twice (record inserted or copied)
  | 'misplaced'      // stored under another stream or seq than it says (copied from elsewhere)
  | 'wrong_journal'   // belongs to another journal
  | 'checkpoint_invalid'   // forged, unknown or expired key, untimed for a windowed key, malformed, wrong origin
  | 'checkpoint_mismatch'  // a validly signed checkpoint or head whose root the records do not reproduce (history rewritten)
  | 'truncated'            // the stream is shorter than a checkpoint or head of it
  | 'appended_after_seal'  // records after the checkpoint that sealed a crashed writer's stream
  | 'appended_after_stop'  // records after journal.stopped, other than the final checkpoint a clean stop writes
  | 'unauthenticated'      // records beyond every valid signature of their stream (with requireCoverage)
  | 'time_invalid'         // a ts going backwards or in the future; a signed time in the future or before what it signs
  | 'stale'                // an open stream whose newest signature is older than allowed
  | 'stream_missing'       // a stream named in the journal tree or in published checkpoints has no records
  | 'forked'               // a root not consistent with a checkpoint published outside the journal
  | 'witness_quorum';      // the journal tree's newest checkpoint lacks the cosignatures required of witnesses

/**
 * The stream named by problems of the journal tree itself (its leaves, head, published and
 * witnessed checkpoints): not a stream ID, so it can never clash with one.
 */
export const JOURNAL_TREE_STREAM = '(journal tree)';

export interface Problem {
  stream: string;
  seq: number | null;
  kind: ProblemKind;
  message: string;
}

export type StreamEnd = 'stopped' | 'sealed_after_crash' | 'open';

export interface StreamSummary {
  stream: string;
  records: number;
  lastSeq: number;
  lastHash: string;
  stopped: boolean;
  /** How the stream ended: cleanly, sealed by another writer after a crash, or not (yet). */
  end: StreamEnd;
  checkpoints: number;
  /** Records after the last checkpoint or head: valid links, but not yet covered by a signature. */
  uncovered: number;
  valid: boolean;
}

export interface ChainReport {
  streams: StreamSummary[];
  records: number;
  checkpoints: number;
  problems: Problem[];
  /** What was checked of the journal tree and of published checkpoints, when anything was. */
  journalTree?: JournalTreeSummary;
}

/** The journal tree as verify found it, and what it was held against. */
export interface JournalTreeSummary {
  /** Leaves read from the store (null: no journal tree to read, e.g. an export). */
  leaves: number | null;
  /** Size of the store's signed head (null: none, e.g. a store written before the journal tree existed). */
  headSize: number | null;
  /** Published checkpoints held against the journal: of the journal tree, and of streams. */
  published: { journal: number; streams: number; unchecked: number };
  /** Cosignatures on the newest journal tree checkpoint, when a quorum was asked for. */
  witnesses: { checkpointSize: number | null; valid: number; required: number } | null;
}

/** How far a clock may be off: a writer's against the verifier's, or another host's against a writer's. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface VerifierOptions {
  /** The journal name records must carry; when absent, the first record's. */
  journal?: string;
  /** Keys trusted for checkpoints and heads. Without them, signatures are not checked. */
  trusted?: readonly TrustedKey[];
  /**
   * The time of verification. Records and signed times may not lie further ahead of it than
   * maxClockSkewMs, and open streams are judged stale against it; without it, neither is checked.
   */
  nowMs?: number;
  /** An open stream whose newest signature (its signed time) is older than this is reported stale. */
  maxCheckpointAgeMs?: number;
  /**
   * How far a time may lie ahead of nowMs, and how much earlier than the newest record it covers
   * a signature's time may be (a seal is signed by another host). Default DEFAULT_MAX_CLOCK_SKEW_MS.
   */
  maxClockSkewMs?: number;
  /**
   * With trusted keys, every record must be covered by a valid signature (a checkpoint, a seal
   * or a signed head), and an open stream's freshness is judged by signed times alone: for
   * journals whose writer signs a head with every commit.
   */
  requireCoverage?: boolean;
  /** What problems call the published checkpoints (e.g. the file's name). Default "published checkpoints". */
  publishedName?: string;
}

/** Where a record was found, when the container says (a store row's key, an export's line). */
export interface Location {
  stream?: string;
  seq?: number;
  line?: number;
}
