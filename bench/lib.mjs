// Shared helpers of the bench scenarios: statistics, free ports, child servers, autocannon runs.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
export const CONNECTIONS = 64;
export const ROOT = new URL('..', import.meta.url).pathname;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
/** { med, min, max } of a list. */
export const stats = (xs) => ({ med: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** "median (min–max)". */
export const show = (s, digits = 0, unit = '') => `${fmt(s.med, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Peak resident set (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Peak resident sets (VmHWM) of a process's children summed, in MiB: the workers of `serve --workers N`. */
export function childrenPeakRssMiB(pid) {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.reduce((sum, child) => sum + peakRssMiB(Number(child)), 0);
}

export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), prefix));

export async function waitHttp(url, child, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} did not come up`);
}

export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** A ~300-byte approving card payment body. */
export function paymentBody() {
  return JSON.stringify({
    amount: 1099,
    currency: 'usd',
    paymentMethod: { type: 'card', card: { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' } },
    description: 'Order 1234 — benchmark payment',
    merchantReference: 'order_1234',
    metadata: { cart: 'c_9', channel: 'bench' },
  });
}

/**
 * Starts `paylog serve` on a fresh SQLite data dir (or the given store URL) and creates an API key.
 * Returns { child, url, secret, dataDir, stop }.
 */
export async function startPaylog(extraEnv = {}, { dataDir = tempDir('paylog-bench-'), secret: given = null, execArgv = [] } = {}) {
  const port = await freePort();
  const env = {
    ...process.env,
    PAYLOG_DATA_DIR: dataDir,
    PAYLOG_PORT: String(port),
    PAYLOG_HOST: '127.0.0.1',
    PAYLOG_RATE_LIMIT: '0',
    PAYLOG_LOG_LEVEL: 'warn',
    PAYLOG_RECONCILE_INTERVAL_MS: '0',
    PAYLOG_GATEWAY_LATENCY_MS: '0',
    // Metrics stay on, as in production, each server on a port of its own.
    PAYLOG_METRICS_PORT: String(await freePort()),
    ...extraEnv,
  };
  const bin = join(ROOT, 'bin/paylog.js');
  let secret = given;
  if (!secret) {
    const keys = spawnSync(process.execPath, [bin, 'keys', 'create', '--merchant', 'bench'], { env, encoding: 'utf8', cwd: ROOT });
    if (keys.status !== 0) throw new Error(`keys create failed: ${keys.stderr}`);
    secret = keys.stdout.trim().split('\n').pop().trim();
  }
  const child = spawn(process.execPath, [...execArgv, bin, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/healthz`, child);
  // `serve --workers N`: the first worker answers alone until the others have forked and started.
  const workers = Number(env.PAYLOG_WORKERS ?? 1);
  for (const until = Date.now() + 20_000; workers > 1 && Date.now() < until;) {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length >= workers) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (workers > 1) await new Promise((r) => setTimeout(r, 1_000)); // the last one's store and stream
  return { child, url, secret, dataDir, env, stop: () => stopChild(child) };
}

/** One bounded autocannon run; returns { rps, p99, p50, errors, non2xx, s2xx, statusCodes }. */
export function load({ url, method = 'POST', body, headers = {}, freshKey = false, duration = DURATION_S, connections = CONNECTIONS }) {
  return new Promise((resolve, reject) => {
    const opts = {
      url, method, body, headers: { 'content-type': 'application/json', ...headers },
      connections, duration,
    };
    if (freshKey) {
      opts.requests = [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `bench-${randomBytes(18).toString('base64url')}` } }) }];
    }
    autocannon(opts, (err, r) => {
      if (err) return reject(err);
      const codes = r.statusCodeStats ?? {};
      resolve({
        rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99,
        errors: r.errors + r.timeouts, non2xx: r.non2xx, s2xx: r['2xx'],
        statusCodes: Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, v.count])),
      });
    });
  });
}
