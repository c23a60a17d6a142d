import { expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { JournalWriter } from '../../src/app/journal-writer.js';
import type { RecordDraft, RecordType } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';
import type { CommitUnit, JournalStore } from '../../src/ports/journal-store.js';
import { ClaimsTakenError } from '../../src/ports/store.js';

const JOURNAL = 'paylog-test';
const STREAM = 'str_01jdtestclaims00000000000000';
const T0_MS = Date.parse('2026-12-01T03:00:00.000Z');
const at = (ms: number): string => new Date(T0_MS + ms).toISOString();
const KEY_CLAIM = { fingerprint: 'fp-a', now: at(0), leaseExpiresAt: at(60_000), expiresAt: at(86_400_000) };

function rec(type: RecordType, resource: string | null = null): RecordDraft {
  return { type, actor: 'key_test', origin: { requestId: 'req_test', traceId: null, ip: '127.0.0.1' }, resource, outcome: 'success', reason: null, data: {} };
}

it('units whose keys are held are refused; the rest of their batch is sealed again and committed, chained without a gap', async () => {
  const store = createMemoryStore();
  const commits: CommitUnit[][] = [];
  const journal: JournalStore = Object.create(store.journal, {
    commit: { value: (units: CommitUnit[]) => { commits.push(units); return store.journal.commit(units); } },
  }) as JournalStore;
  const writer = new JournalWriter(journal, { now: () => T0_MS }, {
    journal: JOURNAL, streamId: STREAM, writer: 'test:1', actor: 'system:test', checkpoints: null, batchRecordsMax: 512, queueRecordsMax: 50_000,
  });
  await writer.start(rec('journal.started', STREAM));
  await store.idempotency.claim({ merchantId: 'acme', key: 'held', ...KEY_CLAIM });

  const claiming = (n: number, key: string): Promise<unknown> => writer.append({
    records: [rec('payment.received', `txn_${n}`)],
    idempotency: { merchantId: 'acme', key, paymentId: `txn_${n}`, claim: KEY_CLAIM },
  });
  // Queued in one tick: one batch. The second claims a held key, the fourth the key the first claims.
  const results = await Promise.allSettled([claiming(1, 'k1'), claiming(2, 'held'), writer.append({ records: [rec('payment.received', 'txn_3')] }), claiming(4, 'k1')]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
  for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ClaimsTakenError);
  // One refused attempt of all four, then one commit of the other two.
  expect(commits.slice(1).map((units) => units.map((u) => u.records[0]?.resource))).toEqual([['txn_1', 'txn_2', 'txn_3', 'txn_4'], ['txn_1', 'txn_3']]);

  const records = await store.journal.readStream(STREAM, 1, 100);
  expect(records.map((r) => [r.seq, r.resource])).toEqual([[1, STREAM], [2, 'txn_1'], [3, 'txn_3']]);
  const verifier = new ChainVerifier(JOURNAL);
  for (const record of records) verifier.add(record, { stream: STREAM, seq: record.seq });
  expect(verifier.finish().problems).toEqual([]);
  // The writer goes on from where the store stands.
  await expect(writer.append({ records: [rec('payment.received', 'txn_5')] })).resolves.toMatchObject([{ seq: 4 }]);
});
