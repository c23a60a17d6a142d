import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/verify-journal.js';
import { type AuditRecord, recordLine, sealRecord } from '../../src/core/audit-record.js';
import type { ChainReport } from '../../src/core/chain-verifier.js';
import type { SignedHead } from '../../src/core/signed-head.js';
import { rfc3339 } from '../../src/core/time.js';
import {
  type JournalFixture, type SignedJournal, buildJournal, chainedAfter, corruptSignature, draftOf, exportLines, exportSqliteFile, insertRawRecord,
  lineIndex, newSigner, parseRecord, problemsOf, rechain, replaceStream, reseal, resignNote, retimeNote, signAsWriter, signHead, streamRecords,
  trustedKeyOf, verifyLines, verifySqliteFile, withoutHeads,
} from '../support/journal-fixture.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

/**
 * SPEC §3 "Verification detects …": one test per tamper, each against a real journal
 * (services, payments, group commits, signed checkpoints), naming the stream, seq and kind.
 */

const MINUTE = 60_000;


const checkpointsOf = (records: readonly AuditRecord[]): AuditRecord[] => records.filter((r) => r.type === 'journal.checkpoint');
/** A payment record between the first two checkpoints, so problems after it are easy to tell apart. */
const paymentSeqOf = (records: readonly AuditRecord[]): number => {
  const r = records.find((x) => x.type.startsWith('payment.') && x.seq >= 3);
  if (!r) throw new Error('no payment record');
  return r.seq;
};
const namesStream = (report: ChainReport, stream: string): boolean => report.problems.some((p) => p.stream === stream);

describe('tamper matrix: an export of a stopped two-writer journal (memory store)', () => {
  let f: JournalFixture;
  let s0: string;
  let s1: string;
  let s0Records: AuditRecord[];

  beforeAll(async () => {
    f = await buildJournal({ writers: 2, paymentsPerWriter: 3 });
    [s0 = '', s1 = ''] = f.streams;
    s0Records = streamRecords(f.records, s0);
  });
  afterAll(async () => f.cleanup());

  const verify = (lines: readonly string[], extra: Parameters<typeof verifyLines>[1] = {}) => verifyLines(lines, { trusted: f.trusted, ...extra });

  it('an untouched export has no problems: every stream stopped, checkpointed, fully covered', async () => {
    const report = await verify(f.lines);
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(f.records.length);
    expect(report.streams.map((s) => s.stream)).toEqual(f.streams);
    for (const s of report.streams) {
      expect(s).toMatchObject({ valid: true, end: 'stopped', stopped: true, uncovered: 0 });
      expect(s.checkpoints).toBe(checkpointsOf(streamRecords(f.records, s.stream)).length);
      expect(s.checkpoints).toBeGreaterThanOrEqual(2);
    }
  });

  it('(a) a modified record → modified at that seq, and nothing else', async () => {
    const seq = paymentSeqOf(s0Records);
    const at = lineIndex(f.lines, s0, seq);
    const lines = [...f.lines];
    const record = parseRecord(lines[at] as string);
    lines[at] = recordLine({ ...record, outcome: record.outcome === 'success' ? 'failure' : 'success' });
    expect(problemsOf(await verify(lines))).toEqual([{ stream: s0, seq, kind: 'modified' }]);
  });

  it('(b) a deleted record → missing at that seq', async () => {
    const seq = paymentSeqOf(s0Records);
    const lines = f.lines.filter((_, i) => i !== lineIndex(f.lines, s0, seq));
    const report = await verify(lines);
    expect(problemsOf(report)[0]).toEqual({ stream: s0, seq, kind: 'missing' });
    expect(problemsOf(report).filter((p) => p.kind === 'missing')).toEqual([{ stream: s0, seq, kind: 'missing' }]);
    expect(namesStream(report, s1)).toBe(false);
  });

  it('(c) two records reordered → reordered at the seq that arrived late', async () => {
    const seq = paymentSeqOf(s0Records);
    const a = lineIndex(f.lines, s0, seq);
    const b = lineIndex(f.lines, s0, seq + 1);
    const lines = [...f.lines];
    [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
    const report = await verify(lines);
    expect(problemsOf(report)[0]).toEqual({ stream: s0, seq, kind: 'reordered' });
    expect(report.problems.some((p) => p.kind === 'missing' || p.kind === 'duplicate')).toBe(false);
    expect(namesStream(report, s1)).toBe(false);
  });

  it('(d) a raw inserted line — a second, well-formed record claiming an existing seq → duplicate at that seq', async () => {
    const seq = paymentSeqOf(s0Records);
    const original = s0Records[seq - 1] as AuditRecord;
    const forged = sealRecord({ ...draftOf(original), data: { ...original.data, amount: 1 } }, {
      journal: original.journal, stream: s0, seq, prev: original.prev, ts: original.ts,
    });
    const at = lineIndex(f.lines, s0, seq);
    const lines = [...f.lines.slice(0, at + 1), recordLine(forged), ...f.lines.slice(at + 1)];
    expect(problemsOf(await verify(lines))).toEqual([{ stream: s0, seq, kind: 'duplicate' }]);
  });

  it('(d) a clever insertion that renumbers and rehashes the rest of the stream → links hold, checkpoint_mismatch at the next checkpoint', async () => {
    const seq = paymentSeqOf(s0Records);
    const template = s0Records[seq - 1] as AuditRecord;
    const inserted = { ...template, data: { ...template.data, amount: 1 } };
    // Insert before `seq`, then renumber, relink and rehash it and everything after it.
    const tampered = rechain([...s0Records.slice(0, seq - 1), inserted, ...s0Records.slice(seq - 1)], seq - 1);
    const nextCheckpoint = tampered.find((r) => r.type === 'journal.checkpoint' && r.seq > seq);
    expect(nextCheckpoint).toBeDefined();
    const report = await verify(replaceStream(f.lines, s0, tampered));
    expect(problemsOf(report)[0]).toEqual({ stream: s0, seq: nextCheckpoint?.seq, kind: 'checkpoint_mismatch' });
    // The hash chain itself is intact: only the signed checkpoints give the insertion away.
    expect(report.problems.filter((p) => !['checkpoint_mismatch', 'truncated'].includes(p.kind))).toEqual([]);
    expect(namesStream(report, s1)).toBe(false);
  });

  it('(d) a record changed and every later hash recomputed → checkpoint_mismatch (root) at the next checkpoint', async () => {
    const seq = paymentSeqOf(s0Records);
    const changed = s0Records.map((r) => (r.seq === seq ? { ...r, data: { ...r.data, amount: 1 } } : r));
    const tampered = rechain(changed, seq - 1);
    const nextCheckpoint = tampered.find((r) => r.type === 'journal.checkpoint' && r.seq > seq) as AuditRecord;
    const report = await verify(replaceStream(f.lines, s0, tampered));
    expect(problemsOf(report)[0]).toEqual({ stream: s0, seq: nextCheckpoint.seq, kind: 'checkpoint_mismatch' });
    expect(report.problems[0]?.message).toMatch(/root/);
    expect(report.problems.filter((p) => !['checkpoint_mismatch', 'truncated'].includes(p.kind))).toEqual([]);
  });

  it('(e) a record copied over another stream\'s record (export) → duplicate in its own stream, missing in the target', async () => {
    const seq = paymentSeqOf(s0Records);
    const lines = [...f.lines];
    lines[lineIndex(f.lines, s1, seq)] = f.lines[lineIndex(f.lines, s0, seq)] as string;
    const report = await verify(lines);
    const problems = problemsOf(report);
    expect(problems.filter((p) => p.stream === s0)).toEqual([{ stream: s0, seq, kind: 'duplicate' }]);
    expect(problems.filter((p) => p.stream === s1)[0]).toEqual({ stream: s1, seq, kind: 'missing' });
  });

  it('(e) a record copied from another journal → wrong_journal at its stream and seq', async () => {
    const other = await buildJournal({ journal: 'paylog-other', paymentsPerWriter: 1 });
    try {
      const foreign = other.records.find((r) => r.type === 'payment.received') as AuditRecord;
      expect(foreign.journal).toBe('paylog-other');
      const at = lineIndex(f.lines, s0, paymentSeqOf(s0Records));
      const lines = [...f.lines.slice(0, at + 1), recordLine(foreign), ...f.lines.slice(at + 1)];
      for (const options of [{}, { journal: f.journal }]) {
        const report = await verify(lines, options);
        expect(problemsOf(report)).toContainEqual({ stream: foreign.stream, seq: foreign.seq, kind: 'wrong_journal' });
        expect(report.problems.every((p) => p.stream === foreign.stream)).toBe(true);
      }
    } finally {
      await other.cleanup();
    }
  });

  describe('(f) forged checkpoints (the final checkpoint of a stopped stream)', () => {
    const withNote = (note: (old: string) => string): { lines: string[]; seq: number } => {
      const last = s0Records[s0Records.length - 1] as AuditRecord;
      expect(last.type).toBe('journal.checkpoint');
      const data = last.data as { note: string };
      // Without s0's head lines, which sign the checkpoint record as it was: only its note is in question here.
      const lines = withoutHeads(f.lines, s0);
      lines[lineIndex(lines, s0, last.seq)] = recordLine(reseal(last, { data: { ...last.data, note: note(data.note) } }));
      return { lines, seq: last.seq };
    };
    const invalidAt = (report: ChainReport, stream: string, seq: number) => report.problems.filter((p) => p.stream === stream && p.seq === seq && p.kind === 'checkpoint_invalid');

    it('re-signed with a key that is not trusted → checkpoint_invalid (unknown key)', async () => {
      const { lines, seq } = withNote((note) => resignNote(note, [newSigner(f.journal)]));
      const report = await verify(lines);
      const found = invalidAt(report, s0, seq);
      expect(found).toHaveLength(1);
      expect(found[0]?.message).toMatch(/unknown key/);
      expect(namesStream(report, s1)).toBe(false);
    });

    it('its signature bytes altered → checkpoint_invalid (forged)', async () => {
      const { lines, seq } = withNote(corruptSignature);
      const found = invalidAt(await verify(lines), s0, seq);
      expect(found).toHaveLength(1);
      expect(found[0]?.message).toMatch(/forged/);
    });

    it('signed by a trusted key after its validity window → checkpoint_invalid (expired key); inside its window it is fine', async () => {
      const old = newSigner(f.journal);
      // Signed when the stream stopped, and says so in the note: that signed time is what the window is judged by.
      const { lines, seq } = withNote((note) => retimeNote(note, (s0Records[s0Records.length - 1] as AuditRecord).ts, [old]));
      const retired = Date.parse((f.records[0] as AuditRecord).ts) - 24 * 60 * MINUTE;
      const found = invalidAt(await verify(lines, { trusted: [...f.trusted, trustedKeyOf(old, { validUntil: retired })] }), s0, seq);
      expect(found).toHaveLength(1);
      expect(found[0]?.message).toMatch(/expired key/);
      // The same note, with the old key trusted without a window, is a valid checkpoint.
      expect((await verify(lines, { trusted: [...f.trusted, trustedKeyOf(old)] })).problems).toEqual([]);
    });

    it('the journal\'s own key trusted only until before the journal began → every checkpoint is expired, by its signed time', async () => {
      const signed = signAsWriter(f.records, [f.signer]);
      const until = Date.parse((f.records[0] as AuditRecord).ts) - 1;
      const report = await verify(signed.records.map(recordLine), { trusted: [trustedKeyOf(f.signer, { validUntil: until })] });
      const expired = report.problems.filter((p) => p.kind === 'checkpoint_invalid' && /expired key/.test(p.message));
      expect(expired.map((p) => ({ stream: p.stream, seq: p.seq }))).toEqual(
        checkpointsOf(signed.records).map((r) => ({ stream: r.stream, seq: r.seq })),
      );
    });

    it('a note without a signed time, under a key with a validity window → checkpoint_invalid (untimed), though the records around it are dated inside the window', async () => {
      const signed = signAsWriter(f.records, [f.signer]);
      const own = streamRecords(signed.records, s0);
      const last = own[own.length - 1] as AuditRecord;
      const lines = signed.records.map(recordLine);
      lines[lineIndex(lines, s0, last.seq)] = recordLine(reseal(last, { data: { ...last.data, note: retimeNote((last.data as { note: string }).note, null, [f.signer]) } }));
      const first = Date.parse((f.records[0] as AuditRecord).ts);
      const windowed = [trustedKeyOf(f.signer, { validFrom: first - 60 * MINUTE, validUntil: first + 60 * MINUTE })];
      const report = await verify(lines, { trusted: windowed });
      expect(problemsOf(report)).toEqual([{ stream: s0, seq: last.seq, kind: 'checkpoint_invalid' }]);
      expect(report.problems[0]?.message).toMatch(/untimed .*no signed time/);
      // The same note is fine for a key trusted without a window.
      expect((await verify(lines)).problems).toEqual([]);
    });
  });

  it('(g) a stopped stream whose final journal.checkpoint line was deleted (export) → truncated', async () => {
    const last = s0Records[s0Records.length - 1] as AuditRecord;
    expect(last.type).toBe('journal.checkpoint');
    const lines = f.lines.filter((_, i) => i !== lineIndex(f.lines, s0, last.seq));
    expect(problemsOf(await verify(lines))).toEqual([{ stream: s0, seq: last.seq, kind: 'truncated' }]);
  });
});

describe('tamper matrix: a SQLite store with two stopped writers', () => {
  let f: JournalFixture;
  let s0: string;
  let s1: string;

  beforeAll(async () => {
    f = await buildJournal({ store: 'sqlite', writers: 2, paymentsPerWriter: 3 });
    [s0 = '', s1 = ''] = f.streams;
  });
  afterAll(async () => f.cleanup());

  const options = () => ({ trusted: f.trusted, journal: f.journal, nowMs: Date.now(), maxCheckpointAgeMs: 15 * MINUTE });

  it('an untouched store and its export have no problems', async () => {
    const report = await verifySqliteFile(f.copyDatabase(), options());
    expect(report.problems).toEqual([]);
    expect(report.streams.map((s) => [s.stream, s.end, s.valid])).toEqual([[s0, 'stopped', true], [s1, 'stopped', true]]);
    expect((await verifyLines(f.lines, { trusted: f.trusted })).problems).toEqual([]);
  });

  it('(e) a record of one stream written over another stream\'s row → misplaced at the row it sits in', async () => {
    const path = f.copyDatabase();
    const seq = paymentSeqOf(streamRecords(f.records, s0));
    const db = new Database(path);
    try {
      dropTriggers(db);
      const body = db.prepare('SELECT body FROM journal WHERE stream = ? AND seq = ?').pluck().get(s0, seq) as string;
      expect(db.prepare('UPDATE journal SET body = ? WHERE stream = ? AND seq = ?').run(body, s1, seq).changes).toBe(1);
    } finally {
      db.close();
    }
    const report = await verifySqliteFile(path, options());
    expect(problemsOf(report)).toContainEqual({ stream: s1, seq, kind: 'misplaced' });
    expect(namesStream(report, s0)).toBe(false);
  });

  it('(k) a stopped stream extended in the file (issue 11 c) → appended_after_stop at the first record after the stop\'s checkpoint', async () => {
    const records = streamRecords(f.records, s0);
    const stopped = records.find((r) => r.type === 'journal.stopped') as AuditRecord;
    const last = records[records.length - 1] as AuditRecord;
    expect(last).toMatchObject({ type: 'journal.checkpoint', seq: stopped.seq + 1 });
    const path = f.copyDatabase();
    const forged = chainedAfter(last, draftOf(records.find((r) => r.type === 'payment.succeeded') as AuditRecord));
    insertRawRecord(path, forged);
    insertRawRecord(path, chainedAfter(forged, draftOf(forged)));
    const expected = [{ stream: s0, seq: last.seq + 1, kind: 'appended_after_stop' }];
    const report = await verifySqliteFile(path, options());
    expect(problemsOf(report)).toEqual(expected);
    expect(report.problems[0]?.message).toBe(`2 records from seq ${last.seq + 1} on follow journal.stopped at seq ${stopped.seq}`);
    expect(problemsOf(await verifyLines(await exportSqliteFile(path), { trusted: f.trusted }))).toEqual(expected);
  });

  it('(g) a stream cut back below its last checkpoint, checkpoint records included → truncated (the checkpoints table remembers)', async () => {
    const path = f.copyDatabase();
    const records = streamRecords(f.records, s0);
    const checkpoints = checkpointsOf(records);
    // Delete from the second-to-last checkpoint record on: the stream now ends before the checkpoint the store keeps.
    const from = (checkpoints[checkpoints.length - 2] as AuditRecord).seq;
    const db = new Database(path);
    try {
      dropTriggers(db);
      const deleted = db.prepare('DELETE FROM journal WHERE stream = ? AND seq >= ?').run(s0, from).changes;
      expect(deleted).toBe(records.length - from + 1);
      const kept = db.prepare('SELECT max(size) FROM checkpoints WHERE stream = ?').pluck().get(s0) as number;
      expect(kept).toBeGreaterThan(from - 1);
    } finally {
      db.close();
    }
    const report = await verifySqliteFile(path, options());
    expect(report.problems.length).toBeGreaterThan(0);
    // Truncated where the cut is; and the records since the last checkpoint left are vouched for by nothing that can still be checked.
    const found = problemsOf(report);
    expect(found.filter((p) => p.kind === 'truncated').every((p) => p.stream === s0 && p.seq === from), JSON.stringify(found)).toBe(true);
    expect(found.filter((p) => p.kind !== 'truncated').map((p) => p.kind)).toEqual(['unauthenticated']);
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(/covers \d+ records/);
  });
});

describe('tamper matrix: open and crashed writers (memory store)', () => {
  it('(h) an open stream whose newest checkpoint is older than allowed → stale; fine with a larger bound', async () => {
    const f = await buildJournal({ stop: false });
    try {
      const [stream = ''] = f.streams;
      const newest = Math.max(...checkpointsOf(f.records).map((r) => Date.parse(r.ts)));
      const nowMs = newest + 10 * MINUTE;
      const stale = { trusted: f.trusted, nowMs, maxCheckpointAgeMs: 5 * MINUTE };
      const lenient = { trusted: f.trusted, nowMs, maxCheckpointAgeMs: 60 * MINUTE };
      expect(problemsOf(await verifyLines(f.lines, stale))).toEqual([{ stream, seq: null, kind: 'stale' }]);
      expect(problemsOf(await verifyStore(f.store.journal, { ...stale, journal: f.journal }))).toEqual([{ stream, seq: null, kind: 'stale' }]);
      expect((await verifyLines(f.lines, lenient)).problems).toEqual([]);
      expect((await verifyStore(f.store.journal, { ...lenient, journal: f.journal })).problems).toEqual([]);
    } finally {
      await f.cleanup();
    }
  });

  it('(i) records after the last checkpoint, in an export without head lines, are counted as uncovered; with requireCoverage they are unauthenticated', async () => {
    const f = await buildJournal({ stop: false });
    try {
      const [stream = ''] = f.streams;
      const services = f.running[0];
      if (!services) throw new Error('no running writer');
      // Append through the writer until the stream ends with records no checkpoint covers yet.
      let lines = withoutHeads(f.lines);
      for (let i = 0; parseRecord(lines[lines.length - 1] as string).type === 'journal.checkpoint'; i++) {
        expect(i).toBeLessThan(5);
        await services.ctx.writer.append({ records: [{ ...draftOf(f.records[1] as AuditRecord), resource: `txn_extra_${i}` }] });
        lines = withoutHeads(await exportLines(f.store));
      }
      const records = lines.map(parseRecord);
      const lastCheckpoint = checkpointsOf(records).pop() as AuditRecord;
      const uncovered = records.length - lastCheckpoint.seq;
      expect(uncovered).toBeGreaterThan(0);
      const report = await verifyLines(lines, { trusted: f.trusted });
      expect(report.problems).toEqual([]);
      expect(report.streams).toEqual([expect.objectContaining({ stream, end: 'open', valid: true, records: records.length, uncovered })]);
      const strict = await verifyLines(lines, { trusted: f.trusted, requireCoverage: true });
      expect(problemsOf(strict)).toEqual([{ stream, seq: lastCheckpoint.seq, kind: 'unauthenticated' }]);
      expect(strict.streams).toEqual([expect.objectContaining({ uncovered: uncovered + 1 })]);
    } finally {
      await f.cleanup();
    }
  });

  it('(j) a crashed writer\'s stream is sealed by the next writer (valid); a record appended to it afterwards → appended_after_seal', async () => {
    // SQLite: the store API refuses records for a sealed stream, so the tamper goes into the file itself.
    const f = await buildJournal({ store: 'sqlite', crashFirst: true });
    try {
      const [crashed = '', sealer = ''] = f.streams;
      const sealedRecord = f.records.find((r) => r.type === 'journal.sealed');
      expect(sealedRecord).toMatchObject({ stream: sealer, resource: crashed });
      const crashedRecords = streamRecords(f.records, crashed);
      const untouched = f.copyDatabase();
      const db = new Database(untouched, { readonly: true });
      try {
        expect(db.prepare('SELECT state FROM streams WHERE id = ?').pluck().get(crashed)).toBe('sealed');
      } finally {
        db.close();
      }

      const options = { trusted: f.trusted, journal: f.journal };
      for (const report of [await verifyLines(f.lines, options), await verifySqliteFile(untouched, options)]) {
        expect(report.problems).toEqual([]);
        expect(report.streams.find((s) => s.stream === crashed)).toMatchObject({ end: 'sealed_after_crash', valid: true, records: crashedRecords.length });
        expect(report.streams.find((s) => s.stream === sealer)).toMatchObject({ end: 'stopped', valid: true });
      }

      // Someone with the file appends a correctly chained record to the sealed stream.
      const head = crashedRecords[crashedRecords.length - 1] as AuditRecord;
      const appended = chainedAfter(head, draftOf(crashedRecords[1] as AuditRecord));
      const tampered = f.copyDatabase();
      insertRawRecord(tampered, appended);
      const expected = [{ stream: crashed, seq: head.seq + 1, kind: 'appended_after_seal' }];
      expect(problemsOf(await verifySqliteFile(tampered, options))).toEqual(expected);
      expect(problemsOf(await verifyLines(await exportSqliteFile(tampered), options))).toEqual(expected);
    } finally {
      await f.cleanup();
    }
  });
});

/**
 * Issue 11: a journal as a writer that signs every commit writes it (timed notes, a signed head
 * after each commit), verified with requireCoverage. Each attack is a change an attacker without
 * the key can make to the lines, or a signature made with a key that is no longer trusted.
 */
describe('tamper matrix: signed heads and signed times (requireCoverage)', () => {
  let stopped: JournalFixture;
  let open: JournalFixture;
  let signed: SignedJournal;
  let live: SignedJournal;
  let s0: string;
  let s1: string;
  let nowMs: number;

  beforeAll(async () => {
    stopped = await buildJournal({ writers: 2, paymentsPerWriter: 3 });
    open = await buildJournal({ stop: false, paymentsPerWriter: 3 });
    signed = signAsWriter(stopped.records, [stopped.signer]);
    live = signAsWriter(open.records, [open.signer]);
    [s0 = '', s1 = ''] = stopped.streams;
    nowMs = Math.max(...[...stopped.records, ...open.records].map((r) => Date.parse(r.ts))) + MINUTE;
  });
  afterAll(async () => {
    await stopped.cleanup();
    await open.cleanup();
  });

  const strict = (f: JournalFixture, extra: Parameters<typeof verifyLines>[1] = {}) => ({ trusted: f.trusted, requireCoverage: true, nowMs, ...extra });
  const own = (j: SignedJournal, stream: string) => streamRecords(j.records, stream);
  const lastOf = (records: readonly AuditRecord[]) => records[records.length - 1] as AuditRecord;
  const headIndex = (lines: readonly string[], stream: string, size: number) =>
    lines.findIndex((l) => { const h = (JSON.parse(l) as { head?: { stream: string; size: number } }).head; return h?.stream === stream && h.size === size; });
  const withLine = (lines: readonly string[], at: number, line: string | null) => [...lines.slice(0, at), ...(line === null ? [] : [line]), ...lines.slice(at + 1)];
  const headLineOf = (head: { stream: string; size: number; root: string; note: string }) => JSON.stringify({ head });

  it('an untouched export and mirror log have every record covered by a signed head: no problems', async () => {
    for (const lines of [signed.exportLines, signed.mirrorLines]) {
      const report = await verifyLines(lines, strict(stopped));
      expect(report.problems).toEqual([]);
      expect(report.records).toBe(signed.records.length);
      for (const s of report.streams) expect(s).toMatchObject({ valid: true, end: 'stopped', uncovered: 0 });
    }
    expect((await verifyLines(live.mirrorLines, strict(open, { maxCheckpointAgeMs: 5 * MINUTE }))).problems).toEqual([]);
  });

  it('without its head lines, each stream\'s final checkpoint record is unauthenticated; without requireCoverage that is only counted', async () => {
    const records = signed.records.map(recordLine);
    expect(problemsOf(await verifyLines(records, strict(stopped)))).toEqual(
      [s0, s1].map((stream) => ({ stream, seq: lastOf(own(signed, stream)).seq, kind: 'unauthenticated' })),
    );
    const report = await verifyLines(records, { trusted: stopped.trusted, nowMs });
    expect(report.problems).toEqual([]);
    expect(report.streams.map((s) => s.uncovered)).toEqual([0, 0]);
  });

  it('(e) records beyond the newest head (appended without the key) → unauthenticated at the first, with how many', async () => {
    const records = own(live, open.streams[0] as string);
    const forged = chainedAfter(lastOf(records), draftOf(records.find((r) => r.type === 'payment.succeeded') as AuditRecord), rfc3339(nowMs - 1000));
    const lines = [...live.mirrorLines, recordLine(forged), recordLine(chainedAfter(forged, draftOf(forged), rfc3339(nowMs - 1000)))];
    const report = await verifyLines(lines, strict(open));
    expect(problemsOf(report)).toEqual([{ stream: forged.stream, seq: forged.seq, kind: 'unauthenticated' }]);
    expect(report.problems[0]?.message).toBe(`2 records from seq ${forged.seq} on are covered by no valid signature: valid signatures cover seq 1–${forged.seq - 1} only`);
  });

  it('(e) the newest records dropped, their head kept → truncated where they were', async () => {
    const records = own(signed, s0);
    const last = lastOf(records);
    // The stop's commit (journal.stopped and its checkpoint) goes; its head stays, the earlier heads cover the rest.
    const commit = records.filter((r) => r.ts === last.ts).map((r) => r.seq);
    const lines = signed.mirrorLines.filter((l) => { const r = JSON.parse(l) as AuditRecord; return !(r.stream === s0 && commit.includes(r.seq)); });
    const first = Math.min(...commit);
    expect(problemsOf(await verifyLines(lines, strict(stopped)))).toEqual([{ stream: s0, seq: first, kind: 'truncated' }]);
  });

  it('a forged head (its signature altered) → checkpoint_invalid at its size, and what only it covered is unauthenticated', async () => {
    const last = lastOf(own(signed, s0));
    const at = headIndex(signed.exportLines, s0, last.seq);
    const head = signed.heads.find((h) => h.stream === s0 && h.size === last.seq) as SignedHead;
    const report = await verifyLines(withLine(signed.exportLines, at, headLineOf({ ...head, note: corruptSignature(head.note) })), strict(stopped));
    expect(problemsOf(report)).toEqual([
      { stream: s0, seq: last.seq, kind: 'checkpoint_invalid' },
      { stream: s0, seq: last.seq, kind: 'unauthenticated' },
    ]);
    expect(report.problems[0]?.message).toMatch(/forged/);
  });

  it('a head signed by a key that is not trusted → checkpoint_invalid (unknown key)', async () => {
    const records = own(signed, s0);
    const last = lastOf(records);
    const stranger = signHead(records, last.seq, [newSigner(stopped.journal)]);
    const report = await verifyLines(withLine(signed.exportLines, headIndex(signed.exportLines, s0, last.seq), headLineOf(stranger)), strict(stopped));
    expect(problemsOf(report)).toEqual([
      { stream: s0, seq: last.seq, kind: 'checkpoint_invalid' },
      { stream: s0, seq: last.seq, kind: 'unauthenticated' },
    ]);
    expect(report.problems[0]?.message).toMatch(/unknown key/);
  });

  it('another stream\'s head put under this stream, and a head of another journal → checkpoint_invalid (wrong origin)', async () => {
    const other = lastOf(own(signed, s1));
    const theirs = signed.heads.find((h) => h.stream === s1 && h.size === other.seq) as SignedHead;
    const extra = headLineOf({ ...theirs, stream: s0 });
    const report = await verifyLines([...signed.exportLines, extra], strict(stopped));
    expect(problemsOf(report)).toEqual([{ stream: s0, seq: theirs.size, kind: 'checkpoint_invalid' }]);
    expect(report.problems[0]?.message).toMatch(/wrong origin/);

    const records = own(signed, s0);
    const foreign = signHead(records, records.length, [stopped.signer], { origin: `paylog-other/${s0}` });
    const report2 = await verifyLines([...signed.exportLines, headLineOf(foreign)], strict(stopped));
    expect(problemsOf(report2)).toEqual([{ stream: s0, seq: records.length, kind: 'checkpoint_invalid' }]);
    expect(report2.problems[0]?.message).toMatch(/wrong origin/);
  });

  it('a head that covers more records than the stream has → truncated after the stream\'s last record', async () => {
    // Signed by the key holder over records the export no longer has.
    const records = own(signed, s0);
    const longer = [...records, chainedAfter(lastOf(records), draftOf(records[1] as AuditRecord), lastOf(records).ts)];
    const head = signHead(longer, longer.length, [stopped.signer]);
    const report = await verifyLines([...signed.exportLines, headLineOf(head)], strict(stopped));
    expect(problemsOf(report)).toEqual([{ stream: s0, seq: records.length + 1, kind: 'truncated' }]);
  });

  it('a validly signed head whose root the records do not reproduce → checkpoint_mismatch at its size', async () => {
    const records = own(signed, s0);
    const seq = paymentSeqOf(records);
    const other = rechain(records.map((r) => (r.seq === seq ? { ...r, data: { ...r.data, amount: 1 } } : r)), seq - 1);
    const head = signHead(other, other.length, [stopped.signer]);
    const at = headIndex(signed.exportLines, s0, records.length);
    const report = await verifyLines(withLine(signed.exportLines, at, headLineOf(head)), strict(stopped));
    expect(problemsOf(report)).toEqual([
      { stream: s0, seq: records.length, kind: 'checkpoint_mismatch' },
      { stream: s0, seq: records.length, kind: 'unauthenticated' },
    ]);
  });

  it('(c) a record appended after a clean stop and its checkpoint → appended_after_stop (and not also unauthenticated)', async () => {
    const records = own(signed, s0);
    const forged = chainedAfter(lastOf(records), draftOf(records.find((r) => r.type === 'payment.succeeded') as AuditRecord), lastOf(records).ts);
    const at = headIndex(signed.exportLines, s0, records.length);
    const lines = [...signed.exportLines.slice(0, at + 1), recordLine(forged), ...signed.exportLines.slice(at + 1)];
    expect(problemsOf(await verifyLines(lines, strict(stopped)))).toEqual([{ stream: s0, seq: forged.seq, kind: 'appended_after_stop' }]);
  });

  it('(c) even when the key holder signs what follows the stop → appended_after_stop', async () => {
    const records = own(signed, s0);
    const forged = chainedAfter(lastOf(records), draftOf(records[1] as AuditRecord), lastOf(records).ts);
    const resigned = signAsWriter([...signed.records.filter((r) => r.stream === s0), forged], [stopped.signer]);
    expect(problemsOf(await verifyLines(resigned.exportLines, strict(stopped)))).toEqual([{ stream: s0, seq: forged.seq, kind: 'appended_after_stop' }]);
  });

  describe('(d) times', () => {
    /** A made-up stream of three chained records, nothing signed. */
    const madeUp = (ts: readonly string[]): string[] => {
      const template = stopped.records.find((r) => r.type === 'payment.succeeded') as AuditRecord;
      const stream = 'str_01jdzzzzzzzzzzzzzzzzzzzzzz';
      const out: AuditRecord[] = [];
      ts.forEach((t, i) => {
        const draft = i === 0 ? { ...draftOf(template), type: 'journal.started' as const } : draftOf(template);
        out.push(sealRecord(draft, { journal: template.journal, stream, seq: i + 1, prev: out[i - 1]?.hash ?? '0'.repeat(64), ts: t }));
      });
      return out.map(recordLine);
    };
    const FAKE = 'str_01jdzzzzzzzzzzzzzzzzzzzzzz';

    it('a made-up stream dated 2099 → time_invalid (in the future) and unauthenticated, never merely "fresh"', async () => {
      const lines = [...signed.exportLines, ...madeUp(['2099-01-01T00:00:00.000Z', '2099-01-01T00:00:01.000Z', '2099-01-01T00:00:02.000Z'])];
      const report = await verifyLines(lines, strict(stopped, { maxCheckpointAgeMs: 15 * MINUTE }));
      expect(problemsOf(report)).toEqual([
        { stream: FAKE, seq: 1, kind: 'time_invalid' },
        { stream: FAKE, seq: 1, kind: 'unauthenticated' },
        { stream: FAKE, seq: null, kind: 'stale' },
      ].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)));
      expect(report.problems.find((p) => p.kind === 'time_invalid')?.message).toMatch(/^3 records from seq 1 on \(ts 2099-01-01T00:00:00.000Z\) are dated more than 300 s after/);
    });

    it('a made-up stream with unparsable times → malformed at each record', async () => {
      const lines = [...signed.exportLines, ...madeUp(['yesterday', '2026-02-30T00:00:00.000Z', ''])];
      expect(problemsOf(await verifyLines(lines, strict(stopped)))).toEqual([
        { stream: FAKE, seq: 1, kind: 'malformed' },
        { stream: FAKE, seq: 1, kind: 'unauthenticated' },
        { stream: FAKE, seq: 2, kind: 'malformed' },
        { stream: FAKE, seq: 3, kind: 'malformed' },
      ]);
    });

    it('a record dated before the one it follows, even re-signed by the key holder → time_invalid at it', async () => {
      const records = own(signed, s0);
      const seq = paymentSeqOf(records);
      const earlier = rfc3339(Date.parse((records[seq - 2] as AuditRecord).ts) - 1);
      const resigned = signAsWriter(records.map((r) => (r.seq === seq ? { ...r, ts: earlier } : r)), [stopped.signer]);
      const report = await verifyLines(resigned.exportLines, strict(stopped));
      expect(problemsOf(report)).toEqual([{ stream: s0, seq, kind: 'time_invalid' }]);
      expect(report.problems[0]?.message).toMatch(/earlier than the previous record's/);
    });

    it('records and a head dated beyond --max-clock-skew → time_invalid at the first such record and at the head; within the skew they pass', async () => {
      const records = own(live, open.streams[0] as string);
      const ahead = rfc3339(nowMs + 10 * MINUTE);
      const forged = chainedAfter(lastOf(records), draftOf(records[1] as AuditRecord), ahead);
      const resigned = signAsWriter([...records, forged], [open.signer]);
      const expected = [
        { stream: forged.stream, seq: forged.seq, kind: 'time_invalid' },
        { stream: forged.stream, seq: forged.seq, kind: 'time_invalid' },
      ];
      const report = await verifyLines(resigned.mirrorLines, strict(open));
      expect(problemsOf(report)).toEqual(expected);
      expect(report.problems.map((p) => p.message).sort()).toEqual([
        expect.stringMatching(/^seq \d+ \(ts .*\) is dated more than 300 s after the time of verification$/),
        expect.stringMatching(/^signed head on line \d+ was signed at .*, more than 300 s after the time of verification$/),
      ].sort());
      expect((await verifyLines(resigned.mirrorLines, strict(open, { maxClockSkewMs: 11 * MINUTE }))).problems).toEqual([]);
    });

    it('stale judges the newest signed time, not record times: fresh unsigned records do not keep a stream alive', async () => {
      const records = own(live, open.streams[0] as string);
      const stream = records[0]?.stream as string;
      const newestSigned = Math.max(...records.map((r) => Date.parse(r.ts)));
      const at = newestSigned + 10 * MINUTE;
      const fresh = chainedAfter(lastOf(records), draftOf(records[1] as AuditRecord), rfc3339(at));
      const lines = [...live.mirrorLines, recordLine(fresh)];
      const options = { trusted: open.trusted, nowMs: at, maxCheckpointAgeMs: 5 * MINUTE };
      expect(problemsOf(await verifyLines(lines, options))).toEqual([{ stream, seq: null, kind: 'stale' }]);
      expect(problemsOf(await verifyLines(lines, { ...options, requireCoverage: true }))).toEqual([
        { stream, seq: null, kind: 'stale' },
        { stream, seq: fresh.seq, kind: 'unauthenticated' },
      ]);
      expect((await verifyLines(live.mirrorLines, { ...options, nowMs: newestSigned + MINUTE })).problems).toEqual([]);
    });
  });

  describe('(d) key windows judged by signed times', () => {
    /** The journal's key is the new one, trusted from before the journal began; the old one was retired before it. */
    const rotation = () => {
      const old = newSigner(open.journal);
      const began = Date.parse((open.records[0] as AuditRecord).ts);
      const retired = began - 10 * MINUTE;
      const trusted = [trustedKeyOf(open.signer, { validFrom: retired - 60 * MINUTE }), trustedKeyOf(old, { validUntil: retired })];
      return { old, retired, trusted };
    };
    const forgedAfter = () => {
      const records = own(live, open.streams[0] as string);
      const forged = chainedAfter(lastOf(records), draftOf(records.find((r) => r.type === 'payment.succeeded') as AuditRecord), lastOf(records).ts);
      return { records: [...records, forged], forged };
    };

    it('the genuine journal verifies under the rotation\'s windows', async () => {
      expect((await verifyLines(live.mirrorLines, { ...strict(open), trusted: rotation().trusted })).problems).toEqual([]);
    });

    it('a rotated-out key signing a head backdated into its window → time_invalid (signed before what it covers), so the record stays unauthenticated', async () => {
      const { old, retired, trusted } = rotation();
      const { records, forged } = forgedAfter();
      const head = signHead(records, records.length, [old], { time: rfc3339(retired - MINUTE) });
      const report = await verifyLines([...live.mirrorLines, recordLine(forged), headLineOf(head)], { ...strict(open), trusted });
      expect(problemsOf(report)).toEqual([
        { stream: forged.stream, seq: forged.seq, kind: 'time_invalid' },
        { stream: forged.stream, seq: forged.seq, kind: 'unauthenticated' },
      ]);
      expect(report.problems[0]?.message).toMatch(/was signed at .*, before the records it covers/);
    });

    it('the same key signing with its true time → checkpoint_invalid (expired key); with no time → checkpoint_invalid (untimed)', async () => {
      const { old, trusted } = rotation();
      const { records, forged } = forgedAfter();
      for (const [time, reason] of [[forged.ts, /expired key/], [null, /untimed/]] as const) {
        const head = signHead(records, records.length, [old], { time });
        const report = await verifyLines([...live.mirrorLines, recordLine(forged), headLineOf(head)], { ...strict(open), trusted });
        expect(problemsOf(report)).toEqual([
          { stream: forged.stream, seq: forged.seq, kind: 'checkpoint_invalid' },
          { stream: forged.stream, seq: forged.seq, kind: 'unauthenticated' },
        ]);
        expect(report.problems[0]?.message).toMatch(reason);
      }
    });
  });
});
