import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { PAYLOG_BIN, jsonLines, runPaylog, waitForReady } from '../support/process.js';

/**
 * `paylog serve --workers 2`: a node:cluster primary and two workers on one SQLite data dir,
 * sharing one port. Each worker writes its own stream; the primary forwards SIGTERM, stops the
 * survivors when a worker dies or halts, and never respawns.
 */

const WORKERS = 2;
const PAYMENTS = 200;
const START_DEADLINE_MS = 20_000;

/** The gateway is instant, but 200 payments on one SQLite file queue for its lock: give attempts room. */
const CLUSTER_ENV = {
  PAYLOG_RECONCILE_INTERVAL_MS: '0',
  PAYLOG_RATE_LIMIT: '0',
  PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '2000',
  PAYLOG_GATEWAY_BUDGET_MS: '4000',
  PAYLOG_LOG_LEVEL: 'info',
};

interface LogLine {
  msg?: string;
  role?: string;
  url?: string;
  stream?: string;
  worker?: number;
  workerPid?: number;
  code?: number | null;
  signal?: string | null;
  during?: string;
  reason?: string;
}

interface Cluster {
  child: ChildProcess;
  url: string;
  workerPids: number[];
  logs: () => LogLine[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Every process a test started, so that afterAll can kill what a failed test left running. */
const started = new Set<number>();

function spawnCluster(env: Record<string, string>, args: string[] = []): Omit<Cluster, 'url' | 'workerPids'> {
  const child = spawn(process.execPath, [PAYLOG_BIN, 'serve', '--workers', String(WORKERS), '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, ...FAST_GATEWAY_ENV, ...CLUSTER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) started.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const logs = (): LogLine[] => jsonLines<LogLine>(stdout);
  return { child, logs, stderr: () => stderr, exited };
}

/** Starts the cluster and waits until the primary says every worker listens and the shared port answers /readyz. */
async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const cluster = spawnCluster(env);
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const serving = cluster.logs().find((l) => l.role === 'primary' && l.msg === 'paylog workers serving');
    if (serving?.url) {
      const workerPids = cluster.logs().filter((l) => l.role === 'primary' && l.msg === 'worker listening').map((l) => l.workerPid as number);
      for (const pid of workerPids) started.add(pid);
      await waitForReady(cluster.child, serving.url, cluster.stderr);
      return { ...cluster, url: serving.url, workerPids };
    }
    if (cluster.child.exitCode !== null) throw new Error(`paylog serve --workers exited with ${cluster.child.exitCode}: ${cluster.stderr()}`);
    if (Date.now() > deadline) {
      cluster.child.kill('SIGKILL');
      throw new Error(`paylog serve --workers did not become ready: ${cluster.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function serveStreams(dataDir: string): { id: string; state: string }[] {
  const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
  try {
    return db.prepare(`
      SELECT s.id, s.state FROM streams s JOIN journal j ON j.stream = s.id
      WHERE j.type = 'journal.started' AND json_extract(j.body, '$.data.role') = 'serve' ORDER BY s.id`).all() as { id: string; state: string }[];
  } finally {
    db.close();
  }
}

const dataDirs: string[] = [];
function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paylog-workers-'));
  dataDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('paylog serve --workers 2 on one SQLite data dir', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let cluster: Cluster;
  let created: { status: number; id?: string; paymentStatus?: string }[] = [];
  let reads: number[] = [];
  let exitCode: number | null = null;

  beforeAll(async () => {
    dataDir = newDataDir();
    env = { PAYLOG_DATA_DIR: dataDir };
    const secret = createKeyWithCli(env);
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };

    cluster = await startCluster(env);
    try {
      created = await Promise.all(Array.from({ length: PAYMENTS }, async (_, i) => {
        const res = await fetch(`${cluster.url}/v1/payments`, {
          method: 'POST', body: JSON.stringify(paymentBody('4242424242424242', { merchantReference: `order_${i}` })),
          headers: { ...headers, 'idempotency-key': `workers-${i}` },
        });
        const body = (await res.json()) as { id?: string; status?: string };
        return { status: res.status, ...(body.id !== undefined && { id: body.id }), ...(body.status !== undefined && { paymentStatus: body.status }) };
      }));
      // Every acknowledged payment is readable through the shared port, whichever worker answers.
      reads = await Promise.all(created.map(async ({ id }) => {
        const res = await fetch(`${cluster.url}/v1/payments/${id}`, { headers });
        await res.arrayBuffer();
        return res.status;
      }));
    } finally {
      cluster.child.kill('SIGTERM');
      exitCode = await cluster.exited;
    }
  }, 90_000);

  it('starts two workers on one port, each with its own stream', () => {
    expect(cluster.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cluster.url).not.toMatch(/:0$/);
    expect(new Set(cluster.workerPids).size).toBe(WORKERS);
    expect(cluster.workerPids).not.toContain(cluster.child.pid);
    const serving = cluster.logs().filter((l) => l.msg === 'paylog serving');
    expect(serving.map((l) => l.url)).toEqual([cluster.url, cluster.url]);
    expect(new Set(serving.map((l) => l.stream)).size).toBe(WORKERS);
  });

  it(`answers ${PAYMENTS} concurrent payments with 201, all readable`, () => {
    const summary = JSON.stringify(created.filter((c) => c.status !== 201).slice(0, 5));
    expect(created.every((c) => c.status === 201 && c.paymentStatus === 'succeeded'), summary).toBe(true);
    expect(new Set(created.map((c) => c.id)).size).toBe(PAYMENTS);
    expect(reads.every((s) => s === 200)).toBe(true);
  });

  it('shuts down on SIGTERM: every worker stops gracefully, the primary exits 0, no process is left', () => {
    expect(exitCode, cluster.stderr()).toBe(0);
    expect(cluster.logs().find((l) => l.role === 'primary' && l.msg === 'workers stopped')).toMatchObject({ code: 0 });
    for (const pid of cluster.workerPids) expect(alive(pid), String(pid)).toBe(false);
  });

  it('leaves two serve streams, both stopped, that share the payments between them', () => {
    const streams = serveStreams(dataDir);
    expect(streams).toHaveLength(WORKERS);
    for (const s of streams) expect(s.state).toBe('stopped');
    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    try {
      const received = db.prepare("SELECT stream, count(*) AS n FROM journal WHERE type = 'payment.received' GROUP BY stream").all() as { stream: string; n: number }[];
      expect(received.reduce((n, r) => n + r.n, 0)).toBe(PAYMENTS);
      // Round robin over many connections: both workers took payments.
      expect(new Set(received.map((r) => r.stream))).toEqual(new Set(streams.map((s) => s.id)));
      const ids = db.prepare("SELECT id FROM payments WHERE status = 'succeeded'").pluck().all() as string[];
      expect(new Set(ids)).toEqual(new Set(created.map((c) => c.id)));
    } finally {
      db.close();
    }
  });

  it('verifies: every stream valid and stopped, the two workers’ included', () => {
    const text = runPaylog(['verify'], env);
    expect(text.status, text.stdout + text.stderr).toBe(0);
    const json = runPaylog(['verify', '--json'], env);
    expect(json.status, json.stdout + json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { valid: boolean; streams: { stream: string; stopped: boolean; valid: boolean }[] };
    expect(report.valid).toBe(true);
    // keys create, and the two workers.
    expect(report.streams).toHaveLength(1 + WORKERS);
    for (const s of report.streams) expect(s).toMatchObject({ stopped: true, valid: true });
    const workerStreams = serveStreams(dataDir).map((s) => s.id);
    expect(report.streams.filter((s) => workerStreams.includes(s.stream))).toHaveLength(WORKERS);
  });
});

describe('paylog serve --workers 2 when a worker dies', () => {
  it('a worker killed with SIGKILL makes the primary stop the other gracefully and exit 1, without respawning', async () => {
    const dataDir = newDataDir();
    const cluster = await startCluster({ PAYLOG_DATA_DIR: dataDir });
    const [victim, survivor] = cluster.workerPids as [number, number];
    process.kill(victim, 'SIGKILL');
    expect(await cluster.exited, cluster.stderr()).toBe(1);
    expect(alive(survivor)).toBe(false);

    const logs = cluster.logs();
    expect(logs.find((l) => l.role === 'primary' && l.msg === 'worker exited; stopping the others')).toMatchObject({ workerPid: victim, signal: 'SIGKILL', during: 'serving' });
    // No respawn: only the two original workers ever listened.
    expect(logs.filter((l) => l.role === 'primary' && l.msg === 'worker listening')).toHaveLength(WORKERS);
    expect(logs.find((l) => l.role === 'primary' && l.msg === 'workers stopped')).toMatchObject({ code: 1 });
    // The survivor wrote journal.stopped and closed its stream; the killed one's stream stays open until sealed.
    expect(serveStreams(dataDir).map((s) => s.state).sort()).toEqual(['open', 'stopped']);
    const verify = runPaylog(['verify'], { PAYLOG_DATA_DIR: dataDir });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 60_000);

  it('a worker whose journal writer halts exits 1, and so does the primary after stopping the other', async () => {
    const dataDir = newDataDir();
    // Lease renewals every 200 ms notice quickly that another writer sealed the stream.
    const env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_INTERVAL_MS: '200', PAYLOG_STREAM_LEASE_MS: '5000' };
    const cluster = await startCluster(env);
    const [first] = serveStreams(dataDir);
    const db = new Database(join(dataDir, 'paylog.db'));
    try {
      // As if another process had sealed it after its lease lapsed.
      db.prepare("UPDATE streams SET state = 'sealed', closed_by = 'test', closed_at = ? WHERE id = ?").run(new Date().toISOString(), first?.id);
    } finally {
      db.close();
    }
    expect(await cluster.exited, cluster.stderr()).toBe(1);
    for (const pid of cluster.workerPids) expect(alive(pid)).toBe(false);
    const logs = cluster.logs();
    expect(logs.find((l) => l.msg === 'journal writer halted; shutting down')).toBeDefined();
    expect(logs.find((l) => l.role === 'primary' && l.msg === 'worker exited; stopping the others')).toMatchObject({ code: 1, during: 'serving' });
    expect(serveStreams(dataDir).find((s) => s.id !== first?.id)?.state).toBe('stopped');
  }, 60_000);

  it('a worker that cannot start makes the primary exit 2 with the worker’s error on stderr', async () => {
    const dataDir = newDataDir();
    const missing = join(dataDir, 'no-such-key.pem');
    const cluster = spawnCluster({ PAYLOG_DATA_DIR: dataDir }, ['--signing-key-file', missing]);
    expect(await cluster.exited).toBe(2);
    expect(cluster.stderr()).toContain(`paylog: PAYLOG_SIGNING_KEY_FILE: cannot read ${missing}`);
    expect(cluster.logs().find((l) => l.role === 'primary' && l.msg === 'worker exited; stopping the others')).toMatchObject({ code: 2, during: 'start' });
    for (const pid of cluster.logs().flatMap((l) => (l.workerPid ? [l.workerPid] : []))) expect(alive(pid)).toBe(false);
  }, 60_000);
});
