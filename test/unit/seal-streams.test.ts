import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { sealAbandonedStreams } from '../../src/app/seal-streams.js';
import { type Services, startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { type AuditRecord, GENESIS_PREV, type RecordDraft, sealRecord } from '../../src/core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../../src/core/checkpoint.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { signerFromPrivateKey } from '../../src/core/signed-note.js';
import type { Store } from '../../src/ports/store.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';

/**
 * Sealing a crashed writer's stream signs exactly what that writer signed — its records up to
 * its last signed head, checked — and never a record someone with write access to the store
 * made up or appended, nor a stream that already ended.
 */
const JOURNAL = 'paylog-seal';
const LAPSED_AT = '2020-01-01T00:00:00.000Z';
const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const signer = signerFromPrivateKey(JOURNAL, createPrivateKey(pem));
const open: { services: Services; dir: string }[] = [];

afterEach(async () => {
  for (const { services, dir } of open.splice(0)) {
    // Two sealers of one test share a store; the first to close closes it for both.
    await services.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

async function sealer(store: Store): Promise<Services> {
  const dir = mkdtempSync(join(tmpdir(), 'paylog-seal-'));
  const config = loadConfig({}, {
    ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dir, PAYLOG_JOURNAL: JOURNAL,
    PAYLOG_SIGNING_KEY: pem, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
  });
  const services = await startServices(config, { role: 'test', store, sealAbandoned: false });
  open.push({ services, dir });
  return services;
}

function draft(type: RecordDraft['type'], data: RecordDraft['data'] = {}): RecordDraft {
  return { type, actor: 'key_attacker', origin: { requestId: null, traceId: null, ip: null }, resource: 'txn_01jdforged000000000000000', outcome: 'success', reason: null, data };
}

/** Records chained exactly as a writer chains them: the attacker knows the format, not the key. */
function chain(stream: string, types: RecordDraft['type'][], from: AuditRecord | null = null): AuditRecord[] {
  const records: AuditRecord[] = [];
  let last = from;
  for (const type of types) {
    last = sealRecord(draft(type), { journal: JOURNAL, stream, seq: (last?.seq ?? 0) + 1, prev: last?.hash ?? GENESIS_PREV, ts: LAPSED_AT });
    records.push(last);
  }
  return records;
}

/** A crashed writer's stream: records its writer signed a head of, and a lapsed lease. */
async function crashedStream(store: Store, stream: string, records: AuditRecord[], signedSize = records.length): Promise<void> {
  await store.journal.createStream({ id: stream, journal: JOURNAL, startedAt: LAPSED_AT, writer: 'dead:1', leaseExpiresAt: LAPSED_AT });
  const frontier = new MerkleFrontier();
  for (const record of records.slice(0, signedSize)) frontier.push(Buffer.from(record.hash, 'hex'));
  const root = frontier.root().toString('hex');
  const note = signCheckpoint({ origin: checkpointOrigin(JOURNAL, stream), size: signedSize, root, time: LAPSED_AT }, [signer]);
  await store.journal.commit([{ records: records.slice(0, signedSize), head: { stream, size: signedSize, root, note } }]);
  if (signedSize < records.length) await store.journal.commit([{ records: records.slice(signedSize) }]);
}

describe('sealing a crashed writer\'s stream', () => {
  it('signs exactly the records its writer signed, in one commit with the stream\'s close', async () => {
    const store = createMemoryStore();
    await crashedStream(store, 'str_dead', chain('str_dead', ['journal.started', 'payment.received']));
    const services = await sealer(store);
    const result = await sealAbandonedStreams(services.ctx, services.system, [signer]);
    expect(result).toEqual({ sealed: [{ stream: 'str_dead', size: 2, root: expect.any(String) }], refused: [] });
    expect(await store.journal.streamStatus('str_dead')).toMatchObject({ state: 'sealed', closedBy: services.ctx.writer.streamId });
    expect(await store.journal.latestCheckpoint('str_dead')).toMatchObject({ size: 2, root: result.sealed[0]?.root });
    const own = await store.journal.readStream(services.ctx.writer.streamId, 1, 10);
    expect(own.map((r) => r.type)).toEqual(['journal.started', 'journal.sealed']);
  });

  it('(a) a made-up stream, with no head its writer signed, is sealed at size 0: none of its records gets a signature', async () => {
    const store = createMemoryStore();
    const forged = chain('str_forged', ['journal.started', 'payment.succeeded', 'payment.succeeded']);
    await store.journal.createStream({ id: 'str_forged', journal: JOURNAL, startedAt: LAPSED_AT, writer: 'ghost:1', leaseExpiresAt: LAPSED_AT });
    await store.journal.commit([{ records: forged }]);
    const services = await sealer(store);
    const result = await sealAbandonedStreams(services.ctx, services.system, [signer]);
    expect(result.sealed).toEqual([{ stream: 'str_forged', size: 0, root: new MerkleFrontier().root().toString('hex') }]);
    expect(await store.journal.latestCheckpoint('str_forged')).toMatchObject({ size: 0 });
  });

  it('(b) records appended after the last signed head are left out of the seal', async () => {
    const store = createMemoryStore();
    const records = chain('str_dead', ['journal.started', 'payment.received', 'payment.succeeded']);
    await crashedStream(store, 'str_dead', records, 2);
    const services = await sealer(store);
    const result = await sealAbandonedStreams(services.ctx, services.system, [signer]);
    expect(result.sealed).toEqual([{ stream: 'str_dead', size: 2, root: expect.any(String) }]);
    expect(await store.journal.latestCheckpoint('str_dead')).toMatchObject({ size: 2 });
  });

  it('(c) refuses a stream that was stopped cleanly and reopened: it stays open, nothing is signed', async () => {
    const store = createMemoryStore();
    const stopped = chain('str_stopped', ['journal.started', 'journal.stopped']);
    await crashedStream(store, 'str_stopped', [...stopped, ...chain('str_stopped', ['payment.succeeded'], stopped[1] ?? null)], 2);
    const services = await sealer(store);
    const result = await sealAbandonedStreams(services.ctx, services.system, [signer]);
    expect(result).toEqual({ sealed: [], refused: [{ stream: 'str_stopped', reason: 'it was stopped cleanly (journal.stopped at seq 2)' }] });
    expect(await store.journal.streamStatus('str_stopped')).toMatchObject({ state: 'open' });
    expect(await store.journal.latestCheckpoint('str_stopped')).toBeNull();
  });

  it('refuses a stream whose head no key of this journal signed, or whose records do not reproduce it', async () => {
    const store = createMemoryStore();
    const other = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
    const records = chain('str_alien', ['journal.started']);
    await store.journal.createStream({ id: 'str_alien', journal: JOURNAL, startedAt: LAPSED_AT, writer: 'x:1', leaseExpiresAt: LAPSED_AT });
    const alienTree = new MerkleFrontier();
    alienTree.push(Buffer.from(records[0]?.hash ?? '', 'hex'));
    const alienRoot = alienTree.root().toString('hex');
    const alienNote = signCheckpoint({ origin: checkpointOrigin(JOURNAL, 'str_alien'), size: 1, root: alienRoot, time: LAPSED_AT }, [other]);
    await store.journal.commit([{ records, head: { stream: 'str_alien', size: 1, root: alienRoot, note: alienNote } }]);

    // A head its writer signed over other records than the store now holds.
    const signed = chain('str_swapped', ['journal.started', 'payment.received']);
    const stored = [signed[0] as AuditRecord, ...chain('str_swapped', ['payment.succeeded'], signed[0] ?? null)];
    const frontier = new MerkleFrontier();
    for (const r of signed) frontier.push(Buffer.from(r.hash, 'hex'));
    const root = frontier.root().toString('hex');
    const note = signCheckpoint({ origin: checkpointOrigin(JOURNAL, 'str_swapped'), size: 2, root, time: LAPSED_AT }, [signer]);
    await store.journal.createStream({ id: 'str_swapped', journal: JOURNAL, startedAt: LAPSED_AT, writer: 'x:2', leaseExpiresAt: LAPSED_AT });
    await store.journal.commit([{ records: stored, head: { stream: 'str_swapped', size: 2, root, note } }]);

    const services = await sealer(store);
    const result = await sealAbandonedStreams(services.ctx, services.system, [signer]);
    expect(result.sealed).toEqual([]);
    expect(result.refused).toEqual(expect.arrayContaining([
      { stream: 'str_alien', reason: expect.stringMatching(/^its stored head is not one this journal signed/) },
      { stream: 'str_swapped', reason: 'its records do not reproduce the root of its signed head' },
    ]));
  });

  it('of two writers sealing at once, one seals and the other\'s commit is refused whole', async () => {
    const store = createMemoryStore();
    await crashedStream(store, 'str_dead', chain('str_dead', ['journal.started']));
    const [a, b] = [await sealer(store), await sealer(store)];
    const results = await Promise.all([a, b].map((s) => sealAbandonedStreams(s.ctx, s.system, [signer])));
    expect(results.flatMap((r) => r.sealed)).toHaveLength(1);
    const sealedRecords = await Promise.all([a, b].map(async (s) => (await store.journal.readStream(s.ctx.writer.streamId, 1, 10)).filter((r) => r.type === 'journal.sealed')));
    expect(sealedRecords.flat()).toHaveLength(1);
  });
});
