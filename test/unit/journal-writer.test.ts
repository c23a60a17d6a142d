import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { type AppendUnit, JournalWriter, type JournalWriterOptions } from '../../src/app/journal-writer.js';
import { type AuditRecord, GENESIS_PREV, type RecordDraft, type RecordType } from '../../src/core/audit-record.js';
import { ChainVerifier } from '../../src/core/chain-verifier.js';
import { PaylogError } from '../../src/core/errors.js';
import type { Clock } from '../../src/ports/clock.js';
import type { CommitUnit, JournalStore } from '../../src/ports/journal-store.js';
import { StoreUnavailableError, type Store } from '../../src/ports/store.js';
import { payment, txnId } from '../contract/fixtures.js';
import { Gate, withOverrides } from '../support/gate.js';

const JOURNAL = 'paylog-test';
const STREAM = 'str_01jdtestwriter00000000000000';
const T0_MS = Date.parse('2026-11-26T16:00:00.123Z');

/** A clock that only moves when told to: every ts in these tests is known in advance. */
function fixedClock(): Clock & { advance(ms: number): void } {
  let now = T0_MS;
  return { now: () => now, advance: (ms) => { now += ms; } };
}

interface CommitLog {
  records: number;
  seqs: number[];
  failed: boolean;
}

/**
 * A real JournalStore, wrapped: logs every commit (its record count and whether it failed),
 * can be told to fail (before applying anything, or after applying everything — the
 * ambiguous "committed, then the connection dropped" case), and can hold commits at a gate.
 * Everything but commit() is passed through untouched, whatever else the port offers.
 */
class CountingJournalStore {
  readonly commits: CommitLog[] = [];
  /** A number N: the store takes the batch's first N units, then fails (a batch split into several transactions). */
  failing: 'no' | 'before' | 'after' | number = 'no';
  readonly journal: JournalStore;
  private readonly gate = new Gate();

  constructor(private readonly inner: JournalStore) {
    this.journal = withOverrides(inner, { commit: (units: CommitUnit[]): Promise<void> => this.commit(units) });
  }

  /** Commits from now on wait until release() is called. */
  hold(): void {
    this.gate.close();
  }

  release(): void {
    this.gate.open();
  }

  get succeeded(): CommitLog[] {
    return this.commits.filter((c) => !c.failed);
  }

  private async commit(units: CommitUnit[]): Promise<void> {
    const failing = this.failing; // decided when the batch reaches the store
    if (this.gate.closed) await this.gate.pass();
    const seqs = units.flatMap((u) => u.records.map((r) => r.seq));
    this.commits.push({ records: seqs.length, seqs, failed: failing !== 'no' });
    if (failing === 'before') throw new StoreUnavailableError('disk on fire');
    if (typeof failing === 'number') {
      await this.inner.commit(units.slice(0, failing));
      throw new StoreUnavailableError('the second transaction failed');
    }
    await this.inner.commit(units);
    if (failing === 'after') throw new StoreUnavailableError('connection lost after COMMIT');
  }
}

function rec(type: RecordType, resource: string | null = null, data: RecordDraft['data'] = {}): RecordDraft {
  return {
    type, actor: 'key_test', origin: { requestId: 'req_test', traceId: null, ip: '127.0.0.1' },
    resource, outcome: 'success', reason: null, data,
  };
}

interface Rig {
  store: Store;
  journal: CountingJournalStore;
  writer: JournalWriter;
  clock: ReturnType<typeof fixedClock>;
}

function rig(options: Partial<JournalWriterOptions> = {}): Rig {
  const store = createMemoryStore();
  const journal = new CountingJournalStore(store.journal);
  const clock = fixedClock();
  // No signed checkpoints here: these tests are about batching, durability and the chain.
  const base = { journal: JOURNAL, streamId: STREAM, writer: 'test:1', actor: 'system:test', checkpoints: null, batchRecordsMax: 512, queueRecordsMax: 50_000 };
  const writer = new JournalWriter(journal.journal, clock, { ...base, ...options } as JournalWriterOptions);
  return { store, journal, writer, clock };
}

async function started(options: Partial<JournalWriterOptions> = {}): Promise<Rig> {
  const r = rig(options);
  await r.writer.start(rec('journal.started', STREAM));
  return r;
}

async function stored(store: Store): Promise<AuditRecord[]> {
  return store.journal.readStream(STREAM, 1, 1_000_000);
}

/** Verifies the stream as stored: hashes, prev links, seq continuity, placement. */
async function verifyStored(store: Store): Promise<AuditRecord[]> {
  const records = await stored(store);
  const verifier = new ChainVerifier(JOURNAL);
  for (const record of records) verifier.add(record, { stream: STREAM, seq: record.seq });
  const report = verifier.finish();
  expect(report.problems).toEqual([]);
  expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
  return records;
}

/** Lets every pending setImmediate/microtask run, so queued batches get their chance to commit. */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('JournalWriter.start', () => {
  it('registers the stream and makes journal.started durable as seq 1 with prev = 64 zeros', async () => {
    const { store, writer } = rig();
    const first = await writer.start(rec('journal.started', STREAM, { role: 'test' }));
    expect(first).toMatchObject({
      v: 1, journal: JOURNAL, stream: STREAM, seq: 1, prev: GENESIS_PREV, type: 'journal.started',
      ts: '2026-11-26T16:00:00.123Z', data: { role: 'test' },
    });
    expect(GENESIS_PREV).toBe('0'.repeat(64));
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    const streams = await store.journal.listStreams();
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ id: STREAM, journal: JOURNAL, startedAt: '2026-11-26T16:00:00.123Z', writer: 'test:1' });
    expect(await stored(store)).toEqual([first]);
    expect(await store.journal.head(STREAM)).toEqual({ seq: 1, hash: first.hash });
  });

  it('refuses appends before start and a second start', async () => {
    const { writer } = rig();
    await expect(writer.append({ records: [rec('payment.received')] })).rejects.toBeInstanceOf(PaylogError);
    await writer.start(rec('journal.started', STREAM));
    await expect(writer.start(rec('journal.started', STREAM))).rejects.toThrow(/already started/);
  });
});

describe('group commit', () => {
  it('commits 200 concurrent appends in far fewer commits, each sealed with consecutive seqs and a valid chain', async () => {
    const { store, journal, writer } = await started();
    const before = journal.commits.length;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i), { i })] })),
    );
    const commits = journal.commits.length - before;
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(20);

    const sealed = results.map((r) => {
      expect(r).toHaveLength(1);
      return r[0] as AuditRecord;
    });
    // Appends are sequenced in the order they were made: seq 2 … 201 after journal.started.
    expect(sealed.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    expect(sealed.map((r) => r.data.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const records = await verifyStored(store);
    expect(records).toHaveLength(201);
    for (const r of sealed) {
      expect(r.prev).toBe((records[r.seq - 2] as AuditRecord).hash);
      expect(records[r.seq - 1]).toEqual(r);
    }
  });

  it('keeps a multi-record unit together and in order', async () => {
    const { store, writer } = await started();
    const [a, b] = await Promise.all([
      writer.append({ records: [rec('payment.received', 'txn_a'), rec('payment.attempted', 'txn_a'), rec('payment.succeeded', 'txn_a')] }),
      writer.append({ records: [rec('payment.received', 'txn_b'), rec('payment.declined', 'txn_b')] }),
    ]);
    expect(a?.map((r) => [r.seq, r.type])).toEqual([[2, 'payment.received'], [3, 'payment.attempted'], [4, 'payment.succeeded']]);
    expect(b?.map((r) => [r.seq, r.type])).toEqual([[5, 'payment.received'], [6, 'payment.declined']]);
    await verifyStored(store);
  });

  it('never puts more than batchRecordsMax records in one commit, and never splits a unit', async () => {
    const { store, journal, writer } = await started({ batchRecordsMax: 7 });
    const sizes = Array.from({ length: 60 }, (_, i) => (i % 3) + 1); // 1, 2, 3, 1, 2, 3 …
    const results = await Promise.all(
      sizes.map((size, u) => writer.append({ records: Array.from({ length: size }, (_, k) => rec('payment.attempted', `txn_${u}`, { u, k })) })),
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    const commits = journal.succeeded.slice(1); // after journal.started
    expect(commits.reduce((n, c) => n + c.records, 0)).toBe(total);
    for (const c of commits) expect(c.records).toBeLessThanOrEqual(7);
    // Bounded, yet still grouped: 120 records cannot take fewer than 18 commits of ≤ 7.
    expect(commits.length).toBeGreaterThanOrEqual(Math.ceil(total / 7));
    expect(commits.length).toBeLessThan(sizes.length);
    // Every unit's records landed in one commit.
    for (const unit of results) {
      const seqs = unit.map((r) => r.seq);
      expect(commits.filter((c) => c.seqs.some((s) => seqs.includes(s)))).toHaveLength(1);
    }
    await verifyStored(store);
  });
});

describe('a failed commit', () => {
  it('rejects every waiter of the batch with a 5xx PaylogError when the store applied nothing, and the chain continues without a gap', async () => {
    const { store, journal, writer } = await started();
    journal.failing = 'before';
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i))] })),
    );
    journal.failing = 'no';
    expect(journal.commits.filter((c) => c.failed).length).toBeGreaterThanOrEqual(1);
    expect(settled.filter((s) => s.status === 'fulfilled')).toEqual([]);
    for (const s of settled) {
      const reason = (s as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(PaylogError);
      expect((reason as PaylogError).status).toBeGreaterThanOrEqual(500);
      expect((reason as PaylogError).code).toBe('store_unavailable');
    }

    const [next] = await writer.append({ records: [rec('payment.received', 'txn_after')] });
    const records = await verifyStored(store);
    expect(records).toHaveLength(2);
    expect(next).toEqual(records[1]);
    expect(next?.prev).toBe(records[0]?.hash);
  });

  it('resolves the waiters when the store applied the batch but its answer was lost: the stored head is the writer\'s own', async () => {
    const { store, journal, writer } = await started();
    journal.failing = 'after';
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i))] })),
    );
    journal.failing = 'no';
    expect(journal.commits.filter((c) => c.failed).length).toBeGreaterThanOrEqual(1);
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);

    const [next] = await writer.append({ records: [rec('payment.received', 'txn_after')] });
    const records = await verifyStored(store);
    expect(records).toHaveLength(22);
    // Each waiter got exactly the record that is stored at its seq.
    for (const s of settled) {
      const [record] = (s as PromiseFulfilledResult<AuditRecord[]>).value;
      expect(records[(record?.seq ?? 0) - 1]).toEqual(record);
    }
    expect(next).toEqual(records[21]);
    expect(next?.prev).toBe(records[20]?.hash);
  });

  it('resolves exactly the units a store took before failing part-way through a batch, and continues after them', async () => {
    const { store, journal, writer } = await started();
    journal.hold();
    journal.failing = 4;
    const appends = Array.from({ length: 10 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i)), rec('payment.attempted', txnId(i))] }));
    await turns(); // one batch of ten units, held at the store
    journal.release();
    const settled = await Promise.allSettled(appends);
    journal.failing = 'no';
    expect(journal.commits.at(-1)).toMatchObject({ records: 20, failed: true });
    expect(settled.map((s) => s.status)).toEqual([...Array(4).fill('fulfilled'), ...Array(6).fill('rejected')]);
    for (const s of settled.slice(4)) expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'store_unavailable', status: 503 });

    const [next] = await writer.append({ records: [rec('payment.received', 'txn_after')] });
    const records = await verifyStored(store);
    // journal.started, four units of two records, then the next append right after them.
    expect(records.map((r) => r.resource)).toEqual([STREAM, ...[0, 1, 2, 3].flatMap((i) => [txnId(i), txnId(i)]), 'txn_after']);
    settled.slice(0, 4).forEach((s, i) => expect((s as PromiseFulfilledResult<AuditRecord[]>).value).toEqual(records.slice(1 + 2 * i, 3 + 2 * i)));
    expect(next?.seq).toBe(10);
  });

  it('also recovers when the failure happens while other appends are already queued behind the batch', async () => {
    const { store, journal, writer } = await started();
    journal.hold();
    journal.failing = 'before';
    const first = writer.append({ records: [rec('payment.received', 'txn_first')] });
    first.catch(() => undefined);
    await turns(); // the first batch is now at the store, held at the gate
    const queued = Array.from({ length: 5 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i))] }));
    journal.failing = 'no'; // only the batch already at the store fails
    journal.release();
    await expect(first).rejects.toMatchObject({ status: 503 });
    const later = await Promise.all(queued);
    expect(later.map((r) => r[0]?.seq)).toEqual([2, 3, 4, 5, 6]);
    await verifyStored(store);
  });
});

/** Settles `promise` or reports 'pending' after a bounded wait, so a hung waiter fails the test instead of timing it out. */
async function settledWithin<T>(promise: Promise<T>, ms = 2_000): Promise<PromiseSettledResult<T> | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); });
  try {
    return await Promise.race([Promise.allSettled([promise]).then(([r]) => r as PromiseSettledResult<T>), pending]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a unit that cannot be sealed', () => {
  it('an idempotency function that throws fails its batch (no waiter left hanging), and the chain continues', async () => {
    const { store, writer } = await started();
    const broken = writer.append({
      records: [rec('payment.succeeded', 'txn_broken')],
      idempotency: () => { throw new Error('cannot render the response'); },
    });
    const neighbour = writer.append({ records: [rec('payment.received', 'txn_neighbour')] });
    const outcome = await settledWithin(broken);
    expect(outcome).toMatchObject({ status: 'rejected' });
    // A bug, not the store failing: it reaches the caller as it is (a 500 at the API, not a 503).
    expect(((outcome as PromiseRejectedResult).reason as Error).message).toBe('cannot render the response');
    expect(await settledWithin(neighbour)).not.toBe('pending');

    const [next] = await writer.append({ records: [rec('payment.received', 'txn_next')] });
    const records = await verifyStored(store);
    expect(next).toEqual(records[records.length - 1]);
    expect(records.map((r) => r.resource)).not.toContain('txn_broken');
  });
});

describe('back-pressure', () => {
  it('refuses appends beyond queueRecordsMax with code overloaded, and accepts again once drained', async () => {
    const { store, writer } = await started({ queueRecordsMax: 10 });
    const accepted = Array.from({ length: 4 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i)), rec('payment.attempted', txnId(i))] }));
    // 8 queued: two more records fit, three at once do not.
    const tooBig = writer.append({ records: [rec('payment.received'), rec('payment.attempted'), rec('payment.succeeded')] });
    const fits = writer.append({ records: [rec('payment.received', 'txn_fits')] });
    const fitsToo = writer.append({ records: [rec('payment.received', 'txn_fits_too')] }); // exactly 10
    const overflow = writer.append({ records: [rec('payment.received', 'txn_overflow')] });
    await expect(tooBig).rejects.toMatchObject({ code: 'overloaded', status: 503 });
    await expect(overflow).rejects.toMatchObject({ code: 'overloaded' });
    await expect(overflow).rejects.toBeInstanceOf(PaylogError);
    await Promise.all([...accepted, fits, fitsToo]);
    // Drained: the bound counts only what is waiting.
    await expect(writer.append({ records: Array.from({ length: 10 }, () => rec('payment.attempted')) })).resolves.toHaveLength(10);
    const records = await verifyStored(store);
    expect(records.map((r) => r.resource)).not.toContain('txn_overflow');
    expect(records).toHaveLength(1 + 8 + 2 + 10);
  });
});

describe('stop', () => {
  it('waits for queued appends, ends the stream with journal.stopped, and refuses further appends', async () => {
    const { store, journal, writer } = await started();
    journal.hold();
    let done = 0;
    const queued = Array.from({ length: 5 }, (_, i) => writer.append({ records: [rec('payment.received', txnId(i))] }).then((r) => { done++; return r; }));
    let stopped = false;
    const stopping = writer.stop(rec('journal.stopped', STREAM)).then(() => { stopped = true; });
    await turns();
    expect(stopped).toBe(false);
    expect(done).toBe(0);
    await expect(writer.append({ records: [rec('payment.received', 'txn_late')] })).rejects.toMatchObject({ code: 'store_unavailable' });
    journal.release();
    await stopping;
    expect(done).toBe(5);
    await Promise.all(queued);
    const records = await verifyStored(store);
    expect(records.map((r) => r.type)).toEqual(['journal.started', ...Array(5).fill('payment.received'), 'journal.stopped']);
    expect(records.map((r) => r.resource)).not.toContain('txn_late');

    const refused = writer.append({ records: [rec('payment.received', 'txn_after_stop')] });
    await expect(refused).rejects.toBeInstanceOf(PaylogError);
    await expect(refused).rejects.toMatchObject({ status: 503 });
    await writer.stop(rec('journal.stopped', STREAM)); // a second stop is a no-op
    expect(await stored(store)).toHaveLength(7);
  });
});

describe('read-model changes in a unit', () => {
  it("sets the payment's audit pointer to its last record of the unit", async () => {
    const { store, writer } = await started();
    const p = payment(1, { status: 'processing' });
    const sealed = await writer.append({
      records: [rec('payment.received', p.id), rec('payment.attempted', p.id), rec('auth.failed', 'txn_other'), rec('payment.processing', p.id)],
      payment: p,
    });
    const last = sealed[3] as AuditRecord;
    const read = await store.payments.get('acme', p.id);
    expect(read?.audit).toEqual({ stream: STREAM, seq: last.seq, hash: last.hash });
    expect(read).toMatchObject({ ...p, audit: { seq: 5 } });

    const [next] = await writer.append({ records: [rec('payment.succeeded', p.id)], payment: { ...p, status: 'succeeded' } });
    expect((await store.payments.get('acme', p.id))?.audit).toEqual({ stream: STREAM, seq: next?.seq, hash: next?.hash });
    await verifyStored(store);
  });

  it('calls an idempotency function with the sealed records of its own unit and stores what it returns', async () => {
    const { store, writer } = await started();
    const claim = { merchantId: 'acme', key: 'order-1', fingerprint: 'fp-1', now: new Date(T0_MS).toISOString(), leaseExpiresAt: new Date(T0_MS + 60_000).toISOString(), expiresAt: new Date(T0_MS + 86_400_000).toISOString() };
    expect(await store.idempotency.claim(claim)).toEqual({ kind: 'claimed' });
    const seen: AuditRecord[][] = [];
    const p = payment(2);
    const unit: AppendUnit = {
      records: [rec('payment.received', p.id), rec('payment.succeeded', p.id)],
      payment: p,
      idempotency: (own) => {
        seen.push(own);
        const last = own[own.length - 1] as AuditRecord;
        return { merchantId: 'acme', key: 'order-1', paymentId: p.id, response: { status: 201, headers: {}, body: { audit: { seq: last.seq, hash: last.hash } } } };
      },
    };
    // Another unit in the same batch: its records must not be handed to the function.
    const [, sealed] = await Promise.all([writer.append({ records: [rec('auth.failed')] }), writer.append(unit)]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(sealed);
    expect(sealed?.map((r) => r.seq)).toEqual([3, 4]);
    const replay = await store.idempotency.claim({ ...claim, now: new Date(T0_MS + 1000).toISOString() });
    expect(replay).toEqual({ kind: 'completed', paymentId: p.id, response: { status: 201, headers: {}, body: { audit: { seq: 4, hash: sealed?.[1]?.hash } } } });
    await verifyStored(store);
  });
});
