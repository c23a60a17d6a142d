import { type AuditRecord, GENESIS_PREV, RECORD_TYPES } from './audit-record.js';
import {
  type ChainReport, DEFAULT_MAX_CLOCK_SKEW_MS, type Location, type Problem, type ProblemKind, type StreamSummary, type VerifierOptions,
} from './chain-report.js';
import { checkCheckpoint, checkpointOrigin } from './checkpoint.js';
import { EMPTY_ROOT, MerkleFrontier } from './merkle.js';
import { type Pin, PinnedRoots } from './pinned-roots.js';
import { parseRfc3339 } from './parse-time.js';
import { RecentFrontiers, type TreeAt } from './recent-frontiers.js';
import { RecentHashes } from './recent-hashes.js';
import type { SignedHead } from './signed-head.js';
import { storedLeafHash } from './stored-leaf-hash.js';
import type { ExpectedSignature, SignatureKind, StreamState } from './stream-state.js';
import { rfc3339 } from './time.js';

export * from './chain-report.js';

/** A verifier's findings by stream (finishByStream): finish is these, flattened. */
export interface ChainParts {
  /** Problems of values that are not records, in the order they came. */
  loose: Problem[];
  streams: { summary: StreamSummary; problems: Problem[] }[];
  records: number;
  checkpoints: number;
}

/** Bounds what one stream's verification holds in memory, whatever the journal's size. */
const MISSING_TRACKED_MAX = 10_000;
const SEEN_HASHES_MAX = 10_000;
/**
 * Sizes back from the newest at which a late signature's root can still be checked: a forged
 * tail up to this long is named from its first record; a longer one from the last signature
 * that could be checked.
 */
export const RECENT_TREES_MAX = 1024;
/**
 * Signatures waiting for records not read yet. A store gives one head and one checkpoint per
 * stream, and a file gives a head after the records it covers; only a hostile file has more.
 */
const EXPECTED_PER_STREAM_MAX = 10_000;
/** A ts quoted in a problem is cut to this many characters: it may be anything. */
const QUOTED_TS_MAX = 40;

const HEX64 = /^[0-9a-f]{64}$/;
const KNOWN_TYPES: ReadonlySet<string> = new Set(RECORD_TYPES);

/** "seq 9", or "3 records from seq 9 on": a run of records reported once. */
const run = (seq: number, count: number): string => (count === 1 ? `seq ${seq}` : `${count.toLocaleString('en-US')} records from seq ${seq} on`);
const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/**
 * Checks hash chains record by record, in one pass with bounded memory per stream:
 * hash recomputation, prev links, seq continuity, stream and journal consistency, record
 * times, and every signature (checkpoint records, seals, stored checkpoints, signed heads)
 * against the trusted keys. Records of several streams may arrive interleaved.
 */
export class ChainVerifier {
  private readonly streams = new Map<string, StreamState>();
  private readonly loose: Problem[] = [];
  private total = 0;
  private journal: string | undefined;
  private readonly options: VerifierOptions;
  private readonly skewMs: number;
  /** Coverage is a pass condition: asked for, and signatures are checked at all. */
  private readonly strict: boolean;

  constructor(options: string | VerifierOptions = {}) {
    this.options = typeof options === 'string' ? { journal: options } : options;
    this.journal = this.options.journal;
    this.skewMs = this.options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.strict = this.options.requireCoverage === true && this.options.trusted !== undefined;
  }

  /**
   * A checkpoint the store holds for a stream (or a seal another writer made): the stream
   * must reach its size and reproduce its root. Checked as the records stream past. Its
   * `createdAt` is not signed, so it is not used.
   */
  expectCheckpoint(stream: string, checkpoint: { size: number; root: string; note: string; createdAt?: string }, seal = false): void {
    const source = seal ? 'sealing checkpoint' : `stored checkpoint of size ${checkpoint.size}`;
    this.expectSigned(stream, checkpoint, seal ? 'seal' : 'checkpoint', source, null);
  }

  /**
   * A signed head of a stream: from the store (its newest, read after the records), or a head
   * line of a file, which follows the records it covers. Each must be validly signed and match
   * the records; the largest gives coverage. One that arrives more than RECENT_TREES_MAX records
   * after its size cannot have its root checked in one pass, so it covers nothing.
   */
  expectHead(stream: string, head: SignedHead, at: Location = {}): void {
    const source = at.line !== undefined ? `signed head on line ${at.line}` : `signed head of size ${head.size}`;
    if (head.stream !== stream) {
      this.problemAt(this.stateOf(stream), head.size || null, 'checkpoint_invalid', `${source}: it is the head of stream ${head.stream}`);
      return;
    }
    this.expectSigned(stream, head, 'head', source, head.size || null);
  }

  /**
   * A root the stream must reproduce that comes from outside it: a leaf of the journal tree
   * (a checkpoint its writer signed, kept in the journal's witnessed log) or a checkpoint
   * published outside the journal. Whoever hands it over has checked its signature and
   * origin. The stream must reach its size (else `truncated`, or `stream_missing` when the
   * journal has none of its records) and reproduce its root (else `checkpoint_mismatch` for a
   * leaf, `forked` for a published checkpoint). Pins prove what was signed; they add no
   * coverage. Give them before the stream's records: one given after its size went by is
   * checked only if that size is among the last RECENT_TREES_MAX.
   */
  expectPinned(stream: string, pin: Pin): void {
    const state = this.stateOf(stream);
    if (state.partial) return;
    if (pin.size < state.frontier.size) {
      const then = state.recent.at(pin.size);
      const root = pin.size === 0 ? EMPTY_ROOT : then?.frontier.root();
      if (root === undefined) this.problemAt(state, pin.size || null, 'checkpoint_mismatch', `${this.pinName(pin)} was given after its records were read`);
      else if (!root.equals(Buffer.from(pin.root, 'hex'))) this.pinMismatch(state, pin);
      return;
    }
    state.pins ??= new PinnedRoots();
    state.pins.add(pin);
    state.pinNext = state.pins.next();
  }

  /** A problem with the stream found outside its records (e.g. a forged published checkpoint of it): its summary shows it. */
  reportProblem(problem: Problem): void {
    this.stateOf(problem.stream).problems.push(problem);
  }

  add(value: unknown, at: Location = {}): void {
    this.total++;
    const record = asRecord(value);
    // Hashed first: a hash equal to the one recomputed is hex already (see hexLinks).
    const recomputed = record && storedLeafHash(record);
    if (!record || !hexLinks(record, recomputed as string, this.streams.get(at.stream ?? record.stream))) {
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
    if (state.records === 0 && record.seq > 1) state.partial = true;
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
    const ms = this.checkTime(state, record);
    this.checkAfterStop(state, record);

    this.beforeLeaf(state, record, ms);
    // Follow the record's own claimed hash so one altered record is reported once, not again at its successor.
    state.frontier.push(Buffer.from(record.hash, 'hex'));
    state.lastIsCheckpoint = record.type === 'journal.checkpoint';
    if (ms !== null) {
      state.firstMs ??= ms;
      state.lastMs = ms;
      state.lastTs = record.ts;
      state.maxMs = Math.max(state.maxMs ?? ms, ms);
    }
    state.recent.set(state.frontier.size, { frontier: state.frontier.clone(), maxMs: state.maxMs });
    state.prevHash = record.hash;
    state.lastHash = record.hash;
    state.expectedSeq = record.seq + 1;
    state.records++;
    if (record.type === 'journal.stopped') {
      state.stopped = true;
      state.stoppedSeq ??= record.seq;
    }
    state.seen.set(record.seq, record.hash);
  }

  finish(): ChainReport {
    const parts = this.finishByStream();
    const problems: Problem[] = [...parts.loose];
    for (const { problems: own } of parts.streams) problems.push(...own);
    return { streams: parts.streams.map((s) => s.summary), records: parts.records, checkpoints: parts.checkpoints, problems };
  }

  /** Streams this verifier has met so far, in the order it met them (the order finish reports them in). */
  get streamCount(): number {
    return this.streams.size;
  }

  /**
   * What finish reports, before it is flattened: the problems of what was not a record, and each
   * stream's summary with its own problems, in the order the streams were met. Verifiers that
   * each took some of a journal's streams are merged from these.
   */
  finishByStream(): ChainParts {
    const streams: ChainParts['streams'] = [];
    let checkpoints = 0;
    for (const state of this.streams.values()) {
      this.checkExpected(state, true);
      this.countPinMismatches(state);
      this.checkFinalCheckpoint(state);
      this.reportTails(state);
      this.checkCoverage(state);
      this.checkFreshness(state);
      const own = [...state.problems, ...state.missing.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      checkpoints += state.checkpoints;
      streams.push({ problems: own, summary: {
        stream: state.stream,
        records: state.records,
        lastSeq: state.expectedSeq - 1,
        lastHash: state.lastHash,
        stopped: state.stopped,
        end: state.stopped ? 'stopped' : state.sealed ? 'sealed_after_crash' : 'open',
        checkpoints: state.checkpoints,
        uncovered: Math.max(0, state.records - this.coveredOf(state)),
        valid: own.length === 0,
      } });
    }
    return { loose: [...this.loose], streams, records: this.total, checkpoints };
  }

  /** The store says the stream was stopped cleanly: its end must show it. */
  expectStopped(stream: string): void {
    this.stateOf(stream).mustStop = true;
  }

  /**
   * A record's time: RFC 3339, never before the previous record's (a writer stamps the
   * previous time when its clock steps back), never beyond the time of verification. Returns
   * its ms, or null when it is not a time.
   */
  private checkTime(state: StreamState, record: AuditRecord): number | null {
    // Records committed together carry the same time: parse each time once per run of them.
    const ms = state.lastMs !== null && record.ts === state.lastTs ? state.lastMs : parseRfc3339(record.ts);
    if (ms === null) {
      this.problemAt(state, record.seq, 'malformed', `ts ${JSON.stringify(record.ts.slice(0, QUOTED_TS_MAX))} is not an RFC 3339 time`);
      return null;
    }
    if (state.lastMs !== null && ms < state.lastMs) {
      this.problemAt(state, record.seq, 'time_invalid', `ts ${record.ts} is earlier than the previous record's, ${state.lastTs}`);
    }
    const now = this.options.nowMs;
    if (now !== undefined && ms > now + this.skewMs) {
      state.future ??= { seq: record.seq, ts: record.ts };
      state.futureCount++;
    }
    return ms;
  }

  /** A clean stop is journal.stopped, then at most the one checkpoint that seals it; nothing else. */
  private checkAfterStop(state: StreamState, record: AuditRecord): void {
    if (state.stoppedSeq === null) return;
    if (record.seq === state.stoppedSeq + 1 && record.type === 'journal.checkpoint') return;
    if (state.afterStop) state.afterStop.count++;
    else state.afterStop = { seq: record.seq, count: 1 };
  }

  /** Merkle and checkpoint checks, before the record's own leaf joins the tree. */
  private beforeLeaf(state: StreamState, record: AuditRecord, ms: number | null): void {
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
      if (!state.partial && size !== state.frontier.size) {
        this.problemAt(state, record.seq, 'checkpoint_mismatch', `checkpoint claims ${size} records before it, the stream has ${state.frontier.size}`);
        return;
      }
      const signed = this.acceptSignature(state, record.seq, note, size, root, 'checkpoint');
      if (!signed || state.partial) return;
      if (root !== state.frontier.root().toString('hex')) {
        this.problemAt(state, record.seq, 'checkpoint_mismatch', `signed root of the first ${size} records does not match them`);
        return;
      }
      if (!this.signedAfterRecords(state, record.seq, signed.timeMs, 'checkpoint', state.maxMs)) return;
      state.checkpoints++;
      state.covered = Math.max(state.covered, size);
      state.checkpointRecordSeq = record.seq;
      state.lastCheckpointMs = ms;
    } else if (record.type === 'journal.sealed' && typeof data.stream === 'string' && typeof data.size === 'number' && typeof data.root === 'string' && typeof data.note === 'string') {
      this.expectCheckpoint(data.stream, { size: data.size, root: data.root, note: data.note }, true);
    }
  }

  /** Checks a signature now, and its root once the stream reaches its size. */
  private expectSigned(stream: string, signed: { size: number; root: string; note: string }, kind: SignatureKind, source: string, seq: number | null): void {
    const state = this.stateOf(stream);
    const accepted = this.acceptSignature(state, seq, signed.note, signed.size, signed.root, source);
    if (!accepted) return;
    if (kind === 'seal') state.sealed = true;
    if (state.partial) return;
    const expected: ExpectedSignature = { size: signed.size, root: signed.root, source, kind, timeMs: accepted.timeMs, seq };
    if (state.records > 0 && signed.size < state.frontier.size) {
      // Its records have gone by: records follow it (a store's head read after a tail nobody signed).
      const then = state.recent.at(signed.size);
      if (then) this.match(state, expected, then, false);
      else if (kind === 'seal') this.appendedAfterSeal(state, expected);
      else if (kind === 'checkpoint') this.problemAt(state, null, 'checkpoint_mismatch', `${source} was registered after its records were read`);
      // A head further back than the trees kept cannot be checked, so it covers nothing.
      return;
    }
    if (state.expectedCount >= EXPECTED_PER_STREAM_MAX) return;
    const atSize = state.expected.get(signed.size);
    if (atSize) atSize.push(expected);
    else state.expected.set(signed.size, [expected]);
    state.expectedCount++;
  }

  /**
   * Verifies a note's signature and that it says what the record, store or head line says.
   * Returns its signed time (null when it has none, or signatures are not checked), or null
   * when it is not a valid signature.
   */
  private acceptSignature(state: StreamState, seq: number | null, note: string, size: number, root: string, what: string): { timeMs: number | null } | null {
    const trusted = this.options.trusted;
    if (!trusted) return { timeMs: null };
    const origin = this.journal === undefined ? null : checkpointOrigin(this.journal, state.stream);
    const check = checkCheckpoint(note, trusted, origin);
    if (!check.ok) {
      this.problemAt(state, seq, 'checkpoint_invalid', `${what}: ${check.reason.replace(/_/g, ' ')} — ${check.message}`);
      return null;
    }
    if (origin === null) {
      // A head line before any record: a trusted signature names the journal as well as a record would.
      if (!check.body.origin.endsWith(`/${state.stream}`)) {
        this.problemAt(state, seq, 'checkpoint_invalid', `${what}: wrong origin — checkpoint is for "${check.body.origin}", not stream ${state.stream}`);
        return null;
      }
      this.journal = check.body.origin.slice(0, -state.stream.length - 1);
    }
    if (check.body.size !== size || check.body.root !== root) {
      this.problemAt(state, seq, 'checkpoint_invalid', `${what}: the signed note says size ${check.body.size}, not ${size}, or another root`);
      return null;
    }
    const now = this.options.nowMs;
    if (check.timeMs !== null && now !== undefined && check.timeMs > now + this.skewMs) {
      this.problemAt(state, seq, 'time_invalid', `${what} was signed at ${check.body.time}, more than ${seconds(this.skewMs)} after the time of verification`);
    } else if (check.timeMs !== null) {
      state.signedMs = Math.max(state.signedMs ?? check.timeMs, check.timeMs);
    }
    return { timeMs: check.timeMs };
  }

  /**
   * A signature is made after the records it covers: a signed time earlier than their newest
   * `ts` (by more than the clock skew allowed between hosts) is a backdated signature, e.g. by
   * a rotated-out key made to look as if it signed inside its validity window.
   */
  private signedAfterRecords(state: StreamState, seq: number | null, timeMs: number | null, what: string, newestMs: number | null): boolean {
    if (timeMs === null || newestMs === null || timeMs + this.skewMs >= newestMs) return true;
    this.problemAt(state, seq, 'time_invalid', `${what} was signed at ${rfc3339(timeMs)}, before the records it covers (dated up to ${rfc3339(newestMs)})`);
    return false;
  }

  /** Expected signatures whose size the stream has reached (or, at the end, never reached). */
  private checkExpected(state: StreamState, atEnd: boolean): void {
    if (state.pinNext <= state.frontier.size || (atEnd && state.pins !== null)) this.checkPins(state, atEnd);
    if (state.expectedCount === 0) return; // the usual case, once per record
    if (state.partial) {
      // Without the stream's first records their roots cannot be rebuilt: `missing` says so.
      state.expected.clear();
      state.expectedCount = 0;
      return;
    }
    const size = state.frontier.size;
    const due = state.expected.get(size);
    if (due) {
      state.expected.delete(size);
      state.expectedCount -= due.length;
      for (const expected of due) this.match(state, expected, { frontier: state.frontier, maxMs: state.maxMs }, atEnd);
    }
    if (!atEnd) return;
    for (const [, waiting] of state.expected) {
      for (const cp of waiting) {
        this.problemAt(state, size + 1, 'truncated', `the stream ends at seq ${size}, but a ${cp.source} covers ${cp.size} records`);
      }
    }
    state.expected.clear();
    state.expectedCount = 0;
  }

  /** Pins at the size the stream has reached; at the end, those it never reached. */
  private checkPins(state: StreamState, atEnd: boolean): void {
    const pins = state.pins;
    if (pins === null) return;
    if (state.partial) {
      // Without the stream's first records its roots cannot be rebuilt: `missing` says so.
      state.pins = null;
      state.pinNext = Number.POSITIVE_INFINITY;
      return;
    }
    // Every size is passed here once (before each leaf joins the tree, and at the end), so pins are never skipped.
    if (pins.next() === state.frontier.size) {
      for (const pin of pins.takeNext(state.frontier.root())) this.pinMismatch(state, pin);
    }
    state.pinNext = pins.next();
    if (!atEnd) return;
    const rest = pins.takeRest();
    state.pins = null;
    state.pinNext = Number.POSITIVE_INFINITY;
    if (rest.length > 0) this.pinsBeyondEnd(state, rest);
  }

  /** The first contradicted pin of each source says how many more there were. */
  private countPinMismatches(state: StreamState): void {
    for (const { problem, more } of state.pinMismatches.values()) {
      if (more === 0) continue;
      const noun = problem.kind === 'forked' ? (more === 1 ? 'published checkpoint' : 'published checkpoints') : (more === 1 ? 'leaf' : 'leaves');
      problem.message += ` (and ${more.toLocaleString('en-US')} more ${noun} of this stream ${more === 1 ? 'does' : 'do'} not either)`;
    }
  }

  /** A pin the stream's records contradict: reported once per source, at the first, with a count of the others. */
  private pinMismatch(state: StreamState, pin: Pin): void {
    const seen = state.pinMismatches.get(pin.source);
    if (seen) {
      seen.more++;
      return;
    }
    const published = pin.source === 'published';
    const problem: Problem = {
      stream: state.stream,
      seq: pin.size || null,
      kind: published ? 'forked' : 'checkpoint_mismatch',
      message: `${this.pinName(pin)}, a checkpoint of ${pin.size.toLocaleString('en-US')} records: the first ${pin.size.toLocaleString('en-US')} records do not reproduce its root${published ? ' (history was rewritten after it was published)' : ''}`,
    };
    state.problems.push(problem);
    state.pinMismatches.set(pin.source, { problem, more: 0 });
  }

  /** Pins larger than the stream: it lost records, or all of them. */
  private pinsBeyondEnd(state: StreamState, rest: Pin[]): void {
    const size = state.frontier.size;
    const largest = (source: Pin['source']): { pin: Pin; count: number } | null => {
      const of = rest.filter((p) => p.source === source);
      const pin = of[of.length - 1];
      return pin ? { pin, count: of.length } : null;
    };
    const found = [largest('leaf'), largest('published')].filter((x): x is { pin: Pin; count: number } => x !== null);
    const say = ({ pin, count }: { pin: Pin; count: number }): string => {
      const others = count > 1 ? ` (${count.toLocaleString('en-US')} ${pin.source === 'leaf' ? 'leaves' : 'published checkpoints'} cover more than it has)` : '';
      return `${this.pinName(pin)} covers ${pin.size.toLocaleString('en-US')} records${others}`;
    };
    if (state.records === 0) {
      this.problemAt(state, null, 'stream_missing', `the journal holds no record of this stream, but ${found.map(say).join(', and ')}`);
      return;
    }
    for (const f of found) this.problemAt(state, size + 1, 'truncated', `the stream ends at seq ${size}, but ${say(f)}`);
  }

  private pinName(pin: Pin): string {
    return pin.source === 'leaf'
      ? `journal tree leaf ${pin.ref}`
      : `the checkpoint published on line ${pin.ref} of ${this.options.publishedName ?? 'the published checkpoints'}`;
  }

  /** The stream's tree at an expected signature's size (`at`) must have its root. */
  private match(state: StreamState, expected: ExpectedSignature, at: TreeAt, atEnd: boolean): void {
    if (at.frontier.root().toString('hex') !== expected.root) {
      this.problemAt(state, expected.size || null, 'checkpoint_mismatch', `${expected.source}: the first ${expected.size} records do not reproduce its root`);
    } else if (this.signedAfterRecords(state, expected.seq ?? (expected.size || null), expected.timeMs, expected.source, at.maxMs)) {
      if (expected.kind === 'seal') state.checkpoints++;
      state.covered = Math.max(state.covered, expected.size);
    }
    if (expected.kind === 'seal' && !atEnd) this.appendedAfterSeal(state, expected);
  }

  private appendedAfterSeal(state: StreamState, seal: ExpectedSignature): void {
    state.afterSealSeq ??= seal.size + 1;
    this.problemAt(state, seal.size + 1, 'appended_after_seal', `records follow the ${seal.source} of size ${seal.size}`);
  }

  /** A writer that stops cleanly seals its stream with a final checkpoint right after journal.stopped. */
  private checkFinalCheckpoint(state: StreamState): void {
    if (state.mustStop && !state.stopped) {
      this.problemAt(state, state.expectedSeq, 'truncated', 'the store records this stream as stopped, but its journal.stopped record is missing');
    }
    if (!this.options.trusted || !state.stopped || state.records === 0 || state.afterStop) return;
    if (state.problems.some((p) => p.kind === 'truncated')) return; // already said, by a head or checkpoint it falls short of
    if (Math.max(state.covered, state.checkpointRecordSeq) < state.records && !state.lastIsCheckpoint) {
      this.problemAt(state, state.expectedSeq, 'truncated', 'the stream stopped but its final checkpoint is missing (records removed from its end?)');
    }
  }

  /** Runs of records reported once, at their first seq: after a stop, or dated in the future. */
  private reportTails(state: StreamState): void {
    if (state.afterStop) {
      const { seq, count } = state.afterStop;
      this.problemAt(state, seq, 'appended_after_stop', `${run(seq, count)} follow${count === 1 ? 's' : ''} journal.stopped at seq ${state.stoppedSeq}`);
    }
    if (state.future) {
      const { seq, ts } = state.future;
      const count = state.futureCount;
      this.problemAt(state, seq, 'time_invalid', `${run(seq, count)} (ts ${ts}) ${count === 1 ? 'is' : 'are'} dated more than ${seconds(this.skewMs)} after the time of verification`);
    }
  }

  /** With requireCoverage, records beyond every valid signature are reported, from the first. */
  private checkCoverage(state: StreamState): void {
    // A partial stream's roots were not checked; records after a stop or seal are reported as such.
    if (!this.strict || state.partial || state.records === 0 || state.afterStop || state.afterSealSeq !== null) return;
    const last = state.expectedSeq - 1;
    if (last <= state.covered) return;
    const first = state.covered + 1;
    const count = last - state.covered;
    const signed = state.covered > 0 ? `valid signatures cover seq 1–${state.covered} only` : 'no valid signature covers any of its records';
    this.problemAt(state, first, 'unauthenticated', `${run(first, count)} ${count === 1 ? 'is' : 'are'} covered by no valid signature: ${signed}`);
  }

  /** Records counted as covered: with requireCoverage only signed ones; else a checkpoint record counts itself. */
  private coveredOf(state: StreamState): number {
    return this.strict ? state.covered : Math.max(state.covered, state.checkpointRecordSeq);
  }

  /**
   * An open stream must have been signed recently. Only a signed time says when: with
   * requireCoverage an open stream without one is stale; without it, a journal whose notes
   * carry no time falls back to its newest checkpoint record's (unsigned) ts.
   */
  private checkFreshness(state: StreamState): void {
    const maxAge = this.options.maxCheckpointAgeMs;
    const now = this.options.nowMs;
    if (maxAge === undefined || now === undefined || state.stopped || state.sealed || state.records === 0) return;
    const allowed = `allowed ${seconds(maxAge)}; its writer may have stopped without sealing it`;
    if (state.signedMs !== null) {
      if (now - state.signedMs > maxAge) this.problemAt(state, null, 'stale', `open stream's newest signature was made ${seconds(now - state.signedMs)} ago (${allowed})`);
      return;
    }
    if (this.strict) {
      this.problemAt(state, null, 'stale', `open stream has no signature with a signed time (${allowed})`);
      return;
    }
    const newest = state.lastCheckpointMs ?? state.firstMs;
    if (newest !== null && now - newest > maxAge) {
      this.problemAt(state, null, 'stale', `open stream's newest checkpoint is ${seconds(now - newest)} old (${allowed})`);
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
        frontier: new MerkleFrontier(), recent: new RecentFrontiers(RECENT_TREES_MAX), partial: false, checkpoints: 0, covered: 0, checkpointRecordSeq: 0,
        lastCheckpointMs: null, firstMs: null, lastMs: null, lastTs: '', maxMs: null, future: null, futureCount: 0, signedMs: null,
        sealed: false, mustStop: false, stoppedSeq: null, afterStop: null, afterSealSeq: null, lastIsCheckpoint: false,
        expected: new Map(), expectedCount: 0, pins: null, pinNext: Number.POSITIVE_INFINITY, pinMismatches: new Map(),
      };
      this.streams.set(stream, state);
    }
    return state;
  }
}

/**
 * A record's prev and hash are 64 lowercase hex digits, or it is not a record. A hash equal to
 * the one recomputed, and a prev equal to the genesis prev or to its stream's last hash (hex,
 * checked when it came), are hex already: the pattern, two per record, runs only on the rest.
 */
function hexLinks(record: AuditRecord, recomputed: string, state: StreamState | undefined): boolean {
  return (record.hash === recomputed || HEX64.test(record.hash))
    && (record.prev === GENESIS_PREV || record.prev === state?.prevHash || HEX64.test(record.prev));
}

/** A value with a record's members, of a record's types (prev and hash: hexLinks). */
function asRecord(value: unknown): AuditRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok =
    r.v === 1 && typeof r.journal === 'string' && typeof r.stream === 'string' &&
    Number.isSafeInteger(r.seq) && (r.seq as number) >= 1 &&
    typeof r.prev === 'string' && typeof r.hash === 'string' &&
    typeof r.ts === 'string' && typeof r.type === 'string' && KNOWN_TYPES.has(r.type) &&
    typeof r.actor === 'string' && typeof r.origin === 'object' && r.origin !== null &&
    typeof r.outcome === 'string' && typeof r.data === 'object' && r.data !== null;
  return ok ? (value as AuditRecord) : null;
}
