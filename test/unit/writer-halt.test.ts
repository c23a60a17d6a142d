import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { JournalWriter, type CheckpointOptions, type JournalWriterOptions } from '../../src/app/journal-writer.js';
import { type RecordDraft, type RecordType, sealRecord } from '../../src/core/audit-record.js';
import { checkCheckpoint } from '../../src/core/checkpoint.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { PaylogError } from '../../src/core/errors.js';
import { parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';
import type { Clock } from '../../src/ports/clock.js';
import type { CommitUnit, JournalStore } from '../../src/ports/journal-store.js';
import type { Store } from '../../src/ports/store.js';
import { Gate, withOverrides } from '../support/gate.js';

/**
 * A JournalWriter must stop writing, and say so, when the stream it writes is no longer
 * its own (another writer sealed it after its lease lapsed) or when the store no longer
 * holds what the writer's Merkle tree says it committed.
 */

const JOURNAL = 'paylog-test';
const STREAM = 'str_01jdhaltwriter000000000000';
const T0_MS = Date.parse('2026-11-26T16:00:00.123Z');
const POLL_DEADLINE_MS = 5_000;

const clock: Clock = { now: () => T0_MS };
const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);

function rec(type: RecordType, data: RecordDraft['data'] = {}): RecordDraft {
  return { type, actor: 'system:test', origin: { requestId: null, traceId: null, ip: null }, resource: STREAM, outcome: 'success', reason: null, data };
}

/**
 * A real memory JournalStore behind a proxy that can hold commits at a gate, count lease
 * renewals, and lie about the hash of one committed record (as if the stored row had been
 * changed under the writer). Everything else passes through.
 */
class WrappedJournal {
  readonly journal: JournalStore;
  renewals = 0;

  /** seq whose hash readHashes reports wrongly (null: report the truth). */
  tamperedSeq: number | null = null;
  private readonly gate = new Gate();

  constructor(inner: JournalStore) {
    const overrides: Partial<JournalStore> = {
      commit: async (units: CommitUnit[]) => {
        if (this.gate.closed) await this.gate.pass();
        return inner.commit(units);
      },
      renewLease: (id: string, until: string) => {
        this.renewals++;
        return inner.renewLease(id, until);
      },
      readHashes: async (id: string, fromSeq: number, limit: number) => {
        const hashes = await inner.readHashes(id, fromSeq, limit);
        const at = this.tamperedSeq === null ? -1 : this.tamperedSeq - fromSeq;
        if (at >= 0 && at < hashes.length) hashes[at] = 'f'.repeat(64);
        return hashes;
      },
    };
    this.journal = withOverrides(inner, overrides);
  }

  /** Commits waiting at the gate. */
  get held(): number {
    return this.gate.waiting;
  }

  hold(): void {
    this.gate.close();
  }

  release(): void {
    this.gate.open();
  }
}

interface Rig {
  store: Store;
  wrapped: WrappedJournal;
  writer: JournalWriter;
  halts: string[];
}

async function startedRig(checkpoints: Partial<CheckpointOptions>, options: Partial<JournalWriterOptions> = {}): Promise<Rig> {
  const store = createMemoryStore();
  const wrapped = new WrappedJournal(store.journal);
  const halts: string[] = [];
  const writer = new JournalWriter(wrapped.journal, clock, {
    journal: JOURNAL, streamId: STREAM, writer: 'test:1', actor: 'system:test', batchRecordsMax: 512, queueRecordsMax: 50_000,
    checkpoints: { signers: [signer], everyRecords: 1000, intervalMs: 0, leaseMs: 60_000, ...checkpoints },
    onHalt: (reason) => halts.push(reason),
    ...options,
  });
  await writer.start(rec('journal.started'));
  return { store, wrapped, writer, halts };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The rejection of a promise that must reject, as a PaylogError. */
async function failure(promise: Promise<unknown>): Promise<PaylogError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err, 'expected a rejection').toBeInstanceOf(PaylogError);
  return err as PaylogError;
}

const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;

describe('a writer whose stream was sealed by another writer', () => {
  it('halts at its next timer tick: onHalt is told, queued and later appends are refused with a 5xx', async () => {
    // The writer's timers, to show that once halted and stopped it has none left to write with.
    const intervals: unknown[] = [];
    const cleared = new Set<unknown>();
    const setSpy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((...args: Parameters<typeof setInterval>) => {
      const timer = realSetInterval(...args);
      intervals.push(timer);
      return timer;
    }) as typeof setInterval);
    const clearSpy = vi.spyOn(globalThis, 'clearInterval').mockImplementation((timer) => {
      cleared.add(timer);
      realClearInterval(timer);
    });
    onTestFinished(() => { setSpy.mockRestore(); clearSpy.mockRestore(); });
    const { store, wrapped, writer, halts } = await startedRig({ intervalMs: 20, leaseMs: 1000 });
    expect(intervals).toHaveLength(1);
    // While the stream is ours, ticks renew the lease and nothing halts.
    await until('two lease renewals', () => wrapped.renewals >= 2);
    expect(halts).toEqual([]);
    await writer.append({ records: [rec('auth.failed')] });

    // A batch is in the store (held at the gate) and another append waits behind it.
    wrapped.hold();
    const inFlight = writer.append({ records: [rec('auth.failed', { n: 1 })] });
    await until('a batch to wait at the gate', () => wrapped.held === 1);
    // Its rejection is collected now, so it is handled whenever it comes.
    const queued = failure(writer.append({ records: [rec('auth.failed', { n: 2 })] }));

    // Another writer finds the lease lapsed and seals the stream.
    expect(await store.journal.closeStream(STREAM, 'sealed', 'str_other', rfc3339(T0_MS))).toBe(true);
    await until('the writer to halt', () => halts.length > 0);
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatch(/sealed by another writer/);

    const queuedErr = await queued;
    expect(queuedErr.status).toBeGreaterThanOrEqual(500);
    const laterErr = await failure(writer.append({ records: [rec('auth.failed', { n: 3 })] }));
    expect(laterErr.status).toBeGreaterThanOrEqual(500);
    expect(laterErr.message).toMatch(/halted/);
    expect((await failure(writer.checkpointNow())).status).toBeGreaterThanOrEqual(500);

    // What the store does with the batch it already had is the store's business; let it finish.
    wrapped.release();
    await Promise.allSettled([inFlight]);
    await writer.idle();
    const renewalsAtHalt = wrapped.renewals;
    const recordsAtHalt = (await store.journal.readStream(STREAM, 1, 1000)).length;

    // Halted for good: stop() writes nothing (no journal.stopped, no checkpoint), the timer is gone.
    await writer.stop(rec('journal.stopped'));
    await writer.idle();
    expect(intervals.filter((timer) => !cleared.has(timer)), 'timers left running').toEqual([]);
    const records = await store.journal.readStream(STREAM, 1, 1000);
    expect(records).toHaveLength(recordsAtHalt);
    expect(records.map((r) => r.type)).not.toContain('journal.stopped');
    expect(records.some((r) => r.data.n === 2 || r.data.n === 3)).toBe(false);
    expect(wrapped.renewals).toBe(renewalsAtHalt);
    expect(halts).toHaveLength(1);
    const [status] = await store.journal.listStreams();
    expect(status).toMatchObject({ id: STREAM, state: 'sealed', closedBy: 'str_other' });
  });
});

describe('a writer whose store was changed underneath it', () => {
  const cases = [
    { how: 'a checkpoint due by record count', everyRecords: 4, append: (w: JournalWriter) => w.append({ records: [rec('auth.failed', { n: 3 })] }) },
    { how: 'an on-demand checkpoint', everyRecords: 1000, append: (w: JournalWriter) => w.checkpointNow() },
  ];

  it.each(cases)('signs $how when the stored records match its tree (control)', async ({ everyRecords, append }) => {
    const { store, writer, halts } = await startedRig({ everyRecords });
    await writer.append({ records: [rec('auth.failed', { n: 1 }), rec('auth.failed', { n: 2 })] });
    await append(writer);
    expect(halts).toEqual([]);
    const checkpoint = await store.journal.latestCheckpoint(STREAM);
    expect(checkpoint?.size).toBeGreaterThanOrEqual(3);
    await writer.stop(rec('journal.stopped'));
  });

  it.each(cases)('refuses to sign $how: the batch fails with a 5xx, nothing of it is stored, the writer halts', async ({ everyRecords, append }) => {
    const { store, wrapped, writer, halts } = await startedRig({ everyRecords });
    await writer.append({ records: [rec('auth.failed', { n: 1 }), rec('auth.failed', { n: 2 })] });
    const before = await store.journal.readStream(STREAM, 1, 1000);
    expect(before.map((r) => r.seq)).toEqual([1, 2, 3]);

    // seq 2 is already committed; the store now says it is something else.
    wrapped.tamperedSeq = 2;
    const err = await failure(append(writer));
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatch(/not the ones this writer wrote/);

    expect(await store.journal.readStream(STREAM, 1, 1000)).toEqual(before);
    expect(await store.journal.latestCheckpoint(STREAM)).toBeNull();
    const later = await failure(writer.append({ records: [rec('auth.failed', { n: 4 })] }));
    expect(later.status).toBeGreaterThanOrEqual(500);
    await writer.stop(rec('journal.stopped'));
    expect(await store.journal.readStream(STREAM, 1, 1000)).toEqual(before);
  });
});

describe('a writer that finds records it did not write', () => {
  const FRESH = 'str_01jdhaltwriterfresh0000000';

  /** A record someone with write access to the store put at the tail of the writer's stream. */
  async function forgeTail(store: Store): Promise<void> {
    const [last] = (await store.journal.readStream(STREAM, 1, 1000)).slice(-1);
    const forged = sealRecord(rec('payment.succeeded', { forged: true }), { journal: JOURNAL, stream: STREAM, seq: (last?.seq ?? 0) + 1, prev: last?.hash ?? '', ts: rfc3339(T0_MS) });
    await store.journal.commit([{ records: [forged] }]);
  }

  it('never adopts them: it tells, leaves the stream for good, and goes on with a new one', async () => {
    const conflicts: string[] = [];
    const { store, writer, halts } = await startedRig({}, {
      onConflict: (reason) => conflicts.push(reason),
      newStream: () => ({ streamId: FRESH, started: rec('journal.started', { fresh: true }) }),
    });
    await writer.append({ records: [rec('auth.failed', { n: 1 })] });
    const signedBefore = (await store.journal.streamStatus(STREAM))?.head;
    expect(signedBefore?.size).toBe(2);
    await forgeTail(store);

    // The next batch cannot continue the stream: refused, and the writer moves on.
    expect((await failure(writer.append({ records: [rec('auth.failed', { n: 2 })] }))).status).toBe(503);
    expect(conflicts).toEqual([expect.stringMatching(new RegExp(`stream ${STREAM} ends at seq 3, which this writer did not write`))]);
    expect(halts).toEqual([]);
    expect(writer.streamId).toBe(FRESH);

    const [next] = await writer.append({ records: [rec('auth.failed', { n: 3 })] });
    expect(next).toMatchObject({ stream: FRESH, seq: 2 });
    const fresh = await store.journal.readStream(FRESH, 1, 10);
    expect(fresh.map((r) => [r.seq, r.type])).toEqual([[1, 'journal.started'], [2, 'auth.failed']]);
    expect((await store.journal.streamStatus(FRESH))?.head).toMatchObject({ stream: FRESH, size: 2 });
    // The old stream got nothing more, and nothing of it was signed past what the writer wrote.
    expect((await store.journal.readStream(STREAM, 1, 10)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await store.journal.streamStatus(STREAM))?.head).toEqual(signedBefore);
    await writer.stop(rec('journal.stopped'));
  });

  it('halts when it has no new stream to go on with', async () => {
    const { store, writer, halts } = await startedRig({});
    await forgeTail(store);
    await failure(writer.append({ records: [rec('auth.failed')] }));
    expect(halts).toEqual([expect.stringMatching(/which this writer did not write/)]);
    expect(writer.halted).toBe(true);
  });
});

describe('signed heads', () => {
  it('every commit stores a signed head of everything the writer committed, so no acknowledged record is unsigned', async () => {
    const { store, writer } = await startedRig({});
    for (let n = 1; n <= 3; n++) {
      const [record] = await writer.append({ records: [rec('auth.failed', { n })] });
      const head = (await store.journal.streamStatus(STREAM))?.head;
      expect(head?.size).toBe(record?.seq);
      const check = checkCheckpoint(head?.note ?? '', [{ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null }], `${JOURNAL}/${STREAM}`);
      expect(check).toMatchObject({ ok: true, body: { size: record?.seq, root: head?.root, time: rfc3339(T0_MS) } });
      const frontier = new MerkleFrontier();
      for (const hash of await store.journal.readHashes(STREAM, 1, 1000)) frontier.push(Buffer.from(hash, 'hex'));
      expect(frontier.root().toString('hex')).toBe(head?.root);
    }
    await writer.stop(rec('journal.stopped'));
  });
});
