import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/app/api-keys.js';
import { checkCheckpoint } from '../../src/core/checkpoint.js';
import { parseCosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';
import { type TestApp, paymentBody, startTestApp } from '../support/harness.js';
import { InProcessWitness } from '../support/witness-server.js';

/** PAYLOG_WITNESS end to end inside one process: the journal tree's checkpoints reach two witnesses, and the API serves their cosignatures. */

const JOURNAL = 'paylog-local';
let t: TestApp;
let secret: string;
/** The audit routes answer auditor keys only. */
let auditor: string;
let vkey: string;
let witnesses: InProcessWitness[];

beforeAll(async () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  vkey = verifierKeyOf(signerFromPrivateKey(JOURNAL, createPrivateKey(pem)));
  witnesses = [await new InProcessWitness([vkey], 'witness.test/a').start(), await new InProcessWitness([vkey], 'witness.test/b').start()];
  t = await startTestApp({
    PAYLOG_SIGNING_KEY: pem, PAYLOG_CHECKPOINT_EVERY: '1000', PAYLOG_CHECKPOINT_INTERVAL_MS: '0',
    PAYLOG_WITNESS: witnesses.map((w) => w.setting).join(','),
  });
  secret = await t.keyFor('acme');
  auditor = (await createApiKey(t.services.ctx, t.services.system, '', null, 'auditor')).secret;
});
afterAll(async () => {
  await t.close();
  for (const w of witnesses) await w.close();
});

async function checkpointAndPush(): Promise<void> {
  await t.app.inject({
    method: 'POST', url: '/v1/payments', payload: paymentBody(),
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
  });
  await t.services.ctx.writer.checkpointNow();
  await t.services.ctx.journalTree.idle();
  await t.services.witnesses.idle(10_000);
}

describe('GET /v1/audit/checkpoints with witnesses', () => {
  it("returns the journal tree's checkpoint carrying both witnesses' stored cosignatures", async () => {
    for (let round = 0; round < 2; round++) {
      await checkpointAndPush();
      const res = await t.app.inject({ method: 'GET', url: '/v1/audit/checkpoints', headers: { authorization: `Bearer ${auditor}` } });
      expect(res.statusCode).toBe(200);
      const journal = res.json().journal as { size: number; root: string; note: string; cosignatures: string[] };
      const head = await t.services.ctx.store.journalTree.head(JOURNAL);
      expect(journal.size).toBe(head!.size);
      expect(journal.cosignatures).toEqual(head!.cosignatures);
      expect(journal.cosignatures).toHaveLength(2);
      // The note is the journal's signed checkpoint with the cosignature lines after its own.
      const { text, signatures, lines } = openNote(journal.note);
      expect(lines.slice(1)).toEqual(journal.cosignatures);
      expect(checkCheckpoint(journal.note, [{ key: parseVerifierKey(vkey), validFrom: null, validUntil: null }], JOURNAL)).toMatchObject({ ok: true, body: { size: journal.size, root: journal.root } });
      for (const witness of witnesses) {
        // One cosignature per witness, whichever answered first.
        const valid = signatures.slice(1).filter((sig) => verifyCosignature(text, sig, parseCosignerKey(witness.vkey)) !== null);
        expect(valid, witness.vkey).toHaveLength(1);
        expect(await witness.size(JOURNAL)).toBe(journal.size);
      }
    }
  });
});
