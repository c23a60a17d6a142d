import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import { canonicalJson } from '../../src/core/jcs.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';

/**
 * The console's receipt check (web/verify.js, plain browser JavaScript) held to the server's
 * own rules: the same canonical JSON as src/core/jcs.ts, and receipts the API makes verify,
 * while a changed record, a wrong audit path or another key do not. Node's WebCrypto has
 * SHA-256 and Ed25519 like the browser's.
 */
interface Verdict { status: 'verified' | 'failed' | 'unchecked'; reason: string }
interface VerifyModule {
  canonicalJson(value: unknown): string;
  verifyReceipt(pages: unknown[], verifierKey: string): Promise<Verdict>;
}
const MODULE = '../../web/verify.js';

let verify: VerifyModule;
let t: TestApp;
let secret: string;
let vkey: string;

beforeAll(async () => {
  verify = (await import(/* @vite-ignore */ MODULE)) as VerifyModule;
  t = await startTestApp({ PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
  secret = await t.keyFor('acme');
  vkey = verifierKeyOf(loadSigningKeys(t.config).current);
});
afterAll(async () => t.close());

async function receipt(number = '4000000005030004'): Promise<{ proofs: { record: Record<string, unknown>; proof: string[] }[] }> {
  const paid = await t.app.inject({ method: 'POST', url: '/v1/payments', payload: paymentBody(number), headers: { authorization: `Bearer ${secret}` } });
  const id = paid.json().id as string;
  const res = await t.app.inject({ method: 'GET', url: `/v1/payments/${id}/proof`, headers: { authorization: `Bearer ${secret}` } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe("the console's receipt check (web/verify.js)", () => {
  it('writes the same RFC 8785 JSON as the server', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(verify.canonicalJson(value)).toBe(canonicalJson(value));
    }), { numRuns: 500 });
  });

  it("verifies a receipt the API made, against the journal's key", async () => {
    const page = await receipt();
    expect(page.proofs.length).toBeGreaterThanOrEqual(4);
    expect(await verify.verifyReceipt([page], vkey)).toMatchObject({ status: 'verified' });
    expect(await verify.verifyReceipt([page], '')).toMatchObject({ status: 'unchecked', reason: expect.stringMatching(/no journal verifier key/) });
  });

  it('does not verify a changed record, a wrong audit path, another key or a malformed key, and says why', async () => {
    const page = await receipt();
    const changed = structuredClone(page);
    (changed.proofs[0]!.record.data as Record<string, unknown>).amount = 1;
    expect(await verify.verifyReceipt([changed], vkey)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^record \d+ of stream str_\w+ \(payment\.received\) was changed after it was written/) });

    const wrongPath = structuredClone(page);
    const entry = wrongPath.proofs.find((p) => p.proof.length > 0)!;
    entry.proof[0] = entry.proof[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await verify.verifyReceipt([wrongPath], vkey)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/audit path .* does not lead to the root/) });

    const stranger = verifierKeyOf(signerFromPrivateKey('paylog-local', generateKeyPairSync('ed25519').privateKey));
    expect(await verify.verifyReceipt([page], stranger)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/carries no signature by paylog-local/) });
    expect(await verify.verifyReceipt([page], 'paylog-local+00000000+AAAA')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/malformed/) });
  });
});
