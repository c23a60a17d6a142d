import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/verify-journal.js';
import { type AuditRecord, recordLine, sealRecord } from '../../src/core/audit-record.js';
import type { ChainReport } from '../../src/core/chain-verifier.js';
import {
  type JournalFixture, buildJournal, chainedAfter, corruptSignature, draftOf, exportLines, exportSqliteFile, insertRawRecord, lineIndex,
  newSigner, parseRecord, problemsOf, rechain, replaceStream, reseal, resignNote, streamRecords, trustedKeyOf, verifyLines, verifySqliteFile,
} from '../support/journal-fixture.js';

/**
 * SPEC §3 "Verification detects …": one test per tamper, each against a real journal
 * (services, payments, group commits, signed checkpoints), naming the stream, seq and kind.
 */

const MINUTE = 60_000;

function dropJournalTriggers(db: Database.Database): void {
  const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal'").all() as { name: string }[];
  expect(triggers.length).toBeGreaterThan(0);
  for (const { name } of triggers) db.exec(`DROP TRIGGER "${name}"`);
}

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
    expect(report.records).toBe(f.lines.length);
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
      const lines = [...f.lines];
      lines[lineIndex(f.lines, s0, last.seq)] = recordLine(reseal(last, { data: { ...last.data, note: note(data.note) } }));
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
      const { lines, seq } = withNote((note) => resignNote(note, [old]));
      const retired = Date.parse((f.records[0] as AuditRecord).ts) - 24 * 60 * MINUTE;
      const found = invalidAt(await verify(lines, { trusted: [...f.trusted, trustedKeyOf(old, { validUntil: retired })] }), s0, seq);
      expect(found).toHaveLength(1);
      expect(found[0]?.message).toMatch(/expired key/);
      // The same note, with the old key trusted without a window, is a valid checkpoint.
      expect((await verify(lines, { trusted: [...f.trusted, trustedKeyOf(old)] })).problems).toEqual([]);
    });

    it('the journal\'s own key trusted only until before the journal began → every checkpoint is expired', async () => {
      const until = Date.parse((f.records[0] as AuditRecord).ts) - 1;
      const report = await verify(f.lines, { trusted: [trustedKeyOf(f.signer, { validUntil: until })] });
      const expired = report.problems.filter((p) => p.kind === 'checkpoint_invalid' && /expired key/.test(p.message));
      expect(expired.map((p) => ({ stream: p.stream, seq: p.seq }))).toEqual(
        checkpointsOf(f.records).map((r) => ({ stream: r.stream, seq: r.seq })),
      );
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
      dropJournalTriggers(db);
      const body = db.prepare('SELECT body FROM journal WHERE stream = ? AND seq = ?').pluck().get(s0, seq) as string;
      expect(db.prepare('UPDATE journal SET body = ? WHERE stream = ? AND seq = ?').run(body, s1, seq).changes).toBe(1);
    } finally {
      db.close();
    }
    const report = await verifySqliteFile(path, options());
    expect(problemsOf(report)).toContainEqual({ stream: s1, seq, kind: 'misplaced' });
    expect(namesStream(report, s0)).toBe(false);
  });

  it('(g) a stream cut back below its last checkpoint, checkpoint records included → truncated (the checkpoints table remembers)', async () => {
    const path = f.copyDatabase();
    const records = streamRecords(f.records, s0);
    const checkpoints = checkpointsOf(records);
    // Delete from the second-to-last checkpoint record on: the stream now ends before the checkpoint the store keeps.
    const from = (checkpoints[checkpoints.length - 2] as AuditRecord).seq;
    const db = new Database(path);
    try {
      dropJournalTriggers(db);
      const deleted = db.prepare('DELETE FROM journal WHERE stream = ? AND seq >= ?').run(s0, from).changes;
      expect(deleted).toBe(records.length - from + 1);
      const kept = db.prepare('SELECT max(size) FROM checkpoints WHERE stream = ?').pluck().get(s0) as number;
      expect(kept).toBeGreaterThan(from - 1);
    } finally {
      db.close();
    }
    const report = await verifySqliteFile(path, options());
    expect(report.problems.length).toBeGreaterThan(0);
    expect(problemsOf(report).every((p) => p.stream === s0 && p.seq === from && p.kind === 'truncated')).toBe(true);
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

  it('(i) records after the last checkpoint are counted as uncovered, not reported as problems', async () => {
    const f = await buildJournal({ stop: false });
    try {
      const [stream = ''] = f.streams;
      const services = f.running[0];
      if (!services) throw new Error('no running writer');
      // Append through the writer until the stream ends with records no checkpoint covers yet.
      let lines = f.lines;
      for (let i = 0; parseRecord(lines[lines.length - 1] as string).type === 'journal.checkpoint'; i++) {
        expect(i).toBeLessThan(5);
        await services.ctx.writer.append({ records: [{ ...draftOf(f.records[1] as AuditRecord), resource: `txn_extra_${i}` }] });
        lines = await exportLines(f.store);
      }
      const records = lines.map(parseRecord);
      const lastCheckpoint = checkpointsOf(records).pop() as AuditRecord;
      const uncovered = records.length - lastCheckpoint.seq;
      expect(uncovered).toBeGreaterThan(0);
      for (const report of [await verifyLines(lines, { trusted: f.trusted }), await verifyStore(f.store.journal, { trusted: f.trusted, journal: f.journal })]) {
        expect(report.problems).toEqual([]);
        expect(report.streams).toEqual([expect.objectContaining({ stream, end: 'open', valid: true, records: records.length, uncovered })]);
      }
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
