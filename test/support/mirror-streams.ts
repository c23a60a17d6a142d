import { expect } from 'vitest';
import { type AuditRecord, GENESIS_PREV, type RecordType, recordLine, sealRecord } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';

/**
 * What the audit mirrors' tests send and check: one valid, chained stream of records, and the
 * check that what a mirror delivered is exactly those records, in order, and still verifies.
 */

export const MIRROR_JOURNAL = 'paylog-local';
const STREAM = 'str_01jdq1aaaaaaaaaaaaaaaaaa';
const T0 = Date.parse('2026-11-26T16:00:00.000Z');

export interface MirrorStreamOptions {
  /** Every record's data.note, before its padding. */
  note?: string;
  /** Bytes of 'x' after the note, to make records of a chosen size. */
  padding?: number;
  /** The actor of journal.started (the process the stream would come from). */
  startedBy?: string;
}

/** A valid stream of n records: journal.started, then payment records; each 1 ms after the last. */
export function mirrorStream(n: number, options: MirrorStreamOptions = {}): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prev = GENESIS_PREV;
  for (let seq = 1; seq <= n; seq++) {
    const type: RecordType = seq === 1 ? 'journal.started' : (['payment.received', 'payment.attempted', 'payment.succeeded'] as const)[seq % 3] as RecordType;
    const record = sealRecord({
      type,
      actor: seq === 1 ? options.startedBy ?? 'system:serve' : 'key_01jdq0000000000000000000',
      origin: { requestId: `req_${seq}`, traceId: null, ip: '127.0.0.1' },
      resource: seq === 1 ? STREAM : `txn_${seq}`,
      outcome: 'success',
      reason: null,
      data: { amount: 1000 + seq, currency: 'EUR', note: `${options.note ?? 'café'} ${'x'.repeat(options.padding ?? 0)}` },
    }, { journal: MIRROR_JOURNAL, stream: STREAM, seq, prev, ts: new Date(T0 + seq).toISOString() });
    records.push(record);
    prev = record.hash;
  }
  return records;
}

/** The lines a mirror delivered are exactly `expected`'s, in order, and verify as one chain. */
export function expectVerifiedLines(lines: readonly string[], expected: readonly AuditRecord[]): void {
  expect(lines).toEqual(expected.map(recordLine));
  const verifier = new ChainVerifier(MIRROR_JOURNAL);
  lines.forEach((line, i) => verifier.add(JSON.parse(line), { line: i + 1 }));
  const report = verifier.finish();
  expect(report.problems).toEqual([]);
  expect(report.records).toBe(expected.length);
  expect(report.streams[0]?.lastSeq ?? 0).toBe(expected.at(-1)?.seq ?? 0);
}
