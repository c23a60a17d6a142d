import { expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { JournalWriter } from '../../src/app/journal-writer.js';
import type { RecordDraft, RecordType } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';
import { ClaimLostError } from '../../src/ports/store.js';

const JOURNAL = 'paylog-test';
const STREAM = 'str_01jdtestfence000000000000000';
const T0_MS = Date.parse('2026-11-30T16:00:00.000Z');

function rec(type: RecordType, resource: string | null = null): RecordDraft {
  return { type, actor: 'key_test', origin: { requestId: 'req_test', traceId: null, ip: '127.0.0.1' }, resource, outcome: 'success', reason: null, data: {} };
}

it('a fenced unit whose claim was taken over fails alone: units queued with it commit, and the chain continues', async () => {
  const store = createMemoryStore();
  const clock = { now: () => T0_MS };
  const writer = new JournalWriter(store.journal, clock, {
    journal: JOURNAL, streamId: STREAM, writer: 'test:1', actor: 'system:test', checkpoints: null, batchRecordsMax: 512, queueRecordsMax: 50_000,
  });
  await writer.start(rec('journal.started', STREAM));
  const at = (ms: number): string => new Date(T0_MS + ms).toISOString();
  // Claimed, then taken over by a later claimant: the first claimant's lease no longer holds.
  await store.idempotency.claim({ merchantId: 'acme', key: 'reconcile:txn_1', fingerprint: 'reconcile:', now: at(0), leaseExpiresAt: at(1_000), expiresAt: at(86_400_000) });
  await store.idempotency.claim({ merchantId: 'acme', key: 'reconcile:txn_1', fingerprint: 'reconcile:', now: at(2_000), leaseExpiresAt: at(3_000), expiresAt: at(86_400_000) });

  // Queued in one tick, so without the rule they would share one batch and fail together.
  const before = writer.append({ records: [rec('payment.received', 'txn_0')] });
  const fenced = writer.append({
    records: [rec('payment.reconciled', 'txn_1')],
    idempotency: { merchantId: 'acme', key: 'reconcile:txn_1', paymentId: 'txn_1', heldUntil: at(1_000) },
  });
  const after = writer.append({ records: [rec('payment.received', 'txn_2')] });
  await expect(fenced).rejects.toBeInstanceOf(ClaimLostError);
  await expect(before).resolves.toHaveLength(1);
  await expect(after).resolves.toHaveLength(1);

  const records = await store.journal.readStream(STREAM, 1, 100);
  expect(records.map((r) => r.resource)).toEqual([STREAM, 'txn_0', 'txn_2']);
  const verifier = new ChainVerifier(JOURNAL);
  for (const record of records) verifier.add(record, { stream: STREAM, seq: record.seq });
  expect(verifier.finish().problems).toEqual([]);
  expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
});
