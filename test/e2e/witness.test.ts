import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { originHash } from '../../src/app/witness/add-checkpoint.js';
import { parseCosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';
import { runPaylog, stopProcess } from '../support/process.js';
import { startWitnessProcess } from '../support/witness-server.js';
import { TestLog } from '../support/witness.js';

/** `paylog witness` as an operator runs it: the built bin, real processes, a real SQLite file. */

let dataDir: string;
let log: TestLog;
const children: ChildProcess[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-witness-e2e-'));
  log = new TestLog('log.test/e2e', 200);
});
afterEach(async () => {
  for (const child of children.splice(0)) await stopProcess(child, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

type WitnessProcess = Awaited<ReturnType<typeof startWitnessProcess>>;

/** Starts `paylog witness serve` for the test's log, on a port of the system's choosing. */
async function startWitness(extraArgs: string[] = []): Promise<WitnessProcess> {
  const witness = await startWitnessProcess(['--port', '0', '--data-dir', dataDir, '--log', log.vkey, ...extraArgs]);
  children.push(witness.child);
  return witness;
}

async function post(w: WitnessProcess, body: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

function witnessKey(): string {
  const result = runPaylog(['witness', 'key', '--data-dir', dataDir], {});
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('paylog witness key', () => {
  it('generates the key once into the data dir (mode 0600) and prints its cosignature/v1 verifier key', () => {
    const vkey = witnessKey();
    expect(vkey).toMatch(/^paylog-witness\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}$/);
    expect(parseCosignerKey(vkey).name).toBe('paylog-witness');
    expect(statSync(join(dataDir, 'witness-key.pem')).mode & 0o777).toBe(0o600);
    expect(witnessKey()).toBe(vkey);
  });

  it('uses a key given as PEM, under the configured name', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const env = { PAYLOG_WITNESS_SIGNING_KEY: pem, PAYLOG_WITNESS_NAME: 'witness.example/w9' };
    const first = runPaylog(['witness', 'key'], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout.trim()).toMatch(/^witness\.example\/w9\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}$/);
    expect(runPaylog(['witness', 'key'], env).stdout).toBe(first.stdout);
  });

  it('stops with one line naming the setting on a bad value (exit 2)', () => {
    const bad = runPaylog(['witness', 'serve', '--data-dir', dataDir, '--log', 'log.test+00000000+AAAA'], {});
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^paylog: PAYLOG_WITNESS_LOGS \(--log\): must be Ed25519 verifier keys[^\n]*\n$/);
    const port = runPaylog(['witness', 'serve', '--data-dir', dataDir], { PAYLOG_WITNESS_PORT: 'abc' });
    expect([port.status, port.stderr]).toEqual([2, 'paylog: PAYLOG_WITNESS_PORT (--port): must be a whole number from 0 to 65535, got "abc"\n']);
  });
});

describe('paylog witness serve', () => {
  it('keeps what it cosigned, and the evidence it kept, across a restart', async () => {
    const vkey = parseCosignerKey(witnessKey());
    let w = await startWitness();
    expect((await post(w, log.body(0, 10))).status).toBe(200);
    const cosigned = await post(w, log.body(10, 20));
    expect(cosigned.status).toBe(200);
    expect(verifyCosignature(log.text(20), openNote(`${log.text(20)}\n${cosigned.body}`).signatures[0]!, vkey)).not.toBeNull();
    const fork = log.fork('-fork', 15).grow(5);
    expect((await post(w, fork.body(20, 20))).status).toBe(422);
    expect(await stopProcess(w.child)).toBe(0);

    w = await startWitness();
    const res = await fetch(`${w.url}/${originHash(log.origin)}/checkpoint`);
    expect(res.status).toBe(200);
    const { text, signatures } = openNote(await res.text());
    expect(text).toBe(log.text(20));
    expect(verifyCosignature(text, signatures.at(-1)!, vkey)).not.toBeNull();
    expect(await post(w, log.body(0, 30))).toEqual({ status: 409, type: 'text/x.tlog.size', body: '20\n' });
    expect((await post(w, log.body(20, 30))).status).toBe(200);
    expect(await stopProcess(w.child)).toBe(0);

    const evidence = runPaylog(['witness', 'evidence', '--data-dir', dataDir], {});
    expect(evidence.status, evidence.stderr).toBe(0);
    const rows = evidence.stdout.trim().split('\n').map((l) => JSON.parse(l) as { origin: string; kind: string; request: string; held: string });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ origin: log.origin, kind: 'root_mismatch', request: fork.body(20, 20) });
    expect(openNote(rows[0]!.held).text).toBe(log.text(20));
  });

  it('two witness processes on one file: of two racing sizes exactly one wins, and the size never goes back', async () => {
    const a = await startWitness();
    const b = await startWitness();
    expect((await post(a, log.body(0, 10))).status).toBe(200);
    let held = 10;
    for (let round = 0; round < 12; round++) {
      const small = held + 1 + round;
      const large = small + 3;
      const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
      const results = await Promise.all([post(first, log.body(held, small)), post(second, log.body(held, large))]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(results)).toEqual([200, 409]);
      const winner = results[0]!.status === 200 ? small : large;
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body).toBe(`${winner}\n`);
      expect(winner).toBeGreaterThan(held);
      held = winner;
      for (const w of [a, b]) {
        const res = await fetch(`${w.url}/${originHash(log.origin)}/checkpoint`);
        expect(openNote(await res.text()).text).toBe(log.text(held));
      }
    }
  });
});
