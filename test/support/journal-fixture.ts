import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import type { Caller } from '../../src/app/context.js';
import { createPayment } from '../../src/app/create-payment.js';
import { type SourcedRecord, storeRecords } from '../../src/app/journal-source.js';
import { type VerifyOptions, verifyRecords, verifyStore } from '../../src/app/verify-journal.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import {
  type AuditRecord, GENESIS_PREV, type RecordBody, type RecordDraft, bodyOf, recordLine, sealRecord,
} from '../../src/core/audit-record.js';
import type { ChainReport, ProblemKind } from '../../src/core/chain-verifier.js';
import { type TrustedKey, checkpointOrigin, parseCheckpointBody, signCheckpoint } from '../../src/core/checkpoint.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { type SignedHead, headLine, headOfLine } from '../../src/core/signed-head.js';
import {
  type NoteSigner, parseNote, parseVerifierKey, signNote, signerFromPrivateKey, verifierKeyOf,
} from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';
import type { Store } from '../../src/ports/store.js';
import { FAST_GATEWAY_ENV, paymentBody } from './harness.js';

/**
 * A REAL journal for tamper tests: services started in-process, real payments through
 * createPayment, real group commits, real signed checkpoints (every 5 records), then the
 * export as JSONL lines exactly as `paylog export` writes them.
 */
export interface JournalFixtureOptions {
  /** Where the journal lives. Default memory. */
  store?: 'memory' | 'sqlite';
  /** Writers, each with its own stream, sharing one store. Default 1. */
  writers?: number;
  /** Payments each writer makes. Default 3. */
  paymentsPerWriter?: number;
  /** Stop every writer cleanly (journal.stopped + final checkpoint). Default true. */
  stop?: boolean;
  /**
   * The first writer never stops: its lease is made to lapse, and the next writer (which
   * starts afterwards) seals its stream. Implies at least two writers.
   */
  crashFirst?: boolean;
  /** PAYLOG_JOURNAL. Default paylog-local. */
  journal?: string;
}

export interface JournalFixture {
  journal: string;
  config: Config;
  dataDir: string;
  /**
   * The store the writers used. A memory store stays open (and holds what the writers left
   * open); a SQLite store is closed once the export is taken: tamper with copyDatabase().
   */
  store: Store;
  /** The SQLite file (null for memory). */
  dbPath: string | null;
  /** Stream IDs, in start order (as listStreams and the export have them). */
  streams: string[];
  /** The export: one JSON record per line, stream by stream, in seq order, each stream followed by its signed head line when the store has one. */
  lines: string[];
  /** The export's records, parsed (head lines left out). */
  records: AuditRecord[];
  /** The journal's signing key, and it as the only trusted key (no validity window). */
  signer: NoteSigner;
  trusted: TrustedKey[];
  /** Writers that were left running (stop: false, or the crashed one). */
  running: Services[];
  /** A copy of the SQLite file, to tamper with without spoiling the fixture. */
  copyDatabase(): string;
  cleanup(): Promise<void>;
}

/** Cards that take different paths: approved, declined by the gateway, refused before it (Luhn). */
const CARDS = ['4242424242424242', '4000000000000002', '4242424242424241'];
export const PAST_LEASE = '2000-01-01T00:00:00.000Z';

export async function buildJournal(options: JournalFixtureOptions = {}): Promise<JournalFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paylog-journal-fixture-'));
  const kind = options.store ?? 'memory';
  const dbPath = kind === 'sqlite' ? join(dataDir, 'paylog.db') : null;
  const config = loadConfig({}, {
    ...FAST_GATEWAY_ENV,
    PAYLOG_DATA_DIR: dataDir,
    PAYLOG_STORE: dbPath === null ? 'memory:' : `sqlite:${dbPath}`,
    PAYLOG_CHECKPOINT_EVERY: '5',
    PAYLOG_CHECKPOINT_INTERVAL_MS: '0',
    ...(options.journal !== undefined && { PAYLOG_JOURNAL: options.journal }),
  });
  const real = dbPath === null ? createMemoryStore() : openSqliteStore({ path: dbPath });
  // Writers share the store; closing one writer must not close it under the others.
  const shared: Store = { ...real, close: async () => undefined };
  const crashFirst = options.crashFirst ?? false;
  const writers = Math.max(options.writers ?? 1, crashFirst ? 2 : 1);
  const stop = options.stop ?? true;
  const payments = options.paymentsPerWriter ?? 3;

  const streams: string[] = [];
  const running: Services[] = [];
  try {
    for (let w = 0; w < writers; w++) {
      const services = await startServices(config, { role: 'test', store: shared });
      streams.push(services.ctx.writer.streamId);
      for (let i = 0; i < payments; i++) {
        const caller: Caller = { merchantId: 'acme', actor: 'key_fixture', origin: { requestId: `req_w${w}_p${i}`, traceId: null, ip: '127.0.0.1' } };
        const body = paymentBody(CARDS[(w + i) % CARDS.length]) as unknown as PaymentRequest;
        await createPayment(services.ctx, caller, body, `w${w}-p${i}`);
      }
      if (crashFirst && w === 0) {
        // The writer "crashes": it never stops, and its lease lapses. The next writer seals it.
        await shared.journal.renewLease(services.ctx.writer.streamId, PAST_LEASE);
        running.push(services);
      } else if (stop) {
        await services.close();
      } else {
        running.push(services);
      }
    }
    const lines = await exportLines(shared);
    if (dbPath !== null) await real.close();
    const signer = loadSigningKeys(config).current;
    return {
      journal: config.journalName, config, dataDir, store: real, dbPath, streams, lines,
      records: lines.filter((l) => !isHeadLine(l)).map(parseRecord),
      signer,
      trusted: [trustedKeyOf(signer)],
      running,
      copyDatabase() {
        if (dbPath === null) throw new Error('not a SQLite fixture');
        const copy = join(dataDir, `copy-${Math.random().toString(36).slice(2)}.db`);
        copyFileSync(dbPath, copy);
        if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, `${copy}-wal`);
        return copy;
      },
      async cleanup() {
        await real.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await real.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** A store's journal as `paylog export` writes it: every stream in start order, each in seq order, then its head line if any. */
export async function exportLines(store: Store): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of storeRecords(store.journal)) {
    for (const { value } of batch) {
      const head = headOfLine(value);
      lines.push(head ? headLine(head) : recordLine(value as AuditRecord));
    }
  }
  return lines;
}

export const parseRecord = (line: string): AuditRecord => JSON.parse(line) as AuditRecord;

/** Export lines as records: blank lines skipped, an unparseable line passed on as malformed (like fileRecords, minus its skipping of log/metric lines). */
export async function* linesSource(lines: readonly string[]): AsyncGenerator<SourcedRecord[]> {
  for (const [i, text] of lines.entries()) {
    if (text.trim() === '') continue;
    let value: unknown = null;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    yield [{ value, at: { line: i + 1 } }];
  }
}

export function verifyLines(lines: readonly string[], options: VerifyOptions = {}): Promise<ChainReport> {
  return verifyRecords(linesSource(lines), options);
}

/** Opens a SQLite file (e.g. a tampered copy), verifies it as `paylog verify --store` does, and closes it. */
export async function verifySqliteFile(path: string, options: VerifyOptions = {}): Promise<ChainReport> {
  const store = openSqliteStore({ path });
  try {
    return await verifyStore(store.journal, options);
  } finally {
    await store.close();
  }
}

/** Just the stream, seq and kind of each problem, for exact comparisons. */
export function problemsOf(report: ChainReport): { stream: string; seq: number | null; kind: ProblemKind }[] {
  return report.problems.map(({ stream, seq, kind }) => ({ stream, seq, kind }));
}

export function draftOf(record: AuditRecord): RecordDraft {
  const { type, actor, origin, resource, outcome, reason, data } = record;
  return { type, actor, origin, resource, outcome, reason, data };
}

/** The record with some fields changed and its hash recomputed, so it is self-consistent. */
export function reseal(record: AuditRecord, patch: Partial<RecordBody> = {}): AuditRecord {
  const body = { ...bodyOf(record), ...patch };
  return sealRecord(draftOf(body as AuditRecord), { journal: body.journal, stream: body.stream, seq: body.seq, prev: body.prev, ts: body.ts });
}

/**
 * One stream's records with every record from index `from` on renumbered (seq after its
 * predecessor's), relinked (prev = predecessor's hash) and rehashed: the "clever" tamper
 * whose hash chain still links. Checkpoint records keep their signed data.
 */
export function rechain(records: readonly AuditRecord[], from: number): AuditRecord[] {
  const out = records.slice(0, from);
  for (let i = from; i < records.length; i++) {
    const before = out[i - 1];
    out.push(reseal(records[i] as AuditRecord, {
      seq: before ? before.seq + 1 : 1,
      prev: before ? before.hash : '0'.repeat(64),
    }));
  }
  return out;
}

export const streamRecords = (records: readonly AuditRecord[], stream: string): AuditRecord[] => records.filter((r) => r.stream === stream);

/** The export index of a stream's seq. */
export function lineIndex(lines: readonly string[], stream: string, seq: number): number {
  const at = lines.findIndex((line) => {
    const r = parseRecord(line);
    return !isHeadLine(line) && r.stream === stream && r.seq === seq;
  });
  if (at < 0) throw new Error(`no line for ${stream} seq ${seq}`);
  return at;
}

/** The export with one stream's records replaced by these (the stream keeps its place, and its head lines follow them). */
export function replaceStream(lines: readonly string[], stream: string, records: readonly AuditRecord[]): string[] {
  const first = lines.findIndex((l) => streamOfLine(l) === stream);
  const others = lines.filter((l) => streamOfLine(l) !== stream);
  const heads = lines.filter((l) => streamOfLine(l) === stream && isHeadLine(l));
  return [...others.slice(0, first), ...records.map(recordLine), ...heads, ...others.slice(first)];
}

/** The export without a stream's head lines (or every stream's), as an attacker can leave them out. */
export function withoutHeads(lines: readonly string[], stream?: string): string[] {
  return lines.filter((l) => !isHeadLine(l) || (stream !== undefined && streamOfLine(l) !== stream));
}

/** A fresh Ed25519 signer nobody trusts (by default named like the journal's key). */
export function newSigner(name: string): NoteSigner {
  return signerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey);
}

export function trustedKeyOf(signer: NoteSigner, window: { validFrom?: number; validUntil?: number } = {}): TrustedKey {
  return { key: parseVerifierKey(verifierKeyOf(signer)), validFrom: window.validFrom ?? null, validUntil: window.validUntil ?? null };
}

/** The same checkpoint body, signed by other keys. */
export function resignNote(note: string, signers: readonly NoteSigner[]): string {
  return signNote(parseNote(note).text, signers);
}

/** The note with one bit of its (first) signature flipped: same key name and ID, wrong signature. */
export function corruptSignature(note: string): string {
  const { text, signatures } = parseNote(note);
  const sig = signatures[0];
  if (!sig) throw new Error('note has no signature');
  const bytes = Buffer.from(sig.signature);
  bytes[10] = (bytes[10] as number) ^ 0x01;
  return `${text}\n\u2014 ${sig.name} ${Buffer.concat([sig.keyId, bytes]).toString('base64')}\n`;
}

/** The record a writer would append after `head`: the next seq, chained onto its hash. */
export function chainedAfter(head: AuditRecord, draft: RecordDraft, ts = rfc3339(Date.now())): AuditRecord {
  return sealRecord(draft, { journal: head.journal, stream: head.stream, seq: head.seq + 1, prev: head.hash, ts });
}

/**
 * Writes a record straight into a SQLite file's journal table, past every check the store
 * makes (what someone with write access to the file can do). INSERT needs no dropped trigger.
 */
export function insertRawRecord(path: string, record: AuditRecord): void {
  const db = new Database(path);
  try {
    db.prepare('INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(record.stream, record.seq, record.hash, record.resource, record.type, record.ts, recordLine(record));
  } finally {
    db.close();
  }
}

/** The export of a SQLite file, as `paylog export --store sqlite:PATH` writes it. */
export async function exportSqliteFile(path: string): Promise<string[]> {
  const store = openSqliteStore({ path });
  try {
    return await exportLines(store);
  } finally {
    await store.close();
  }
}

/** The same checkpoint body with its signed time set (or removed, with null), signed by these keys. */
export function retimeNote(note: string, time: string | null, signers: readonly NoteSigner[]): string {
  const { time: _old, ...body } = parseCheckpointBody(parseNote(note).text);
  return signCheckpoint(time === null ? body : { ...body, time }, signers);
}

/** Hex RFC 6962 root of the first `size` records of one stream (in seq order). */
export function rootOf(records: readonly AuditRecord[], size: number): string {
  const frontier = new MerkleFrontier();
  for (const record of records.slice(0, size)) frontier.push(Buffer.from(record.hash, 'hex'));
  return frontier.root().toString('hex');
}

/**
 * A signed head over a stream's first `size` records (in seq order), as a writer signs one with
 * a commit: by default at the time of the last of them, under the origin of their journal and stream.
 */
export function signHead(
  records: readonly AuditRecord[], size: number, signers: readonly NoteSigner[],
  options: { time?: string | null; origin?: string } = {},
): SignedHead {
  const first = records[0] as AuditRecord;
  const root = rootOf(records, size);
  const time = options.time === undefined ? (records[size - 1] ?? first).ts : options.time;
  const origin = options.origin ?? checkpointOrigin(first.journal, first.stream);
  const note = signCheckpoint({ origin, size, root, ...(time !== null && { time }) }, signers);
  return { stream: first.stream, size, root, note };
}

/** A journal as a writer that signs every commit writes it. */
export interface SignedJournal {
  /** Every record, in the order given, relinked after its notes were re-signed. */
  records: AuditRecord[];
  /** One signed head per commit, stream by stream. */
  heads: SignedHead[];
  /** As the audit mirror writes it: each commit's records, then its head line. */
  mirrorLines: string[];
  /** As `paylog export` writes it: each stream's records, then its newest head line. */
  exportLines: string[];
}

/**
 * Re-signs a journal the way a writer that signs every commit does, whatever the writer that
 * made it did: every checkpoint note (journal.checkpoint records, seals) carries its signing time,
 * the chain is relinked over the changed records, and every commit (a run of a stream's records
 * with the same ts: one group commit) gets a signed head. A writer signs at or after the newest
 * record it covers, so a note's time is the newest ts so far in its stream.
 */
export function signAsWriter(records: readonly AuditRecord[], signers: readonly NoteSigner[]): SignedJournal {
  const byStream = new Map<string, AuditRecord[]>();
  for (const r of records) byStream.set(r.stream, [...(byStream.get(r.stream) ?? []), r]);
  const rebuilt = new Map<string, AuditRecord[]>();
  const rebuild = (stream: string): AuditRecord[] => {
    const done = rebuilt.get(stream);
    if (done) return done;
    const out: AuditRecord[] = [];
    let newest = '';
    for (const r of byStream.get(stream) ?? []) {
      if (r.ts > newest) newest = r.ts;
      let data = r.data;
      if (r.type === 'journal.checkpoint') {
        const size = out.length;
        const root = rootOf(out, size);
        data = { ...r.data, size, root, note: signCheckpoint({ origin: checkpointOrigin(r.journal, stream), size, root, time: newest }, signers) };
      } else if (r.type === 'journal.sealed') {
        const sealed = r.data as { stream: string; size: number };
        const root = rootOf(rebuild(sealed.stream), sealed.size);
        data = { ...r.data, root, note: signCheckpoint({ origin: checkpointOrigin(r.journal, sealed.stream), size: sealed.size, root, time: newest }, signers) };
      }
      const before = out[out.length - 1];
      out.push(sealRecord(draftOf({ ...r, data }), { journal: r.journal, stream, seq: r.seq, prev: before ? before.hash : GENESIS_PREV, ts: r.ts }));
    }
    rebuilt.set(stream, out);
    return out;
  };
  const heads: SignedHead[] = [];
  const mirrorLines: string[] = [];
  const exportLines: string[] = [];
  for (const stream of byStream.keys()) {
    const own = rebuild(stream);
    let newest = '';
    own.forEach((record, i) => {
      if (record.ts > newest) newest = record.ts;
      mirrorLines.push(recordLine(record));
      exportLines.push(recordLine(record));
      if (own[i + 1]?.ts === record.ts) return; // the commit goes on
      const head = signHead(own, i + 1, signers, { time: newest });
      heads.push(head);
      mirrorLines.push(headLine(head));
    });
    const last = heads[heads.length - 1];
    if (last && last.stream === stream) exportLines.push(headLine(last));
  }
  return { records: [...byStream.keys()].flatMap((s) => rebuilt.get(s) as AuditRecord[]), heads, mirrorLines, exportLines };
}

/** A line's stream: a record's, or a head line's. */
export function streamOfLine(line: string): string {
  const value = JSON.parse(line) as { stream?: string; head?: { stream: string } };
  return value.head?.stream ?? (value.stream as string);
}

export const isHeadLine = (line: string): boolean => (JSON.parse(line) as { head?: unknown }).head !== undefined;
