import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Witness, originHash } from '../../src/app/witness/add-checkpoint.js';
import type { WitnessStore } from '../../src/app/witness/witness-store.js';
import { openSqliteWitnessStore } from '../../src/adapters/witness-store/sqlite.js';
import { trustedLogsOf } from '../../src/compose/witness.js';
import { type Cosigner, cosignerFromPrivateKey, cosignerKeyOf, parseCosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { parseVerifierKey, signNote, signatureValid, signerFromPrivateKey } from '../../src/core/signed-note.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';
import { buildWitnessApp } from '../../src/runtimes/witness/app.js';
import { TestLog, addCheckpointBody } from '../support/witness.js';

const START_MS = Date.UTC(2026, 10, 30, 17, 0, 0);

let dir: string;
let store: WitnessStore;
let cosigner: Cosigner;
let nowMs: number;
let log: TestLog;
let other: TestLog;
let app: FastifyInstance;

async function build(prefix = ''): Promise<FastifyInstance> {
  const witness: Witness = { store, cosigner, logs: trustedLogsOf([log.vkey, other.vkey]), clock: { now: () => nowMs } };
  const built = await buildWitnessApp({ witness, prefix, logger: false });
  await built.ready();
  return built;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paylog-witness-'));
  store = openSqliteWitnessStore(join(dir, 'witness.db'));
  cosigner = cosignerFromPrivateKey('witness.test/w1', generateKeyPairSync('ed25519').privateKey);
  nowMs = START_MS;
  log = new TestLog('log.test/one', 1000);
  other = new TestLog('log.test/two', 10);
  app = await build();
});

afterEach(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const add = (body: string | Buffer, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/add-checkpoint', payload: body, headers });

/** The cosignature in a 200 answer verifies, under the witness's published key, over the checkpoint's text. */
function expectCosigned(res: { statusCode: number; body: string }, source: TestLog, size: number, extensions: string[] = []): number {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.body).toMatch(/^\u2014 witness\.test\/w1 [A-Za-z0-9+/]+=*\n$/);
  const text = source.text(size, extensions);
  const { signatures } = openNote(`${text}\n${res.body}`);
  const verified = verifyCosignature(text, signatures[0]!, parseCosignerKey(cosignerKeyOf(cosigner)));
  expect(verified).not.toBeNull();
  return verified!.timestamp;
}

async function expectHeld(source: TestLog, size: number): Promise<void> {
  const res = await app.inject({ method: 'GET', url: `/${originHash(source.origin)}/checkpoint` });
  expect(res.statusCode).toBe(200);
  const { text, signatures } = openNote(res.body);
  expect(text).toBe(source.text(size));
  expect(signatureValid(text, signatures[0]!, parseVerifierKey(source.vkey))).toBe(true);
  expect(verifyCosignature(text, signatures[signatures.length - 1]!, parseCosignerKey(cosignerKeyOf(cosigner)))).not.toBeNull();
}

describe('POST /add-checkpoint: 200', () => {
  it('cosigns a first checkpoint, then each consistent one, with paylog\'s own consistency proofs', async () => {
    let last = 0;
    for (const size of [1, 2, 3, 7, 8, 9, 100, 511, 512, 513, 1000]) {
      nowMs += 1000;
      const timestamp = expectCosigned(await add(log.body(last, size)), log, size);
      expect(timestamp).toBe(Math.floor(nowMs / 1000));
      last = size;
      await expectHeld(log, size);
    }
  });

  it('cosigns the same tree again (old = size, same root, empty proof) with a fresh timestamp', async () => {
    expectCosigned(await add(log.body(0, 50)), log, 50);
    nowMs += 60_000;
    expect(expectCosigned(await add(log.body(50, 50)), log, 50)).toBe(Math.floor(nowMs / 1000));
  });

  it('cosigns the checkpoint with its extension lines, and serves it back with them', async () => {
    const extensions = ['time 2026-11-30T17:12:00.123Z', 'x-other 1'];
    expectCosigned(await add(log.body(0, 5, { extensions })), log, 5, extensions);
    const res = await app.inject({ method: 'GET', url: `/${originHash(log.origin)}/checkpoint` });
    expect(openNote(res.body).text).toBe(log.text(5, extensions));
  });

  it("cosigns paylog's own checkpoint notes (checkpoint.ts, with their signed time line)", async () => {
    const time = '2026-11-30T17:00:01.000Z';
    const note = signCheckpoint({ origin: log.origin, size: 64, root: log.root(64).toString('hex'), time }, [log.signer]);
    expectCosigned(await add(addCheckpointBody(0, [], note)), log, 64, [`time ${time}`]);
  });

  it('never dates a cosignature before the one it supersedes, when the clock steps back', async () => {
    const first = expectCosigned(await add(log.body(0, 5)), log, 5);
    nowMs -= 3_600_000;
    expect(expectCosigned(await add(log.body(5, 9)), log, 9)).toBe(first);
  });

  it('keeps the log signatures it verified, not the others, beside its cosignature', async () => {
    const stranger = signerFromPrivateKey('someone.else', generateKeyPairSync('ed25519').privateKey);
    expectCosigned(await add(addCheckpointBody(0, [], log.checkpoint(5, { signers: [stranger, log.signer] }))), log, 5);
    const res = await app.inject({ method: 'GET', url: `/${originHash(log.origin)}/checkpoint` });
    expect(openNote(res.body).signatures.map((s) => s.name)).toEqual(['log.test/one', 'witness.test/w1']);
  });

  it('reads the body whatever its Content-Type, or none', async () => {
    expectCosigned(await add(log.body(0, 3), { 'content-type': 'application/json' }), log, 3);
    expectCosigned(await add(log.body(3, 4), { 'content-type': 'text/plain' }), log, 4);
    const res = await app.inject({ method: 'POST', url: '/add-checkpoint', body: Buffer.from(log.body(4, 6)) });
    expectCosigned(res, log, 6);
  });

  it('serves under a configured prefix', async () => {
    await app.close();
    app = await build('/witness');
    expect((await add(log.body(0, 3))).statusCode).toBe(404);
    const res = await app.inject({ method: 'POST', url: '/witness/add-checkpoint', payload: log.body(0, 3) });
    expectCosigned(res, log, 3);
    expect((await app.inject({ method: 'GET', url: `/witness/${originHash(log.origin)}/checkpoint` })).statusCode).toBe(200);
  });
});

describe('POST /add-checkpoint: refusals', () => {
  const expectText = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, reason?: RegExp) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body.endsWith('\n')).toBe(true);
    expect(res.body.length).toBeLessThan(200);
    if (reason) expect(res.body).toMatch(reason);
  };

  it('400 for a malformed body, and for old > size', async () => {
    expectText(await add('hello'), 400, /old size line/);
    expectText(await add(''), 400);
    expectText(await add(`old 01\n\n${log.checkpoint(5)}`), 400, /old <size>/);
    expectText(await add(log.body(6, 5, { proof: [] })), 400, /old size 6 is larger than the checkpoint size 5/);
  });

  it('404 for an origin it was not configured with (the spec says 404; 403 is for signatures)', async () => {
    expectText(await add(new TestLog('log.test/unknown', 3).body(0, 3)), 404, /unknown log origin/);
  });

  it('403 without a valid signature from a trusted key, or with a failing one', async () => {
    const impostor = signerFromPrivateKey('log.test/one', generateKeyPairSync('ed25519').privateKey);
    expectText(await add(addCheckpointBody(0, [], signNote(log.text(5), [impostor]))), 403, /no signature from a key trusted/);
    const forged = `${log.checkpoint(5)}\u2014 log.test/one ${Buffer.concat([log.signer.keyId, Buffer.alloc(64, 1)]).toString('base64')}\n`;
    expectText(await add(addCheckpointBody(0, [], forged)), 403, /does not verify/);
    const tampered = log.checkpoint(5).replace(log.root(5).toString('base64'), log.root(6).toString('base64'));
    expectText(await add(addCheckpointBody(0, [], tampered)), 403);
  });

  it('409 with the held size as text/x.tlog.size when old is not what it holds', async () => {
    const conflict = await add(log.body(3, 10));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.headers['content-type']).toBe('text/x.tlog.size');
    expect(conflict.body).toBe('0\n');
    expectCosigned(await add(log.body(0, 10)), log, 10);
    const again = await add(log.body(0, 12));
    expect([again.statusCode, again.headers['content-type'], again.body]).toEqual([409, 'text/x.tlog.size', '10\n']);
    expect((await add(log.body(9, 12))).body).toBe('10\n');
    // A client that learned the size goes on from it.
    expectCosigned(await add(log.body(10, 12)), log, 12);
  });

  it('422 for each inconsistency, keeping each validly signed checkpoint as evidence', async () => {
    const emptyRoot = signNote(`${log.origin}\n0\n${log.root(1).toString('base64')}\n`, [log.signer]);
    expectText(await add(addCheckpointBody(0, [], emptyRoot)), 422, /empty tree root/);
    expectText(await add(log.body(0, 10, { proof: [log.root(1)] })), 422, /from old size 0 must be empty/);
    expectCosigned(await add(log.body(0, 10)), log, 10);
    expectText(await add(log.body(10, 20, { proof: log.proof(10, 20).slice(1) })), 422, /does not verify/);
    const fork = log.fork('-fork', 5).grow(5);
    expectText(await add(fork.body(10, 10)), 422, /different root at the witnessed size 10/);
    const kept = store.evidence(100);
    expect(kept.map((e) => e.kind)).toEqual(['empty_tree_root', 'proof_from_empty', 'proof_invalid', 'root_mismatch']);
    expect(kept[0]!.held).toBeNull();
    expect(kept[3]!.request).toBe(fork.body(10, 10));
    // The other half of the equivocation: what the witness held and had cosigned.
    expect(openNote(kept[3]!.held!).text).toBe(log.text(10));
    expect(kept[3]!.receivedAtMs).toBe(nowMs);
    // Nothing was cosigned for them: the witness still holds size 10 of the real log.
    await expectHeld(log, 10);
  });

  it('keeps an equivocation once however often it is resent, and nothing for refusals that are not evidence', async () => {
    expectCosigned(await add(log.body(0, 10)), log, 10);
    const fork = log.fork('-fork', 5).grow(5);
    for (let i = 0; i < 3; i++) expect((await add(fork.body(10, 10))).statusCode).toBe(422);
    await add(log.body(3, 12));
    await add(new TestLog('log.test/unknown', 3).body(0, 3));
    await add(addCheckpointBody(10, [], signNote(log.text(11), [signerFromPrivateKey('log.test/one', generateKeyPairSync('ed25519').privateKey)])));
    expect(store.evidence(100)).toHaveLength(1);
  });

  it('413 for a body over 64 KiB, not a 500', async () => {
    const res = await add(`old 0\n\n${'a'.repeat(70 * 1024)}`);
    expect(res.statusCode).toBe(413);
    expect(res.body).toMatch(/larger than 65536 bytes/);
  });

  it('404 for other methods and paths', async () => {
    expect((await app.inject({ method: 'GET', url: '/add-checkpoint' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: '/add-checkpoint', payload: log.body(0, 1) })).statusCode).toBe(404);
  });
});

describe('GET /<origin hash>/checkpoint', () => {
  it('404 until a checkpoint is cosigned, and for hashes that are not lowercase SHA-256 hex', async () => {
    const url = `/${originHash(log.origin)}/checkpoint`;
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
    expectCosigned(await add(log.body(0, 4)), log, 4);
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: url.toUpperCase().replace('/CHECKPOINT', '/checkpoint') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/${originHash(other.origin)}/checkpoint` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/abc/checkpoint' })).statusCode).toBe(404);
  });

  it('holds each log on its own', async () => {
    expectCosigned(await add(log.body(0, 4)), log, 4);
    expectCosigned(await add(other.body(0, 10)), other, 10);
    await expectHeld(log, 4);
    await expectHeld(other, 10);
  });
});

describe('any body: never a 500', () => {
  const SAFE = new Set([200, 400, 403, 404, 409, 413, 422]);
  const valid = () => log.body(0, 5);

  it('arbitrary bytes and strings', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)), fc.string({ maxLength: 600 }), fc.string({ unit: 'binary', maxLength: 300 })), async (body) => {
      const res = await add(body);
      expect(SAFE.has(res.statusCode), `${res.statusCode} ${res.body}`).toBe(true);
    }), { numRuns: 300, seed: 20261130 });
  });

  it('any Content-Type header', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 80 }), async (type) => {
      const res = await app.inject({ method: 'POST', url: '/add-checkpoint', payload: log.body(0, 5), headers: { 'content-type': type } });
      expect(res.statusCode, `${JSON.stringify(type)}: ${res.statusCode} ${res.body}`).toBeLessThan(500);
    }), { numRuns: 200, seed: 20261203 });
  });

  it('valid bodies with one edit: a byte changed, removed or inserted, a line dropped or doubled', async () => {
    const mutate = fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'delete', 'insert', 'dropLine', 'doubleLine'), byte: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(fc.asyncProperty(mutate, fc.constantFrom(0, 3), async ({ at, op, byte }, old) => {
      const base = Buffer.from(old === 0 ? valid() : log.body(3, 9));
      const i = at % base.length;
      let body: Buffer;
      if (op === 'set') body = Buffer.concat([base.subarray(0, i), Buffer.from([byte]), base.subarray(i + 1)]);
      else if (op === 'delete') body = Buffer.concat([base.subarray(0, i), base.subarray(i + 1)]);
      else if (op === 'insert') body = Buffer.concat([base.subarray(0, i), Buffer.from([byte]), base.subarray(i)]);
      else {
        const lines = base.toString('utf8').split('\n');
        const n = at % lines.length;
        lines.splice(n, op === 'dropLine' ? 1 : 0, ...(op === 'doubleLine' ? [lines[n]!] : []));
        body = Buffer.from(lines.join('\n'));
      }
      const res = await add(body);
      expect(SAFE.has(res.statusCode), `${res.statusCode} ${res.body}`).toBe(true);
    }), { numRuns: 400, seed: 20261201 });
  });

  it('validly signed checkpoints with arbitrary old sizes, sizes and proofs: every status, never a rollback', async () => {
    const seen = new Set<number>();
    let heldSize = 0;
    const submission = fc.record({
      old: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1000 })),
      size: fc.integer({ min: 0, max: 1000 }),
      proof: fc.oneof(fc.constant('right'), fc.constant('none'), fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 12 })),
      forked: fc.boolean(),
    });
    const fork = log.fork('-fork', 0).grow(1000);
    await fc.assert(fc.asyncProperty(submission, async ({ old, size, proof, forked }) => {
      const source = forked ? fork : log;
      const from = old === -1 ? heldSize : old;
      const hashes = proof === 'none' ? [] : proof === 'right' ? (from === 0 || from > size ? [] : log.proof(from, size)) : proof.map((a) => Buffer.from(a));
      const res = await add(addCheckpointBody(from, hashes, source.checkpoint(size)));
      expect(SAFE.has(res.statusCode), `${res.statusCode} ${res.body}`).toBe(true);
      seen.add(res.statusCode);
      if (res.statusCode === 200) {
        expect(size).toBeGreaterThanOrEqual(heldSize);
        heldSize = size;
      }
      if (res.statusCode === 409) expect(res.body).toBe(`${heldSize}\n`);
    }), { numRuns: 300, seed: 20261202 });
    expect([...seen].sort()).toEqual([200, 400, 409, 422]);
  });
});

describe('racing requests', () => {
  it('of many sizes from one old size, exactly one is cosigned; the others get 409 with its size', async () => {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    expectCosigned(await add(log.body(0, 10)), log, 10);
    const sizes = Array.from({ length: 24 }, (_, i) => 11 + i * 7);
    const results = await Promise.all(sizes.map(async (size) => {
      const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: log.body(10, size) });
      return { size, status: res.status, body: await res.text() };
    }));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    const winner = won[0]!.size;
    for (const r of results.filter((x) => x.status !== 200)) expect([r.status, r.body]).toEqual([409, `${winner}\n`]);
    await expectHeld(log, winner);
  });
});
