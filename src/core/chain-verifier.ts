import { type AuditRecord, GENESIS_PREV, RECORD_TYPES, recordLeafHash } from './audit-record.js';
import { type TrustedKey, checkCheckpoint, checkpointOrigin } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';

export type ProblemKind =
  | 'malformed'      // not a record at all
  | 'modified'       // the record's hash does not match its content
  | 'chain_broken'   // prev does not match the hash of the record before it
  | 'missing'        // a seq never arrived (record deleted)
  | 'reordered'      // a seq arrived after a later one
  | 'duplicate'      // the same seq twice (record inserted or copied)
  | 'misplaced'      // stored under another stream or seq than it says (copied from elsewhere)
  | 'wrong_journal'   // belongs to another journal
  | 'checkpoint_invalid'   // forged, unknown or expired key, malformed, wrong origin
  | 'checkpoint_mismatch'  // a validly signed checkpoint whose root the records do not reproduce (history rewritten)
  | 'truncated'            // the stream is shorter than a checkpoint of it
  | 'appended_after_seal'  // records after the checkpoint that sealed a crashed writer's stream
  | 'stale';               // an open stream whose newest checkpoint is older than allowed

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
  /** Records after the last checkpoint: valid links, but not yet covered by a signature. */
  uncovered: number;
  valid: boolean;
}

export interface ChainReport {
  streams: StreamSummary[];
  records: number;
  checkpoints: number;
  problems: Problem[];
}

export interface VerifierOptions {
  /** The journal name records must carry; when absent, the first record's. */
  journal?: string;
  /** Keys trusted for checkpoints. Without them, checkpoint signatures are not checked. */
  trusted?: readonly TrustedKey[];
  /** "Now" for the freshness check. */
  nowMs?: number;
  /** An open stream whose newest checkpoint is older than this is reported stale. */
  maxCheckpointAgeMs?: number;
}

interface ExpectedCheckpoint {
  size: number;
  root: string;
  /** What to call it in a problem. */
  source: string;
  /** A seal (another writer's checkpoint of a crashed stream): nothing may follow it. */
  seal: boolean;
}

/** Where a record was found, when the container says (a store row's key, an export's line). */
export interface Location {
  stream?: string;
  seq?: number;
  line?: number;
}

interface StreamState {
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
  checkpoints: number;
  /** Records covered by a verified signature (a checkpoint record covers itself as well). */
  covered: number;
  lastCheckpointMs: number | null;
  firstMs: number | null;
  sealed: boolean;
  mustStop: boolean;
  /** The last record is a journal.checkpoint (valid or not: an invalid one is reported as such). */
  lastIsCheckpoint: boolean;
  expected: ExpectedCheckpoint[];
}

/** Bounds what one stream's verification holds in memory, whatever the journal's size. */
const MISSING_TRACKED_MAX = 10_000;
const SEEN_HASHES_MAX = 10_000;

/**
 * The hashes of recently seen seqs (to tell a duplicate from a different record claiming the
 * same seq), in a ring indexed by seq. A Map trimmed by deleting its oldest entry did the same,
 * but its iterator walked over every deleted slot: a third of verify's time.
 */
class RecentHashes {
  private readonly seqs: number[];
  private readonly hashes: string[];

  constructor(private readonly capacity: number) {
    this.seqs = new Array<number>(capacity).fill(0);
    this.hashes = new Array<string>(capacity).fill('');
  }

  get(seq: number): string | undefined {
    const slot = seq % this.capacity;
    return this.seqs[slot] === seq ? this.hashes[slot] : undefined;
  }

  set(seq: number, hash: string): void {
    const slot = seq % this.capacity;
    this.seqs[slot] = seq;
    this.hashes[slot] = hash;
  }
}
const HEX64 = /^[0-9a-f]{64}$/;
const KNOWN_TYPES: ReadonlySet<string> = new Set(RECORD_TYPES);

/**
 * Checks hash chains record by record, in one pass with bounded memory per stream:
 * hash recomputation, prev links, seq continuity, stream and journal consistency.
 * Records of several streams may arrive interleaved.
 */
export class ChainVerifier {
  private readonly streams = new Map<string, StreamState>();
  private readonly loose: Problem[] = [];
  private total = 0;
  private journal: string | undefined;
  private readonly options: VerifierOptions;

  constructor(options: string | VerifierOptions = {}) {
    this.options = typeof options === 'string' ? { journal: options } : options;
    this.journal = this.options.journal;
  }

  /**
   * A checkpoint the store holds for a stream (or a seal another writer made): the stream
   * must reach its size and reproduce its root. Checked as the records stream past.
   */
  expectCheckpoint(stream: string, checkpoint: { size: number; root: string; note: string; createdAt: string }, seal = false): void {
    const state = this.stateOf(stream);
    const source = seal ? 'sealing checkpoint' : `stored checkpoint of size ${checkpoint.size}`;
    if (!this.checkNote(state, null, checkpoint.note, checkpoint.size, checkpoint.root, Date.parse(checkpoint.createdAt), source)) return;
    state.expected.push({ size: checkpoint.size, root: checkpoint.root, source, seal });
    if (seal) state.sealed = true;
  }

  add(value: unknown, at: Location = {}): void {
    this.total++;
    const record = asRecord(value);
    if (!record) {
      this.loose.push({
        stream: at.stream ?? '?',
        seq: at.seq ?? null,
        kind: 'malformed',
        message: at.line ? `line ${at.line} is not an audit record` : 'not an audit record',
      });
      return;
    }
    this.journal ??= record.journal;
    const state = this.stateOf(at.stream ?? record.stream);
    const problem = (kind: ProblemKind, message: string, seq: number | null = record.seq): void => {
      state.problems.push({ stream: state.stream, seq, kind, message });
    };

    if (this.journal !== undefined && record.journal !== this.journal) {
      problem('wrong_journal', `record belongs to journal "${record.journal}", not "${this.journal}"`);
    }
    if ((at.stream !== undefined && at.stream !== record.stream) || (at.seq !== undefined && at.seq !== record.seq)) {
      problem('misplaced', `record says ${record.stream} seq ${record.seq} but is stored at ${at.stream ?? record.stream} seq ${at.seq ?? record.seq}`, at.seq ?? record.seq);
      return;
    }
    const recomputed = recordLeafHash(record);
    const hashOk = recomputed === record.hash;
    if (!hashOk) problem('modified', 'content does not match its hash');

    const earlier = state.seen.get(record.seq);
    if (earlier !== undefined || record.seq < state.expectedSeq) {
      const pending = state.missing.get(record.seq);
      if (pending) {
        state.missing.delete(record.seq);
        problem('reordered', `seq ${record.seq} arrived after seq ${state.expectedSeq - 1}`);
      } else {
        problem('duplicate', earlier === record.hash ? `seq ${record.seq} appears twice` : `a second, different record claims seq ${record.seq}`);
      }
      return;
    }
    if (record.seq > state.expectedSeq) {
      for (let seq = state.expectedSeq; seq < record.seq; seq++) {
        if (state.missing.size >= MISSING_TRACKED_MAX) break;
        state.missing.set(seq, { stream: state.stream, seq, kind: 'missing', message: `seq ${seq} is missing` });
      }
      if (record.seq - state.expectedSeq > MISSING_TRACKED_MAX) {
        problem('missing', `seqs ${state.expectedSeq}–${record.seq - 1} are missing`, state.expectedSeq);
      }
    } else {
      const expectedPrev = record.seq === 1 ? GENESIS_PREV : state.prevHash;
      if (record.prev !== expectedPrev) {
        problem('chain_broken', record.seq === 1 ? 'first record does not start the chain' : `prev does not match the hash of seq ${record.seq - 1}`);
      }
    }
    if (record.seq === 1 && record.type !== 'journal.started') problem('chain_broken', 'stream does not begin with journal.started');

    this.beforeLeaf(state, record);
    // Follow the record's own claimed hash so one altered record is reported once, not again at its successor.
    state.frontier.push(Buffer.from(record.hash, 'hex'));
    state.lastIsCheckpoint = record.type === 'journal.checkpoint';
    state.firstMs ??= Date.parse(record.ts);
    state.prevHash = record.hash;
    state.lastHash = record.hash;
    state.expectedSeq = record.seq + 1;
    state.records++;
    if (record.type === 'journal.stopped') state.stopped = true;
    state.seen.set(record.seq, record.hash);
  }

  finish(): ChainReport {
    const problems: Problem[] = [...this.loose];
    const streams: StreamSummary[] = [];
    let checkpoints = 0;
    for (const state of this.streams.values()) {
      this.checkExpected(state, true);
      this.checkFinalCheckpoint(state);
      this.checkFreshness(state);
      const own = [...state.problems, ...state.missing.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      problems.push(...own);
      checkpoints += state.checkpoints;
      streams.push({
        stream: state.stream,
        records: state.records,
        lastSeq: state.expectedSeq - 1,
        lastHash: state.lastHash,
        stopped: state.stopped,
        end: state.stopped ? 'stopped' : state.sealed ? 'sealed_after_crash' : 'open',
        checkpoints: state.checkpoints,
        uncovered: Math.max(0, state.records - state.covered),
        valid: own.length === 0,
      });
    }
    return { streams, records: this.total, checkpoints, problems };
  }

  /** Merkle and checkpoint checks, before the record's own leaf joins the tree. */
  private beforeLeaf(state: StreamState, record: AuditRecord): void {
    this.checkExpected(state, false);
    const data = record.data as Record<string, unknown>;
    if (record.type === 'journal.checkpoint') {
      const size = data.size;
      const root = data.root;
      const note = data.note;
      if (typeof size !== 'number' || typeof root !== 'string' || typeof note !== 'string') {
        this.problemAt(state, record.seq, 'checkpoint_invalid', 'checkpoint record lacks size, root or note');
        return;
      }
      if (size !== state.frontier.size) {
        this.problemAt(state, record.seq, 'checkpoint_mismatch', `checkpoint claims ${size} records before it, the stream has ${state.frontier.size}`);
        return;
      }
      if (!this.checkNote(state, record.seq, note, size, root, Date.parse(record.ts), 'checkpoint')) return;
      if (root !== state.frontier.root().toString('hex')) {
        this.problemAt(state, record.seq, 'checkpoint_mismatch', `signed root of the first ${size} records does not match them`);
        return;
      }
      state.checkpoints++;
      // The checkpoint record itself is covered too: it carries the signature.
      state.covered = size + 1;
      state.lastCheckpointMs = Date.parse(record.ts);
    } else if (record.type === 'journal.sealed' && typeof data.stream === 'string' && typeof data.size === 'number' && typeof data.root === 'string' && typeof data.note === 'string') {
      this.expectCheckpoint(data.stream, { size: data.size, root: data.root, note: data.note, createdAt: record.ts }, true);
    }
  }

  /** Verifies a note's signature and that it says what the record or store says. */
  private checkNote(state: StreamState, seq: number | null, note: string, size: number, root: string, atMs: number, what: string): boolean {
    if (!this.options.trusted || this.journal === undefined) return true;
    const check = checkCheckpoint(note, this.options.trusted, checkpointOrigin(this.journal, state.stream), atMs);
    if (!check.ok) {
      this.problemAt(state, seq, 'checkpoint_invalid', `${what}: ${check.reason.replace(/_/g, ' ')} — ${check.message}`);
      return false;
    }
    if (check.body.size !== size || check.body.root !== root) {
      this.problemAt(state, seq, 'checkpoint_invalid', `${what}: the signed note says size ${check.body.size}, not ${size}, or another root`);
      return false;
    }
    return true;
  }

  /** Expected checkpoints whose size the stream has reached (or, at the end, never reached). */
  private checkExpected(state: StreamState, atEnd: boolean): void {
    if (state.expected.length === 0) return; // the usual case, once per record
    const size = state.frontier.size;
    state.expected = state.expected.filter((cp) => {
      if (cp.size === size) {
        if (state.frontier.root().toString('hex') !== cp.root) {
          this.problemAt(state, cp.size || null, 'checkpoint_mismatch', `${cp.source}: the first ${cp.size} records do not reproduce its root`);
        } else {
          if (cp.seal) state.checkpoints++;
          state.covered = Math.max(state.covered, cp.size);
        }
        if (cp.seal && !atEnd) this.problemAt(state, cp.size + 1, 'appended_after_seal', `records follow the ${cp.source} of size ${cp.size}`);
        return false;
      }
      if (!atEnd) return true;
      if (cp.size > size) {
        this.problemAt(state, size + 1, 'truncated', `the stream ends at seq ${size}, but a ${cp.source} covers ${cp.size} records`);
      } else if (cp.seal) {
        this.problemAt(state, cp.size + 1, 'appended_after_seal', `records follow the ${cp.source} of size ${cp.size}`);
      } else {
        this.problemAt(state, null, 'checkpoint_mismatch', `${cp.source} was registered after its records were read`);
      }
      return false;
    });
  }

  /** The store says the stream was stopped cleanly: its end must show it. */
  expectStopped(stream: string): void {
    this.stateOf(stream).mustStop = true;
  }

  /** A writer that stops cleanly seals its stream with a final checkpoint right after journal.stopped. */
  private checkFinalCheckpoint(state: StreamState): void {
    if (state.mustStop && !state.stopped) {
      this.problemAt(state, state.expectedSeq, 'truncated', 'the store records this stream as stopped, but its journal.stopped record is missing');
    }
    if (!this.options.trusted || !state.stopped || state.records === 0) return;
    if (state.covered < state.records && !state.lastIsCheckpoint) {
      this.problemAt(state, state.expectedSeq, 'truncated', 'the stream stopped but its final checkpoint is missing (records removed from its end?)');
    }
  }

  private checkFreshness(state: StreamState): void {
    const maxAge = this.options.maxCheckpointAgeMs;
    if (maxAge === undefined || state.stopped || state.sealed || state.records === 0) return;
    const newest = state.lastCheckpointMs ?? state.firstMs ?? 0;
    const now = this.options.nowMs ?? Date.now();
    if (now - newest > maxAge) {
      this.problemAt(state, null, 'stale', `open stream's newest checkpoint is ${Math.round((now - newest) / 1000)} s old (allowed ${Math.round(maxAge / 1000)} s); its writer may have stopped without sealing it`);
    }
  }

  private problemAt(state: StreamState, seq: number | null, kind: ProblemKind, message: string): void {
    state.problems.push({ stream: state.stream, seq, kind, message });
  }

  private stateOf(stream: string): StreamState {
    let state = this.streams.get(stream);
    if (!state) {
      state = {
        stream, expectedSeq: 1, prevHash: GENESIS_PREV, records: 0, lastHash: GENESIS_PREV,
        stopped: false, seen: new RecentHashes(SEEN_HASHES_MAX), missing: new Map(), problems: [],
        frontier: new MerkleFrontier(), checkpoints: 0, covered: 0, lastCheckpointMs: null, firstMs: null, sealed: false, mustStop: false, lastIsCheckpoint: false, expected: [],
      };
      this.streams.set(stream, state);
    }
    return state;
  }
}

function asRecord(value: unknown): AuditRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok =
    r.v === 1 && typeof r.journal === 'string' && typeof r.stream === 'string' &&
    Number.isSafeInteger(r.seq) && (r.seq as number) >= 1 &&
    typeof r.prev === 'string' && HEX64.test(r.prev) && typeof r.hash === 'string' && HEX64.test(r.hash) &&
    typeof r.ts === 'string' && typeof r.type === 'string' && KNOWN_TYPES.has(r.type) &&
    typeof r.actor === 'string' && typeof r.origin === 'object' && r.origin !== null &&
    typeof r.outcome === 'string' && typeof r.data === 'object' && r.data !== null;
  return ok ? (value as AuditRecord) : null;
}
