import { DEFAULT_MAX_CLOCK_SKEW_MS, type ProblemKind } from './chain-report.js';
import { type TrustedKey, checkCheckpoint, checkpointOrigin } from './checkpoint.js';
import { journalTreeOrigin } from './journal-tree.js';
import { logSignaturesOf } from './witness-quorum.js';

/**
 * Published checkpoints: what an auditor keeps outside the journal (`paylog checkpoints
 * fetch`, on a schedule) and holds it to later (`paylog verify --checkpoints FILE`). One JSON
 * line per checkpoint, appended, never rewritten:
 *
 *   {"v":1,"kind":"journal","fetchedAt":"…","from":"https://…","journal":"paylog-prod","size":42,"root":"<hex>","note":"<signed note + cosignature lines>"}
 *   {"v":1,"kind":"stream","fetchedAt":"…","from":"https://…","journal":"paylog-prod","stream":"str_…","size":1000,"root":"<hex>","note":"<signed note>"}
 *
 * `kind` "journal" is the journal tree's checkpoint (origin `<journal>`) with the witnesses'
 * cosignature lines after the journal's signature, as served; "stream" a stream's latest
 * checkpoint (origin `<journal>/<stream>`). The note is what counts: `size` and `root` must be
 * what it signs. `fetchedAt` (the fetcher's clock) and `from` are for people; no check relies
 * on them.
 */
export const PUBLISHED_VERSION = 1;

export type PublishedKind = 'journal' | 'stream';

export interface PublishedCheckpoint {
  v: typeof PUBLISHED_VERSION;
  kind: PublishedKind;
  /** When it was fetched, RFC 3339 (the fetcher's clock, unsigned). */
  fetchedAt: string;
  /** Where it was fetched from. */
  from: string;
  journal: string;
  /** The stream, for kind "stream". */
  stream?: string;
  size: number;
  /** Hex root. */
  root: string;
  note: string;
}

/** A published checkpoint's line: fixed field order, no newline. */
export function publishedLine(cp: PublishedCheckpoint): string {
  const { v, kind, fetchedAt, from, journal, stream, size, root, note } = cp;
  return JSON.stringify(kind === 'stream' ? { v, kind, fetchedAt, from, journal, stream, size, root, note } : { v, kind, fetchedAt, from, journal, size, root, note });
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A parsed JSON line as a published checkpoint, or why it is not one. */
export function parsePublished(value: unknown): PublishedCheckpoint | { error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  if (o.v !== PUBLISHED_VERSION) return { error: `not a published checkpoint of format ${PUBLISHED_VERSION} ("v" is ${JSON.stringify(o.v)})` };
  if (o.kind !== 'journal' && o.kind !== 'stream') return { error: '"kind" is neither "journal" nor "stream"' };
  if (typeof o.journal !== 'string' || o.journal === '') return { error: '"journal" is missing' };
  if (o.kind === 'stream' && (typeof o.stream !== 'string' || o.stream === '' || o.stream.includes('/'))) return { error: '"stream" is missing or malformed' };
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 0) return { error: '"size" is not a whole number' };
  if (typeof o.root !== 'string' || !HEX64.test(o.root)) return { error: '"root" is not 64 hex digits' };
  if (typeof o.note !== 'string') return { error: '"note" is missing' };
  return {
    v: PUBLISHED_VERSION, kind: o.kind, fetchedAt: typeof o.fetchedAt === 'string' ? o.fetchedAt : '', from: typeof o.from === 'string' ? o.from : '',
    journal: o.journal, ...(o.kind === 'stream' && { stream: o.stream as string }), size: o.size as number, root: o.root, note: o.note,
  };
}

export type PublishedCheck =
  | { ok: true; timeMs: number | null }
  | { ok: false; kind: ProblemKind; message: string };

export interface PublishedCheckOptions {
  journal: string;
  trusted: readonly TrustedKey[];
  nowMs?: number;
  maxClockSkewMs?: number;
}

/**
 * A published checkpoint is evidence only if the journal's key signed it: for this journal,
 * for its own origin (`<journal>` or `<journal>/<stream>`), saying the size and root the line
 * says, signed no later than now (plus the clock skew allowed).
 */
export function checkPublished(cp: PublishedCheckpoint, options: PublishedCheckOptions): PublishedCheck {
  if (cp.journal !== options.journal) return { ok: false, kind: 'wrong_journal', message: `a checkpoint of journal "${cp.journal}", not "${options.journal}"` };
  const origin = cp.kind === 'journal' ? journalTreeOrigin(cp.journal) : checkpointOrigin(cp.journal, cp.stream as string);
  // A journal tree checkpoint carries witnesses' cosignature lines too: only the journal's signature is judged here.
  const check = checkCheckpoint(cp.kind === 'journal' ? logSignaturesOf(cp.note) : cp.note, options.trusted, origin);
  if (!check.ok) return { ok: false, kind: 'checkpoint_invalid', message: `${check.reason.replace(/_/g, ' ')} — ${check.message}` };
  if (check.body.size !== cp.size || check.body.root !== cp.root) {
    return { ok: false, kind: 'checkpoint_invalid', message: `the line says size ${cp.size}, but its note signs size ${check.body.size}${check.body.root === cp.root ? '' : ' and another root'}` };
  }
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (check.timeMs !== null && options.nowMs !== undefined && check.timeMs > options.nowMs + skew) {
    return { ok: false, kind: 'time_invalid', message: `signed at ${check.body.time}, more than ${Math.round(skew / 1000)} s after the time of verification` };
  }
  return { ok: true, timeMs: check.timeMs };
}

/** What `GET /v1/audit/checkpoints` answers: the streams' latest checkpoints, and the journal tree's. */
export interface CheckpointListAnswer {
  data: { stream: string; size: number; root: string; note: string }[];
  journal: { journal: string; size: number; root: string; note: string } | null;
}

/** Reads a `GET /v1/audit/checkpoints` body; throws with what is wrong when it is not one. */
export function checkpointListOf(body: unknown): CheckpointListAnswer {
  const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (!Array.isArray(o.data)) throw new Error('the answer has no "data" list of checkpoints');
  const data = o.data.map((raw: unknown, i) => {
    const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof c.stream !== 'string' || !Number.isSafeInteger(c.size) || typeof c.root !== 'string' || typeof c.note !== 'string') {
      throw new Error(`checkpoint ${i} of "data" lacks stream, size, root or note`);
    }
    return { stream: c.stream, size: c.size as number, root: c.root, note: c.note };
  });
  let journal: CheckpointListAnswer['journal'] = null;
  if (o.journal !== null && o.journal !== undefined) {
    const j = (typeof o.journal === 'object' ? o.journal : {}) as Record<string, unknown>;
    if (typeof j.journal !== 'string' || !Number.isSafeInteger(j.size) || typeof j.root !== 'string' || typeof j.note !== 'string') {
      throw new Error('"journal" lacks journal, size, root or note');
    }
    journal = { journal: j.journal, size: j.size as number, root: j.root, note: j.note };
  }
  return { data, journal };
}

/**
 * The lines to keep for one fetch: the journal tree's checkpoint first (with its
 * cosignatures), then each stream's. A stream checkpoint's journal is read off its note's
 * origin (`<journal>/<stream>`); verify checks it against the signature.
 */
export function publishedOf(answer: CheckpointListAnswer, fetchedAt: string, from: string): PublishedCheckpoint[] {
  const lines: PublishedCheckpoint[] = [];
  if (answer.journal) {
    const { journal, size, root, note } = answer.journal;
    lines.push({ v: PUBLISHED_VERSION, kind: 'journal', fetchedAt, from, journal, size, root, note });
  }
  for (const { stream, size, root, note } of answer.data) {
    const origin = note.slice(0, Math.max(0, note.indexOf('\n')));
    const journal = origin.endsWith(`/${stream}`) ? origin.slice(0, -stream.length - 1) : (answer.journal?.journal ?? '');
    lines.push({ v: PUBLISHED_VERSION, kind: 'stream', fetchedAt, from, journal, stream, size, root, note });
  }
  return lines;
}

/** What identifies a stream checkpoint, to keep each once however often it is fetched. */
export function streamCheckpointKey(cp: { stream?: string; size: number; root: string }): string {
  return `${cp.stream ?? ''} ${cp.size} ${cp.root}`;
}
