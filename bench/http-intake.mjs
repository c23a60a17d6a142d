// http-intake: POST /v1/payments (approving card, fresh Idempotency-Key per request, gateway
// latency 0, SQLite in a temp dir) against `paylog serve`, beside a bare Fastify route in a
// separate process parsing the same body, and the naive design (PAYLOG_JOURNAL_BATCH_MAX=1).
// Runs are interleaved (bare, paylog, naive) so the shared machine's noise hits all alike.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import {
  CONNECTIONS, DURATION_S, ROOT, RUNS, childrenPeakRssMiB, fmt, paymentBody, peakRssMiB, show, startPaylog, stats, stopChild,
} from './lib.mjs';

export async function startBare() {
  const child = spawn(process.execPath, [join(ROOT, 'bench/bare-fastify-server.mjs'), '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { child, url, stop: () => stopChild(child) };
}

const firstNon2xx = {};

// Not randomUUID(): paylog refuses (400 idempotency_key_invalid) a key in which it finds a Luhn-valid run of
// digits that could be a card number, and a v4 UUID has one now and then (seen 4 times in ~24,000 requests).
// base64url keys almost never hold 13 digits in a row.
export const freshKey = () => `bench-${randomBytes(18).toString('base64url')}`;

/** One run with fresh keys; collects the ids of 201 answers for the durability check. */
function intakeRun(url, secret, ids, duration = DURATION_S) {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `${url}/v1/payments`, method: 'POST', connections: CONNECTIONS, duration,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: paymentBody(),
      requests: [{
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': freshKey() } }),
        onResponse: (status, body) => {
          if (status >= 300 && !firstNon2xx[status]) {
            firstNon2xx[status] = String(body).slice(0, 300);
            process.stderr.write(`http-intake: first ${status} answer: ${firstNon2xx[status]}\n`);
          }
          if (ids && status === 201) {
            const m = /"id":"(txn_[^"]+)"/.exec(String(body));
            ids.push(m ? m[1] : '?');
          }
        },
      }],
    }, (err, r) => {
      if (err) return reject(err);
      resolve({
        rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50,
        errors: r.errors + r.timeouts, non2xx: r.non2xx,
        codes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
      });
    });
  });
}

function durableCheck(dataDir, ids) {
  const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
  const stored = new Set(db.prepare("SELECT id FROM payments WHERE status = 'succeeded'").pluck().all());
  const succeededRecords = db.prepare("SELECT count(*) FROM journal WHERE type = 'payment.succeeded'").pluck().get();
  db.close();
  const missing = ids.filter((id) => !stored.has(id)).length;
  return { acknowledged: ids.length, missing, stored: stored.size, succeededRecords };
}

export const shared = {};

export async function run() {
  const designs = [
    { name: 'bare', start: startBare },
    { name: 'paylog', start: () => startPaylog() },
    // The same server on a store that never syncs (bench-only switch): what durability costs.
    { name: 'nosync', start: () => startPaylog({}, { execArgv: ['--import', join(ROOT, 'bench/sqlite-no-sync.mjs')] }) },
    // One commit per write: no group commit in the journal writer nor in the SQLite store.
    { name: 'naive', start: () => startPaylog({ PAYLOG_JOURNAL_BATCH_MAX: '1', PAYLOG_SQLITE_BATCH_MAX: '1' }) },
    { name: 'workers2', start: () => startPaylog({ PAYLOG_WORKERS: '2' }) },
  ];
  const servers = {};
  for (const d of designs) servers[d.name] = await d.start();
  const results = Object.fromEntries(designs.map((d) => [d.name, []]));
  const ids = { paylog: [], nosync: [], naive: [], workers2: [] };
  const rss = {};
  try {
    // Warm-up (JIT, SQLite page cache): 1 s each, not counted.
    for (const d of designs) await intakeRun(`${servers[d.name].url}`, servers[d.name].secret ?? 'x', ids[d.name], 1);
    for (let i = 0; i < RUNS; i++) {
      for (const d of designs) {
        const r = await intakeRun(servers[d.name].url, servers[d.name].secret ?? 'x', ids[d.name]);
        results[d.name].push(r);
        process.stderr.write(`http-intake ${d.name} run ${i + 1}: ${fmt(r.rps)} req/s p99 ${r.p99} ms errors ${r.errors} non2xx ${r.non2xx}\n`);
      }
    }
  } finally {
    for (const d of designs) {
      try {
        rss[d.name] = d.name === 'workers2' ? childrenPeakRssMiB(servers[d.name].child.pid) : peakRssMiB(servers[d.name].child.pid);
      } catch { rss[d.name] = NaN; }
      await servers[d.name].stop();
    }
  }
  const dur = Object.fromEntries(['paylog', 'naive', 'workers2'].map((n) => [n, durableCheck(servers[n].dataDir, ids[n])]));
  const s = (name, key) => stats(results[name].map((r) => r[key]));
  const errs = (name) => results[name].reduce((n, r) => n + r.errors + r.non2xx, 0);
  const non2xxCodes = (name) => {
    const all = {};
    for (const r of results[name]) for (const [c, n] of Object.entries(r.codes)) if (!c.startsWith('2')) all[c] = (all[c] ?? 0) + n;
    const list = Object.entries(all).map(([c, n]) => `${n}× ${c}`).join(', ');
    return list ? ` (${list})` : '';
  };
  const names = ['bare', 'paylog', 'nosync', 'naive', 'workers2'];
  const rps = Object.fromEntries(names.map((n) => [n, s(n, 'rps')]));
  const p99 = Object.fromEntries(names.map((n) => [n, s(n, 'p99')]));
  // The target is in MB (10^6 bytes); VmHWM is read in KiB.
  const underTarget = (mib) => mib * 1.048576 < 200;
  const ratio = rps.paylog.med / rps.bare.med;
  const durableRatio = rps.paylog.med / rps.nosync.med;
  shared.durableRatio = durableRatio;
  shared.intakeRps = rps.paylog;
  shared.intakeP99 = p99.paylog;
  const ok = (b) => (b ? 'met' : '**missed**');
  return [
    '## HTTP intake (`POST /v1/payments`)',
    '',
    `autocannon, ${CONNECTIONS} connections on loopback, ${RUNS} interleaved runs of ${DURATION_S} s each after a 1 s warm-up;`,
    'approving card 4242…4242, a fresh `Idempotency-Key` per request, `PAYLOG_GATEWAY_LATENCY_MS=0`, rate limit off, SQLite',
    '(WAL, `synchronous=FULL`) in a temp data dir, `paylog serve` as a child process. Baselines: the same server on a store',
    'that never syncs (SQLite with `synchronous=OFF`, set by the bench-only preload `bench/sqlite-no-sync.mjs`), and a bare',
    'Fastify 5 route in a separate Node process that parses the same ~300-byte body and answers a small JSON. Median (min–max).',
    '',
    '| figure | paylog (group commit) | the same, never syncing | naive (one commit per write) | paylog `--workers 2` | bare Fastify | target |',
    '|---|---|---|---|---|---|---|',
    `| req/s | ${show(rps.paylog)} | ${show(rps.nosync)} | ${show(rps.naive)} | ${show(rps.workers2)} | ${show(rps.bare)} | |`,
    `| ratio to never syncing (medians) | **${durableRatio.toFixed(2)}×** | 1× | | | | ≥ 0.7× — ${ok(durableRatio >= 0.7)} |`,
    `| ratio to bare (medians) | ${ratio.toFixed(2)}× | ${(rps.nosync.med / rps.bare.med).toFixed(2)}× | ${(rps.naive.med / rps.bare.med).toFixed(2)}× | ${(rps.workers2.med / rps.bare.med).toFixed(2)}× | 1× | |`,
    `| p99 latency | ${show(p99.paylog, 0, ' ms')} | ${show(p99.nosync, 0, ' ms')} | ${show(p99.naive, 0, ' ms')} | ${show(p99.workers2, 0, ' ms')} | ${show(p99.bare, 0, ' ms')} | ≤ 25 ms — ${ok(p99.paylog.med <= 25)} |`,
    `| errors + non-2xx (all runs) | ${errs('paylog')}${non2xxCodes('paylog')} | ${errs('nosync')}${non2xxCodes('nosync')} | ${errs('naive')}${non2xxCodes('naive')} | ${errs('workers2')}${non2xxCodes('workers2')} | ${errs('bare')} | 0 — ${ok(errs('paylog') === 0)} |`,
    `| 201s acknowledged / found durable after shutdown | ${fmt(dur.paylog.acknowledged)} / ${fmt(dur.paylog.acknowledged - dur.paylog.missing)} | — | ${fmt(dur.naive.acknowledged)} / ${fmt(dur.naive.acknowledged - dur.naive.missing)} | ${fmt(dur.workers2.acknowledged)} / ${fmt(dur.workers2.acknowledged - dur.workers2.missing)} | — | all — ${ok(dur.paylog.missing === 0 && dur.workers2.missing === 0)} |`,
    `| server peak RSS (VmHWM, whole session) | ${fmt(rss.paylog, 1)} MiB | ${fmt(rss.nosync, 1)} MiB | ${fmt(rss.naive, 1)} MiB | ${fmt(rss.workers2, 1)} MiB (both workers) | ${fmt(rss.bare, 1)} MiB | < 200 MB (190.7 MiB) — ${ok(underTarget(rss.paylog))} |`,
    '',
    `Durability check: every \`id\` of a 201 answer was looked up in the \`payments\` table (status \`succeeded\`) after a clean`,
    `shutdown; the journal holds ${fmt(dur.paylog.succeededRecords)} \`payment.succeeded\` records for ${fmt(dur.paylog.stored)} succeeded payments`,
    '(more than acknowledged: requests still in flight when a load run ended were completed by the server).',
    '',
    'Keys are `bench-` + 18 random bytes in base64url. With `randomUUID()` keys an earlier run of this benchmark got 4',
    '`400 idempotency_key_invalid` ("Idempotency-Key looks like it holds a card number") in about 24,000 requests: a v4 UUID',
    'sometimes holds a Luhn-valid run of digits once its dashes are ignored.',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
