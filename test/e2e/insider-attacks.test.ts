import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../../src/core/checkpoint.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { rfc3339 as iso } from '../../src/core/time.js';
import { createApiKey } from '../../src/app/api-keys.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { type Metrics, NO_METRICS } from '../../src/ports/metrics.js';
import {
  APPROVE, type Answer, type Instance, LOAD_CARDS, LoadLog, killInstance, paymentJson, postPayment, runLoad,
} from '../support/load.js';
import { waitFor, waitUntil } from '../support/wait.js';
import {
  JOURNAL, STORE_KINDS, type StoreKind, type Target, type Verified, expectValidHead, forgeChain, forgedStream, forgedStreamId,
  inventedPayment, openTarget, startedDraft,
} from '../support/insider.js';
import { type ServerProcess, stopProcess } from '../support/process.js';

/**
 * Issue 11's attacks by an insider who can write to the store but does not hold the signing
 * key, on every store, each against real `paylog` processes: whatever the insider writes is
 * never covered by a signature, `paylog verify --key <published key>` exits 1 naming the
 * forged stream and its first forged seq, and a server under attack keeps serving. Then the
 * crash cases: a sealer killed right before its one commit, and kill -9 under load.
 */

/** A crashed writer's stream may be sealed this long after its last renewal (every 300 ms here). */
const LEASE_MS = 2_000;
const CRASH_SETTINGS = { PAYLOG_CHECKPOINT_INTERVAL_MS: '300', PAYLOG_STREAM_LEASE_MS: String(LEASE_MS) };
const MINUTE_MS = 60_000;

/**
 * verify exits 1 and names `stream` at `seq` with `kind`, in JSON and in text. With `first`,
 * nothing of the stream before `seq` is flagged: the genuine records before the forged ones stand.
 */
function expectNamed(verified: Verified, stream: string, seq: number, kind: string, first = false): void {
  expect(verified.status, verified.text).toBe(1);
  const own = verified.report.problems.filter((p) => p.stream === stream);
  expect(own, verified.text).toContainEqual(expect.objectContaining({ stream, seq, kind }));
  if (first) expect(Math.min(...own.map((p) => p.seq ?? Number.POSITIVE_INFINITY)), verified.text).toBe(seq);
  expect(verified.text).toContain(`INVALID: stream ${stream} seq ${seq}: ${kind.replace(/_/g, ' ')} — `);
}

function invalidStreams(verified: Verified): string[] {
  return verified.report.streams.filter((s) => !s.valid).map((s) => s.stream).sort();
}

async function pay(server: ServerProcess, secret: string, key: string): Promise<Answer & { audit: { stream: string; seq: number } }> {
  const answer = await postPayment(server.url, secret, key, paymentJson(APPROVE));
  expect(answer.status, answer.text).toBe(201);
  const audit = answer.payment?.audit;
  expect(audit?.stream).toMatch(/^str_/);
  return { ...answer, audit: audit as { stream: string; seq: number } };
}

function last(records: AuditRecord[]): AuditRecord {
  expect(records.length).toBeGreaterThan(0);
  return records[records.length - 1] as AuditRecord;
}

describe.each(STORE_KINDS)('an insider without the signing key, on %s', (kind: StoreKind) => {
  let target: Target | null = null;
  const open = async (name: string, settings: Record<string, string> = {}): Promise<Target> => {
    target = await openTarget(kind, name, settings);
    return target;
  };
  afterEach(async () => {
    await target?.close();
    target = null;
  });

  it('(a) a made-up stream with a lapsed lease is sealed at size 0 by the next start; verify names its first record', async () => {
    const t = await open('madeup');
    const now = Date.now();
    const id = forgedStreamId();
    const forged = forgeChain({ stream: id }, [startedDraft(), ...inventedPayment()], (i) => iso(now - 2 * MINUTE_MS + i * 1_000));
    expect(forged.map((r) => r.type)).toEqual(['journal.started', 'payment.received', 'payment.succeeded']);
    await t.insider.createStream(forgedStream(id, iso(now - 2 * MINUTE_MS), iso(now - MINUTE_MS)));
    await t.insider.append(forged);

    // Any start seals lapsed streams, even a command that only creates an API key.
    const started = await t.paylog(['keys', 'create', '--merchant', 'acme']);
    expect(started.status, started.stderr).toBe(0);

    const row = await t.insider.stream(id);
    expect(row).toMatchObject({ state: 'sealed', head: null });
    // The seal covers nothing: size 0, the root of no records.
    expect(await t.insider.checkpointSizes(id)).toEqual([0]);
    const seals = (await t.insider.recordsOfType('journal.sealed')).filter((r) => r.data.stream === id);
    expect(seals).toHaveLength(1);
    expect(seals[0]).toMatchObject({ stream: row.closedBy, data: { size: 0 } });
    expect(String(seals[0]?.data.note)).toMatch(new RegExp(`^${JOURNAL}/${id}\\n0\\n`));

    const verified = await t.verify();
    expectNamed(verified, id, 1, 'appended_after_seal', true);
    expect(verified.report.streams.find((s) => s.stream === id)).toMatchObject({ end: 'sealed_after_crash', valid: false, records: 3, uncovered: 3 });
    expect(invalidStreams(verified)).toEqual([id]);
  });

  it('(b) a record slipped in at the tail of a running server\'s stream is never adopted; the server goes on with a new stream', async () => {
    const t = await open('adopt');
    const secret = await t.apiKey();
    const server = await t.serve();
    const attacked = (await pay(server, secret, 'before-0')).audit.stream;
    await pay(server, secret, 'before-1');

    // The server is idle (no timer checkpoint in this test): its tail stays where the insider reads it.
    const tail = last(await t.insider.records(attacked));
    // A payment.succeeded of an invented payment.
    const forged = last(forgeChain(tail, inventedPayment().slice(1), () => iso(Date.now())));
    await t.insider.append([forged]);

    // Payments keep coming: the batch that finds the forged record fails (503), the server moves to a new stream.
    const statuses = new Map<string, number>();
    const unexpected: string[] = [];
    let ackedElsewhere = 0;
    let sent = 0;
    const client = async (n: number): Promise<void> => {
      while (ackedElsewhere < 6 && sent < 60) {
        const key = `after-${n}-${sent++}`;
        const answer = await postPayment(server.url, secret, key, paymentJson(APPROVE));
        const label = `${answer.status} ${answer.code ?? answer.payment?.status ?? ''}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        if (answer.status === 201 && answer.payment?.status === 'succeeded') {
          const audit = answer.payment.audit as { stream: string; seq: number };
          if (audit.stream === attacked) unexpected.push(`${key}: acknowledged in the attacked stream at seq ${audit.seq}`);
          else ackedElsewhere++;
        } else if (!(answer.status === 503 && answer.code === 'store_unavailable')) {
          unexpected.push(`${key}: ${answer.status} ${answer.text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all([client(0), client(1), client(2)]);
    expect(unexpected, JSON.stringify(Object.fromEntries(statuses))).toEqual([]);
    expect(ackedElsewhere, JSON.stringify(Object.fromEntries(statuses))).toBeGreaterThanOrEqual(6);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    // One conflict, logged at error level with the stream and the forged seq.
    const conflicts = server.output().split('\n').filter((l) => l.includes('journal conflict'));
    expect(conflicts, server.output()).toHaveLength(1);
    expect(JSON.parse(conflicts[0] as string)).toMatchObject({ level: 50 });
    expect(conflicts[0]).toContain(attacked);
    expect(conflicts[0]).toContain(`seq ${forged.seq}`);
    expect(await stopProcess(server.child, 'SIGTERM'), server.output()).toBe(0);

    // Nothing ever signed it: the stream's head and every checkpoint of it stop short of the forged seq, and nobody sealed it.
    const row = await t.insider.stream(attacked);
    expect(row.state).toBe('open');
    expect(expectValidHead(row.head, t.verifierKey, attacked).size).toBe(tail.seq);
    for (const size of await t.insider.checkpointSizes(attacked)) expect(size).toBeLessThan(forged.seq);
    expect((await t.insider.recordsOfType('journal.sealed')).filter((r) => r.data.stream === attacked)).toEqual([]);

    const verified = await t.verify();
    expectNamed(verified, attacked, forged.seq, 'unauthenticated', true);
    expect(invalidStreams(verified)).toEqual([attacked]);
  });

  it('(b) the conflict is counted in JournalConflicts, once, and the writer goes on with a new stream', async () => {
    const t = await open('count');
    let counted = 0;
    const conflicts: string[] = [];
    const metrics: Metrics = { ...NO_METRICS, journalConflict: () => { counted++; } };
    const services = await startServices(loadConfig({}, t.env()), { role: 'test', metrics, onConflict: (reason) => conflicts.push(reason) });
    try {
      const attacked = services.ctx.writer.streamId;
      await createApiKey(services.ctx, services.system, 'acme', null);
      const forged = last(forgeChain(last(await t.insider.records(attacked)), inventedPayment().slice(1), () => iso(Date.now())));
      await t.insider.append([forged]);
      await expect(createApiKey(services.ctx, services.system, 'acme', null)).rejects.toMatchObject({ code: 'store_unavailable' });
      await createApiKey(services.ctx, services.system, 'acme', null);
      expect(services.ctx.writer.streamId).not.toBe(attacked);
      expect(counted).toBe(1);
      expect(conflicts).toEqual([expect.stringContaining(`stream ${attacked} ends at seq ${forged.seq}`)]);
    } finally {
      await services.close();
    }
  });

  it('(c) a cleanly stopped stream, reopened with a lapsed lease and extended, is refused by the next start; verify: appended after stop', async () => {
    const t = await open('stopped');
    const secret = await t.apiKey();
    const first = await t.serve();
    const stopped = (await pay(first, secret, 'stop-0')).audit.stream;
    expect(await stopProcess(first.child, 'SIGTERM'), first.output()).toBe(0);
    const before = await t.insider.records(stopped);
    const stoppedAt = before.findIndex((r) => r.type === 'journal.stopped');
    expect(before.slice(stoppedAt).map((r) => r.type)).toEqual(['journal.stopped', 'journal.checkpoint']);
    const checkpointsBefore = await t.insider.checkpointSizes(stopped);

    await t.insider.reopen(stopped, iso(Date.now() - MINUTE_MS));
    const appended = forgeChain(last(before), inventedPayment(), () => iso(Date.now()));
    await t.insider.append(appended);

    const second = await t.serve();
    await waitFor('the refusal to be logged', () => second.output().includes('journal conflict'));
    const refusal = second.output().split('\n').filter((l) => l.includes('journal conflict'));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain(`stream ${stopped} was not sealed`);
    expect(refusal[0]).toContain('stopped cleanly');
    expect(await stopProcess(second.child, 'SIGTERM'), second.output()).toBe(0);

    expect((await t.insider.stream(stopped)).state).toBe('open');
    expect(await t.insider.checkpointSizes(stopped)).toEqual(checkpointsBefore);
    expect((await t.insider.recordsOfType('journal.sealed')).filter((r) => r.data.stream === stopped)).toEqual([]);

    const verified = await t.verify();
    expectNamed(verified, stopped, appended[0]?.seq as number, 'appended_after_stop', true);
    expect(invalidStreams(verified)).toEqual([stopped]);
  });

  it('(d) times no signature covers prove nothing: a stream dated 2099 and one with an unparsable ts are reported', async () => {
    const t = await open('times');
    const now = Date.now();
    // Leases in 2099 too: no writer ever seals them, they stay open forever.
    const future = forgedStreamId();
    await t.insider.createStream(forgedStream(future, '2099-01-01T00:00:00.000Z', '2099-01-01T00:10:00.000Z'));
    await t.insider.append(forgeChain({ stream: future }, [startedDraft(), ...inventedPayment()], (i) => `2099-01-01T00:00:0${i}.000Z`));
    const garbled = forgedStreamId();
    await t.insider.createStream(forgedStream(garbled, iso(now), '2099-01-01T00:10:00.000Z'));
    await t.insider.append(forgeChain({ stream: garbled }, [startedDraft(), ...inventedPayment()], (i) => (i === 1 ? 'yesterday' : iso(now))));

    const verified = await t.verify();
    expectNamed(verified, future, 1, 'time_invalid');
    expectNamed(verified, garbled, 2, 'malformed');
    // Neither is taken for a fresh, signed stream: no signature covers any of their records.
    expect(verified.report.problems).toContainEqual(expect.objectContaining({ stream: future, kind: 'unauthenticated', seq: 1 }));
    expect(verified.report.problems).toContainEqual(expect.objectContaining({ stream: garbled, kind: 'unauthenticated', seq: 1 }));
    expect(invalidStreams(verified)).toEqual([future, garbled].sort());
  });

  it('(d) a rotated-out key vouches for nothing signed after its window, and a head cannot be backdated into it', async () => {
    const t = await open('window');
    const keysDir = mkdtempSync(join(tmpdir(), 'paylog-insider-keys-'));
    try {
      // The journal's key is retired now; a new one takes over.
      const switchMs = Date.now();
      while (Date.now() <= switchMs) await new Promise((r) => setTimeout(r, 2));
      const newKey = verifierKeyOf(signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey));
      const keys = join(keysDir, 'trusted.keys');
      writeFileSync(keys, `${t.verifierKey} until=${iso(switchMs)}\n${newKey} from=${iso(switchMs)}\n`);
      const trust = ['--keys', keys];

      // A process still running with the retired key signs after its window.
      const late = await t.paylog(['keys', 'create', '--merchant', 'late']);
      expect(late.status, late.stderr).toBe(0);
      const [created] = await t.insider.recordsOfType('key.created');
      const stream = created?.stream as string;
      const records = await t.insider.records(stream);
      const head = expectValidHead((await t.insider.stream(stream)).head, t.verifierKey, stream);
      expect(head.size).toBe(records.length);

      const expired = await t.verify(trust);
      expect(expired.status, expired.text).toBe(1);
      expect(expired.report.problems.filter((p) => p.kind === 'checkpoint_invalid' && p.message.startsWith('signed head'))).toEqual([
        expect.objectContaining({ stream, message: expect.stringMatching(/expired key/) }),
      ]);
      expectNamed(expired, stream, 1, 'unauthenticated');
      expect(invalidStreams(expired)).toEqual([stream]);

      // The insider moves the head's signed time back into the window: without the key, the signature no longer holds.
      const backdated = iso(switchMs - 10 * MINUTE_MS);
      const edited = head.note.replace(/^time .*$/m, `time ${backdated}`);
      expect(edited).not.toBe(head.note);
      await t.insider.setHead(stream, { ...head, note: edited });
      const forged = await t.verify(trust);
      expect(forged.status, forged.text).toBe(1);
      expect(forged.report.problems.filter((p) => p.message.startsWith('signed head'))).toEqual([
        expect.objectContaining({ stream, kind: 'checkpoint_invalid', message: expect.stringMatching(/forged/) }),
      ]);
      expect(invalidStreams(forged)).toEqual([stream]);

      // Even whoever still holds the retired key cannot: a head signed with a time inside the window, before the records it covers, is refused.
      const signedBack = signCheckpoint({ origin: checkpointOrigin(JOURNAL, stream), size: head.size, root: head.root, time: backdated }, [t.signer]);
      await t.insider.setHead(stream, { ...head, note: signedBack });
      const early = await t.verify(trust);
      expect(early.status, early.text).toBe(1);
      expect(early.report.problems.filter((p) => p.message.startsWith('signed head'))).toEqual([
        expect.objectContaining({ stream, kind: 'time_invalid', message: expect.stringMatching(/before the records it covers/) }),
      ]);
      expectNamed(early, stream, 1, 'unauthenticated');
    } finally {
      rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('(e) every acknowledged payment is covered by the head when answered; dropping the newest records is truncated', async () => {
    const t = await open('drop');
    const secret = await t.apiKey();
    const server = await t.serve();
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const answer = await pay(server, secret, `drop-${i}`);
      // Read right after the 201, with nothing else writing in between (one client, no timer checkpoints): the head
      // stored when the client got its answer already covers the payment's records, under the published key.
      const head = expectValidHead((await t.insider.stream(answer.audit.stream)).head, t.verifierKey, answer.audit.stream);
      expect(head.size).toBeGreaterThanOrEqual(answer.audit.seq);
      answers.push(answer);
    }
    await stopProcess(server.child, 'SIGKILL');
    const stream = answers[0]?.audit.stream as string;
    const records = await t.insider.records(stream);
    expect(expectValidHead((await t.insider.stream(stream)).head, t.verifierKey, stream).size).toBe(records.length);

    // The last payment's records come after the stream's newest checkpoint: only the head covers them.
    const lastPayment = answers[3]?.payment?.id as string;
    const from = Math.min(...records.filter((r) => r.resource === lastPayment).map((r) => r.seq));
    expect(Math.max(0, ...(await t.insider.checkpointSizes(stream)))).toBeLessThan(from);
    expect(from).toBeGreaterThan(1);
    await t.insider.deleteFrom(stream, from);
    expect((await t.insider.records(stream)).length).toBe(from - 1);

    const verified = await t.verify();
    expectNamed(verified, stream, from, 'truncated');
    expect(invalidStreams(verified)).toEqual([stream]);
  });

  it('kill -9 under load: every acknowledged payment is covered by the dead stream\'s head, then by its seal; verify exits 0', async () => {
    const t = await open('kill', CRASH_SETTINGS);
    const secret = await t.apiKey();
    const first: Instance = { name: 'first', server: await t.serve(), killed: false };
    const log = new LoadLog(secret);
    const load = runLoad(6, (n, i) => {
      const card = LOAD_CARDS[(n + i) % LOAD_CARDS.length]!;
      return log.send(first, `kill-${n}-${i}`, card, paymentJson(card, 500 + i));
    });
    await log.until((l) => l.count() >= 24);
    const killedAt = await killInstance(first);
    await load.stop();
    log.expectNothingUnexpected();
    const dead = log.streams.get('first') as string;

    // The head the dead writer committed last covers every record of its stream, each acknowledged payment's among them.
    const records = await t.insider.records(dead);
    const row = await t.insider.stream(dead);
    expect(row.state).toBe('open');
    expect(expectValidHead(row.head, t.verifierKey, dead).size).toBe(records.length);
    const received = new Set(records.filter((r) => r.type === 'payment.received').map((r) => r.resource));
    expect([...log.acked.keys()].filter((id) => !received.has(id))).toEqual([]);
    const afterCrash = await t.verify();
    expect(afterCrash.status, afterCrash.text).toBe(0);
    expect(afterCrash.report.streams.find((s) => s.stream === dead)).toMatchObject({ end: 'open', valid: true, uncovered: 0 });

    // Once its lease lapsed, the next start seals exactly what its head covers.
    await waitUntil(killedAt + LEASE_MS);
    const next = await t.paylog(['keys', 'create', '--merchant', 'next']);
    expect(next.status, next.stderr).toBe(0);
    expect((await t.insider.stream(dead)).state).toBe('sealed');
    expect(Math.max(...(await t.insider.checkpointSizes(dead)))).toBe(records.length);
    const sealed = await t.verify();
    expect(sealed.status, sealed.text).toBe(0);
    expect(sealed.report.streams.find((s) => s.stream === dead)).toMatchObject({ end: 'sealed_after_crash', valid: true, records: records.length, uncovered: 0 });
  });

  // Not on SQLite: its one write lock would hold the sealer's earlier commits too, so nothing
  // outside the process can stop it between them and its seal. There the seal is one SQLite
  // transaction with the stream's close (test/unit/seal-streams.test.ts, the store contract).
  const onStoresWithRowLocks = kind === 'sqlite' ? (): void => undefined : it;
  onStoresWithRowLocks('a sealer killed right before its one commit leaves the stream open with nothing signed; the next start seals it', async () => {
    const t = await open('sealcrash', CRASH_SETTINGS);
    const secret = await t.apiKey();
    const server = await t.serve();
    const dead = (await pay(server, secret, 'crash-0')).audit.stream;
    await pay(server, secret, 'crash-1');
    await stopProcess(server.child, 'SIGKILL');
    const killedAt = Date.now();
    const before = await t.insider.stream(dead);
    const head = expectValidHead(before.head, t.verifierKey, dead);
    const checkpoints = await t.insider.checkpointSizes(dead);
    await waitUntil(killedAt + LEASE_MS);

    const startedBefore = await t.insider.recordsOfType('journal.started');
    await (t.crashBeforeSeal as NonNullable<Target['crashBeforeSeal']>)(dead, ['keys', 'create', '--merchant', 'sealer']);
    // The sealer had started (its journal.started is committed) and died before anything else landed.
    const sealerStarts = (await t.insider.recordsOfType('journal.started')).filter((r) => !startedBefore.some((b) => b.stream === r.stream));
    expect(sealerStarts).toHaveLength(1);
    expect((await t.insider.records(sealerStarts[0]?.stream as string)).map((r) => r.type)).toEqual(['journal.started']);
    expect(await t.insider.stream(dead)).toEqual(before);
    expect(await t.insider.checkpointSizes(dead)).toEqual(checkpoints);
    expect(await t.insider.recordsOfType('journal.sealed')).toEqual([]);
    const unsealed = await t.verify();
    expect(unsealed.status, unsealed.text).toBe(0);
    expect(unsealed.report.streams.find((s) => s.stream === dead)).toMatchObject({ end: 'open', valid: true });

    const next = await t.paylog(['keys', 'create', '--merchant', 'next']);
    expect(next.status, next.stderr).toBe(0);
    expect((await t.insider.stream(dead)).state).toBe('sealed');
    const seals = (await t.insider.recordsOfType('journal.sealed')).filter((r) => r.data.stream === dead);
    expect(seals).toHaveLength(1);
    expect(seals[0]?.data).toMatchObject({ size: head.size, root: head.root });
    const sealed = await t.verify();
    expect(sealed.status, sealed.text).toBe(0);
    expect(sealed.report.streams.find((s) => s.stream === dead)).toMatchObject({ end: 'sealed_after_crash', valid: true });
  });
});
