import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originHash } from '../../src/app/witness/add-checkpoint.js';
import { checkCheckpoint } from '../../src/core/checkpoint.js';
import { parseCosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { parseVerifierKey } from '../../src/core/signed-note.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';
import { paymentBody } from '../support/harness.js';
import { type ServerProcess, runPaylog, startServerProcess, stopProcess } from '../support/process.js';
import { WITNESS_DB_FILE } from '../../src/compose/witness.js';
import { startWitnessProcess } from '../support/witness-server.js';

/**
 * Two `paylog serve` processes on one SQLite file push the journal tree's checkpoints to two
 * real `paylog witness serve` processes. One witness is down for a while (payments go on, the
 * servers warn), comes back on the same port with the same file and catches up; after the
 * servers stop cleanly, both witnesses hold the journal tree's final size and the store's
 * head carries both cosignatures.
 */

const JOURNAL = 'paylog-local';
/** How long a witness may take to catch up: the pushers' backoff between tries is at most 8 s by then (500 ms doubling, 6 tries). */
const CATCH_UP_MS = 45_000;

interface WitnessProcess {
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  name: string;
  vkey: string;
}

let dataDir: string;
let env: Record<string, string>;
let journalKey: string;
let secret: string;
let witnesses: WitnessProcess[] = [];
let servers: ServerProcess[] = [];
let exitCodes: (number | null)[] = [];
let finalHead: { size: number; note: string; cosignatures: string[] };
let heldAfterStop: number[] = [];
let downWarning: string | undefined;
let sizeWhileDown: { up: number; down: number; tree: number };

/** Starts `paylog witness serve` (on a port of the system's choosing the first time, the same one again on a restart). */
async function startWitness(w: Pick<WitnessProcess, 'dataDir' | 'name'> & { port?: number }): Promise<WitnessProcess> {
  const { child, url } = await startWitnessProcess(['--port', String(w.port ?? 0), '--data-dir', w.dataDir, '--name', w.name, '--log', journalKey]);
  const key = runPaylog(['witness', 'key', '--data-dir', w.dataDir, '--name', w.name], {});
  expect(key.status, key.stderr).toBe(0);
  return { child, url, port: Number(new URL(url).port), dataDir: w.dataDir, name: w.name, vkey: key.stdout.trim() };
}

/** The size of the journal tree a witness holds (0 if it cosigned none). */
async function heldBy(w: WitnessProcess): Promise<number> {
  const res = await fetch(`${w.url}/${originHash(JOURNAL)}/checkpoint`);
  return res.status === 404 ? 0 : Number((await res.text()).split('\n')[1]);
}

/** The size a stopped witness kept in its file (0 if none). */
function keptBy(w: WitnessProcess): number {
  const db = new Database(join(w.dataDir, WITNESS_DB_FILE), { readonly: true });
  try {
    const row = db.prepare('SELECT size FROM witnessed WHERE origin = ?').get(JOURNAL) as { size: number } | undefined;
    return row?.size ?? 0;
  } finally {
    db.close();
  }
}

/** Every witness, the tree: what each holds, read for one error message. */
async function sizes(): Promise<string> {
  const held = await Promise.all(witnesses.map((w) => heldBy(w).catch((err: unknown) => String(err))));
  const pushes = servers.flatMap((s) => s.output().split('\n').filter((line) => line.includes('witness')));
  return `tree ${storedHead().size}, witnesses ${held.join(' and ')}; the servers said:\n${pushes.join('\n')}`;
}

function storedHead(): { size: number; note: string; cosignatures: string[] } {
  const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT size, note, cosignatures FROM journal_tree_heads WHERE journal = ?').get(JOURNAL) as { size: number; note: string; cosignatures: string };
    return { size: row.size, note: row.note, cosignatures: JSON.parse(row.cosignatures) as string[] };
  } finally {
    db.close();
  }
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = CATCH_UP_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${await sizes()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function pay(count: number, from: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const server = servers[(from + i) % servers.length]!;
    const res = await fetch(`${server.url}/v1/payments`, {
      method: 'POST', body: JSON.stringify(paymentBody()),
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': `witness-push-${from + i}` },
    });
    expect(res.status).toBe(201);
  }
}

describe('two paylog servers pushing to two witnesses, one of them down for a while', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-witness-push-e2e-'));
    env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_EVERY: '4', PAYLOG_RECONCILE_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0' };
    const key = runPaylog(['keys', 'public'], env);
    expect(key.status, key.stderr).toBe(0);
    journalKey = key.stdout.trim();
    secret = runPaylog(['keys', 'create', '--merchant', 'acme'], env).stdout.trim().split('\n').pop() as string;
    witnesses = [
      await startWitness({ dataDir: join(dataDir, 'witness-a'), name: 'witness.e2e/a' }),
      await startWitness({ dataDir: join(dataDir, 'witness-b'), name: 'witness.e2e/b' }),
    ];
    const [a, b] = witnesses as [WitnessProcess, WitnessProcess];
    // One server is given the witnesses in the variable, the other with the repeated flag.
    servers = await Promise.all([
      startServerProcess({ ...env, PAYLOG_WITNESS: `${a.url} ${a.vkey}, ${b.url} ${b.vkey}` }),
      startServerProcess(env, ['--witness', `${a.url} ${a.vkey}`, '--witness', `${b.url} ${b.vkey}`]),
    ]);
    try {
      await pay(10, 0);
      await until('both witnesses to follow the journal tree', async () => {
        const size = storedHead().size;
        return size > 0 && (await heldBy(a)) === size && (await heldBy(b)) === size;
      });

      // Witness b goes down; payments go on, and witness a keeps cosigning.
      expect(await stopProcess(b.child)).toBe(0);
      const sizeBeforeOutage = keptBy(b);
      expect(sizeBeforeOutage).toBeGreaterThan(0);
      await pay(20, 10);
      await until('a warning naming the witness that is down', () => servers.some((s) => s.output().includes('"msg":"witness not cosigning"')));
      downWarning = servers.map((s) => s.output()).join('').split('\n').find((line) => line.includes('"msg":"witness not cosigning"'));
      // The tree may grow between two reads (a timed checkpoint): a and the tree are read together.
      await until('witness a to follow while b is down', async () => {
        const tree = storedHead().size;
        const up = await heldBy(a);
        sizeWhileDown = { up, down: keptBy(b), tree };
        return up === tree && storedHead().size === tree;
      });

      // It comes back on its port with its file (holding what it cosigned before), and catches up with the newest head.
      expect(keptBy(b)).toBe(sizeBeforeOutage);
      witnesses[1] = await startWitness({ dataDir: b.dataDir, name: b.name, port: b.port });
      expect(await heldBy(witnesses[1])).toBeGreaterThanOrEqual(sizeBeforeOutage);
      await pay(10, 30);
      await until('witness b to catch up', async () => {
        const tree = storedHead().size;
        return (await heldBy(witnesses[1]!)) === tree && (await heldBy(a)) === tree;
      });
    } finally {
      // One after the other: the last one to stop appends the journal tree's final head.
      exitCodes = [];
      for (const server of servers) exitCodes.push(await stopProcess(server.child, 'SIGTERM'));
    }
    finalHead = storedHead();
    heldAfterStop = await Promise.all(witnesses.map(heldBy));
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) await stopProcess(s.child, 'SIGKILL');
    for (const w of witnesses) await stopProcess(w.child, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('both servers shut down cleanly', () => {
    expect(exitCodes).toEqual([0, 0]);
  });

  it('while b was down, a followed the tree and the servers logged a warning naming b and why', () => {
    expect(sizeWhileDown.up).toBe(sizeWhileDown.tree);
    expect(sizeWhileDown.tree).toBeGreaterThan(sizeWhileDown.down);
    expect(downWarning).toBeDefined();
    const line = JSON.parse(downWarning as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, witness: witnesses[1]!.url, name: 'witness.e2e/b', msg: 'witness not cosigning' });
    expect(String(line.reason)).toMatch(/ECONNREFUSED/);
  });

  it("both witnesses hold the journal tree's final size, and its stored head carries both valid cosignatures", () => {
    expect(heldAfterStop).toEqual([finalHead.size, finalHead.size]);
    expect(checkCheckpoint(finalHead.note, [{ key: parseVerifierKey(journalKey), validFrom: null, validUntil: null }], JOURNAL)).toMatchObject({ ok: true, body: { size: finalHead.size } });
    const { text } = openNote(finalHead.note);
    const cosigned = openNote(`${text}\n${finalHead.cosignatures.map((l) => `${l}\n`).join('')}`).signatures;
    for (const w of witnesses) {
      const valid = cosigned.filter((sig) => verifyCosignature(text, sig, parseCosignerKey(w.vkey)) !== null);
      expect(valid.length, w.name).toBeGreaterThanOrEqual(1);
    }
  });

  it('paylog verify accepts the journal with a quorum of 2 of the two witnesses, and refuses a quorum of 3 with a third, unknown key', () => {
    const [a, b] = witnesses as [WitnessProcess, WitnessProcess];
    const ok = runPaylog(['verify', '--key', journalKey, '--witness-key', a.vkey, '--witness-key', b.vkey, '--witness-quorum', '2'], env);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const stranger = runPaylog(['witness', 'key', '--data-dir', join(dataDir, 'witness-c'), '--name', 'witness.e2e/c'], {}).stdout.trim();
    const short = runPaylog(['verify', '--key', journalKey, '--witness-key', a.vkey, '--witness-key', b.vkey, '--witness-key', stranger, '--witness-quorum', '3'], env);
    expect(short.status, short.stdout + short.stderr).toBe(1);
  });
});
