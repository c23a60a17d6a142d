import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import { checkCheckpoint } from '../../src/core/checkpoint.js';
import { verifyConsistency } from '../../src/core/merkle.js';
import { checkReceiptEntry, type ReceiptEntry } from '../../src/core/receipt.js';
import { parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { generateKeyPairSync } from 'node:crypto';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { runPaylog } from '../support/process.js';

let t: TestApp;
let secret: string;
/** The audit routes answer auditor keys only. */
let auditor: string;
let vkey: string;

beforeAll(async () => {
  t = await startTestApp({ PAYLOG_CHECKPOINT_EVERY: '1000', PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
  secret = await t.keyFor('acme');
  auditor = (await createApiKey(t.services.ctx, t.services.system, '', null, 'auditor')).secret;
  vkey = verifierKeyOf(loadSigningKeys(t.config).current);
});
afterAll(async () => t.close());

const get = (url: string, key = secret) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
const trusted = () => [{ key: parseVerifierKey(vkey), validFrom: null, validUntil: null }];

async function pay(number = '4242424242424242'): Promise<string> {
  const res = await t.app.inject({
    method: 'POST', url: '/v1/payments', payload: paymentBody(number),
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
  });
  return res.json().id ?? res.json().error.payment.id;
}

describe('GET /v1/payments/{id}/proof', () => {
  it("proves every record of a fresh payment against a checkpoint made on demand", async () => {
    const id = await pay('4000000005030004');
    const res = await get(`/v1/payments/${id}/proof`);
    expect(res.statusCode).toBe(200);
    const receipt = res.json();
    expect(receipt).toMatchObject({ payment: id, journal: 'paylog-local', pending: [] });
    expect(receipt.proofs.map((p: ReceiptEntry) => p.record.type)).toEqual(['payment.received', 'payment.attempted', 'payment.attempted', 'payment.succeeded']);
    for (const entry of receipt.proofs as ReceiptEntry[]) {
      expect(entry.leafIndex).toBe(entry.record.seq - 1);
      expect(entry.treeSize).toBeGreaterThanOrEqual(entry.record.seq);
      expect(checkReceiptEntry(entry, trusted())).toMatchObject({ ok: true });
    }
  });

  it('a receipt verifies offline with paylog verify-proof, and a changed one does not', async () => {
    const id = await pay();
    const receipt = (await get(`/v1/payments/${id}/proof`)).json();
    const file = join(t.dataDir, 'receipt.json');
    writeFileSync(file, JSON.stringify(receipt));
    const ok = runPaylog(['verify-proof', file, '--key', vkey], {});
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/3\/3 records of txn_\w+ proven/);

    writeFileSync(file, JSON.stringify(receipt).replace('"amount":1099', '"amount":1'));
    const changed = runPaylog(['verify-proof', file, '--key', vkey], {});
    expect(changed.status).toBe(1);
    expect(changed.stdout).toMatch(/INVALID .* record content does not match its hash/);

    const tamperedProof = structuredClone(receipt);
    tamperedProof.proofs[1].proof[0] = 'ab'.repeat(32);
    writeFileSync(file, JSON.stringify(tamperedProof));
    expect(runPaylog(['verify-proof', file, '--key', vkey], {}).stdout).toMatch(/inclusion proof does not lead to the signed root/);

    writeFileSync(file, JSON.stringify(receipt));
    const stranger = verifierKeyOf(signerFromPrivateKey('paylog-local', generateKeyPairSync('ed25519').privateKey));
    expect(runPaylog(['verify-proof', file, '--key', stranger], {}).status).toBe(1);
    // A mangled key cannot even be read: the command could not run.
    expect(runPaylog(['verify-proof', file, '--key', `${vkey}x`], {}).status).toBe(2);
    expect(runPaylog(['verify-proof', join(t.dataDir, 'none.json'), '--key', vkey], {}).status).toBe(2);
  });

  it("another merchant's payment is a 404", async () => {
    const id = await pay();
    const other = await t.keyFor('globex');
    expect((await get(`/v1/payments/${id}/proof`, other)).statusCode).toBe(404);
  });
});

describe('audit endpoints', () => {
  it('GET /v1/audit/checkpoints returns the latest signed checkpoint of every stream', async () => {
    await pay();
    await t.services.ctx.writer.checkpointNow();
    const res = await get('/v1/audit/checkpoints', auditor);
    expect(res.statusCode).toBe(200);
    const mine = res.json().data.find((c: { stream: string }) => c.stream === t.services.ctx.writer.streamId);
    expect(mine.note.startsWith(`paylog-local/${mine.stream}\n${mine.size}\n`)).toBe(true);
    expect(checkCheckpoint(mine.note, trusted(), `paylog-local/${mine.stream}`)).toMatchObject({ ok: true, body: { size: mine.size, root: mine.root } });
  });

  it('GET /v1/audit/streams/{stream}/consistency proves an older checkpoint is a prefix of a newer one', async () => {
    const first = await t.services.ctx.writer.checkpointNow();
    await pay();
    await pay('4000000000000002');
    const second = await t.services.ctx.writer.checkpointNow();
    const stream = t.services.ctx.writer.streamId;
    const res = await get(`/v1/audit/streams/${stream}/consistency?from=${first!.size}&to=${second!.size}`, auditor);
    expect(res.statusCode).toBe(200);
    const proof = res.json().proof.map((h: string) => Buffer.from(h, 'hex'));
    const r1 = Buffer.from(first!.root, 'hex');
    const r2 = Buffer.from(second!.root, 'hex');
    expect(verifyConsistency(first!.size, second!.size, proof, r1, r2)).toBe(true);
    expect(verifyConsistency(first!.size, second!.size, proof, r2, r1)).toBe(false);
    expect((await get(`/v1/audit/streams/${stream}/consistency?from=5&to=999999`, auditor)).statusCode).toBe(400);
    expect((await get(`/v1/audit/streams/str_00000000000000000000000000/consistency?from=1&to=2`, auditor)).statusCode).toBe(404);
  });
});
