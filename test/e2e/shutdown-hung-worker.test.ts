import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAST_GATEWAY_ENV } from '../support/harness.js';
import {
  LATE_CARDS_GATEWAY_ENV, NEVER_ANSWERS, PaymentLoad, RECONCILE_SOON_ENV, SHUTDOWN_OUTCOMES, checkSettled, merchantSecret, neverAnswersInHandler, unexpectedOutcomes,
  verifiedStreamEnds, waitUntilNothingProcessing,
} from '../support/payment-load.js';
import { PAYLOG_BIN, startServerProcess, stopProcess } from '../support/process.js';

/**
 * Issue 15, item 3, with `serve --workers 2`: one worker hangs on shutdown (SIGSTOP, as a
 * process stalled in the kernel or on a dead store would) while it holds payments in flight.
 * The primary forwards SIGTERM, the other worker stops cleanly, and the primary kills the hung
 * one with SIGKILL once its shutdown timeout plus a margin has passed, logs it and exits 1,
 * instead of waiting for it forever. The next start seals the killed worker's stream; its
 * in-flight payments settle by reconciliation as the journal says; the journal verifies.
 */

const SHUTDOWN_TIMEOUT_MS = 300;
const SETTLE_DEADLINE_MS = 30_000;
/** Short enough that the hung worker's lease has lapsed when the next process starts, after the primary's bound. */
const LEASE_ENV = { PAYLOG_STREAM_LEASE_MS: '3000', PAYLOG_CHECKPOINT_INTERVAL_MS: '1000' };

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface LogLine { msg?: string; role?: string; url?: string; worker?: number; workerPid?: number; stream?: string; code?: number }

function logLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

/** Starts `serve --workers 2` and waits for its "paylog workers serving" line; returns its URL and each worker's pid and stream. */
async function startWorkers(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string; workers: { pid: number; stream: string }[] }> {
  const child = spawn(process.execPath, [PAYLOG_BIN, 'serve', '--workers', '2', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, ...FAST_GATEWAY_ENV, ...env, PAYLOG_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const serving = (): LogLine | undefined => logLines(output).find((l) => l.role === 'primary' && l.msg === 'paylog workers serving');
  const workerLines = (): LogLine[] => logLines(output).filter((l) => l.role === undefined && l.msg === 'paylog serving');
  // The primary reports serving as the last worker listens, just before that worker logs its own line.
  while (!serving() || workerLines().length < 2) {
    if (child.exitCode !== null) throw new Error(`serve --workers 2 exited ${child.exitCode}: ${output}`);
    await Promise.race([once(child.stdout as NodeJS.EventEmitter, 'data'), once(child, 'exit')]);
  }
  const lines = logLines(output);
  // The primary forks the second worker only once the first listens, so the workers'
  // "paylog serving" lines (which carry their stream) come in the order of its "worker listening" lines.
  const pids = lines.filter((l) => l.role === 'primary' && l.msg === 'worker listening').map((l) => l.workerPid as number);
  const streams = workerLines().map((l) => l.stream as string);
  expect(pids).toHaveLength(2);
  expect(streams).toHaveLength(2);
  return { child, url: serving()?.url as string, output: () => output, workers: pids.map((pid, i) => ({ pid, stream: streams[i] as string })) };
}

describe('serve --workers 2 with a worker that hangs on shutdown', () => {
  it('the primary kills the hung worker after its bound and exits 1; its payments settle and its stream is sealed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'paylog-hung-worker-'));
    dirs.push(dataDir);
    const env: Record<string, string> = { ...LATE_CARDS_GATEWAY_ENV, ...LEASE_ENV, PAYLOG_DATA_DIR: dataDir, PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0' };
    const secret = await merchantSecret(env);

    const cluster = await startWorkers({ ...env, PAYLOG_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    const load = new PaymentLoad({ url: cluster.url, secret, promptLoops: 4, lateLoops: 6 });
    await load.until((rs) => rs.some((r) => r.outcome === 201) && rs.some((r) => r.outcome === 402)
      && neverAnswersInHandler(rs));
    // Hang the worker that holds a "never answers" payment in its handler (its payment.received is in that worker's stream).
    const inFlight = load.requests.filter((r) => r.card === NEVER_ANSWERS && r.outcome === null);
    let hung: { pid: number; stream: string } | undefined;
    for (const request of inFlight) {
      const res = await fetch(`${cluster.url}/v1/payments?merchantReference=${request.key}`, { headers: { authorization: `Bearer ${secret}` } });
      const id = ((await res.json()) as { data: { id: string }[] }).data[0]?.id;
      if (id === undefined) continue;
      const events = (await (await fetch(`${cluster.url}/v1/payments/${id}/events`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { stream: string }[] };
      hung = cluster.workers.find((w) => w.stream === events.data[0]?.stream);
      if (hung) break;
    }
    expect(hung, 'no worker found holding a payment in flight').toBeDefined();
    const { pid: hungPid, stream: hungStream } = hung as { pid: number; stream: string };
    process.kill(hungPid, 'SIGSTOP');

    const exited = once(cluster.child, 'exit');
    cluster.child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    await load.ended();

    expect(code, cluster.output()).toBe(1);
    const lines = logLines(cluster.output());
    // The hung worker is killed. So may the other be: stopped in the middle of a commit, the hung
    // one holds SQLite's write lock, and the other's final commit waits on it past the bound too.
    const killed = lines.filter((l) => l.msg === 'worker did not stop in time; killing it').map((l) => l.workerPid as number);
    expect(killed, cluster.output()).toContain(hungPid);
    const unclean = lines.filter((l) => l.msg === 'worker did not shut down cleanly').map((l) => l.workerPid as number);
    expect(unclean.sort()).toEqual([...killed].sort());
    const killedStreams = new Set(cluster.workers.filter((w) => killed.includes(w.pid)).map((w) => w.stream));
    expect(unexpectedOutcomes(load.requests, SHUTDOWN_OUTCOMES), JSON.stringify(load.counts())).toEqual([]);
    // The requests the hung worker held got no answer when it was killed.
    expect(load.counts()['no answer'] ?? 0).toBeGreaterThan(0);

    const restarted = await startServerProcess({ ...env, ...RECONCILE_SOON_ENV });
    try {
      await waitUntilNothingProcessing(restarted.url, secret, SETTLE_DEADLINE_MS);
      const settled = await checkSettled(restarted.url, secret, load.requests);
      expect(settled.violations, JSON.stringify({ counts: load.counts(), statuses: settled.statuses })).toEqual([]);
      // The hung worker's in-flight payments were left processing and settled by reconciliation.
      expect(settled.reconciledByStream[hungStream] ?? 0).toBeGreaterThan(0);
    } finally {
      expect(await stopProcess(restarted.child, 'SIGTERM'), restarted.output()).toBe(0);
    }
    // The killed workers' streams were sealed by the next start; every other stream ended cleanly.
    const ends = await verifiedStreamEnds(env);
    expect(ends.find((s) => s.stream === hungStream)?.end).toBe('sealed_after_crash');
    expect(ends.map((s) => `${s.stream} ${s.end}`)).toEqual(ends.map((s) => `${s.stream} ${killedStreams.has(s.stream) ? 'sealed_after_crash' : 'stopped'}`));
  }, 120_000);
});
