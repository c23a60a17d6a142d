import { type AuditRecord, GENESIS_PREV, RECORD_TYPES, bodyOf, leafHash } from './audit-record.js';

export type ProblemKind =
  | 'malformed'      // not a record at all
  | 'modified'       // the record's hash does not match its content
  | 'chain_broken'   // prev does not match the hash of the record before it
  | 'missing'        // a seq never arrived (record deleted)
  | 'reordered'      // a seq arrived after a later one
  | 'duplicate'      // the same seq twice (record inserted or copied)
  | 'misplaced'      // stored under another stream or seq than it says (copied from elsewhere)
  | 'wrong_journal'; // belongs to another journal

export interface Problem {
  stream: string;
  seq: number | null;
  kind: ProblemKind;
  message: string;
}

export interface StreamSummary {
  stream: string;
  records: number;
  lastSeq: number;
  lastHash: string;
  stopped: boolean;
  valid: boolean;
}

export interface ChainReport {
  streams: StreamSummary[];
  records: number;
  problems: Problem[];
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
  seen: Map<number, string>;
  missing: Map<number, Problem>;
  problems: Problem[];
}

/** Bounds what one stream's verification holds in memory, whatever the journal's size. */
const MISSING_TRACKED_MAX = 10_000;
const SEEN_HASHES_MAX = 10_000;
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

  constructor(private readonly journal?: string) {}

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
    const recomputed = leafHash(bodyOf(record));
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

    // Follow the record's own claimed hash so one altered record is reported once, not again at its successor.
    state.prevHash = record.hash;
    state.lastHash = record.hash;
    state.expectedSeq = record.seq + 1;
    state.records++;
    if (record.type === 'journal.stopped') state.stopped = true;
    if (state.seen.size >= SEEN_HASHES_MAX) state.seen.delete(state.seen.keys().next().value as number);
    state.seen.set(record.seq, record.hash);
  }

  finish(): ChainReport {
    const problems: Problem[] = [...this.loose];
    const streams: StreamSummary[] = [];
    for (const state of this.streams.values()) {
      const own = [...state.problems, ...state.missing.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      problems.push(...own);
      streams.push({
        stream: state.stream,
        records: state.records,
        lastSeq: state.expectedSeq - 1,
        lastHash: state.lastHash,
        stopped: state.stopped,
        valid: own.length === 0,
      });
    }
    return { streams, records: this.total, problems };
  }

  private stateOf(stream: string): StreamState {
    let state = this.streams.get(stream);
    if (!state) {
      state = {
        stream, expectedSeq: 1, prevHash: GENESIS_PREV, records: 0, lastHash: GENESIS_PREV,
        stopped: false, seen: new Map(), missing: new Map(), problems: [],
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
