// postgres: payments/s (fresh-key POST /v1/payments, as http-intake) of one and of two
// `paylog serve` instances on one PostgreSQL database, beside one instance on SQLite, in the
// same run. 64 connections in total (two instances: 32 each, loaded at the same time).
import { fmt, load, paymentBody, show, startPaylog, stats, tempDir, RUNS, DURATION_S } from './lib.mjs';
import { startPostgresCluster } from './postgres-cluster.mjs';

const post = (server, connections, duration) => load({
  url: `${server.url}/v1/payments`, body: paymentBody(), headers: { authorization: `Bearer ${server.secret}` }, freshKey: true, connections, duration,
});

export async function run() {
  const cluster = await startPostgresCluster();
  const servers = [];
  try {
    const pgUrl = await cluster.createDatabase('paylog_bench');
    // No metrics listeners: three servers (and any other on this machine) cannot share its port.
    const noMetrics = { PAYLOG_METRICS_PORT: '0' };
    const sqlite = await startPaylog(noMetrics);
    servers.push(sqlite);
    const dataDir = tempDir('paylog-bench-pgdata-');
    const a = await startPaylog({ ...noMetrics, PAYLOG_STORE: pgUrl }, { dataDir });
    servers.push(a);
    const b = await startPaylog({ ...noMetrics, PAYLOG_STORE: pgUrl }, { dataDir, secret: a.secret });
    servers.push(b);
    const res = { sqlite: [], one: [], two: [] };
    const bad = { sqlite: 0, one: 0, two: 0 };
    await Promise.all([post(sqlite, 64, 1), post(a, 64, 1), post(b, 64, 1)]);
    for (let i = 0; i < RUNS; i++) {
      const s = await post(sqlite, 64, DURATION_S);
      const o = await post(a, 64, DURATION_S);
      const [t1, t2] = await Promise.all([post(a, 32, DURATION_S), post(b, 32, DURATION_S)]);
      res.sqlite.push(s.rps); res.one.push(o.rps); res.two.push(t1.rps + t2.rps);
      bad.sqlite += s.errors + s.non2xx; bad.one += o.errors + o.non2xx; bad.two += t1.errors + t1.non2xx + t2.errors + t2.non2xx;
      process.stderr.write(`postgres run ${i + 1}: sqlite ${fmt(s.rps)} pg×1 ${fmt(o.rps)} pg×2 ${fmt(t1.rps + t2.rps)} payments/s\n`);
    }
    const s = stats(res.sqlite);
    const o = stats(res.one);
    const t = stats(res.two);
    return [
      '## PostgreSQL',
      '',
      `Fresh-key \`POST /v1/payments\` as in http-intake, against \`paylog serve\` on one PostgreSQL ${cluster.version} database (a throwaway`,
      'cluster on loopback, `fsync` and `synchronous_commit` on, pool of 10 per instance) — one instance with 64 connections, then two',
      `instances (sharing the database and keys) with 32 connections each at the same time — beside one instance on SQLite. ${RUNS} runs of`,
      `${DURATION_S} s, interleaved; payments/s (summed over instances), median (min–max). Everything shares the same 2 cores.`,
      '',
      '| store | payments/s | ratio to SQLite | errors + non-2xx | target |',
      '|---|---|---|---|---|',
      `| SQLite, 1 instance | ${show(s)} | 1× | ${bad.sqlite} | |`,
      `| PostgreSQL, 1 instance | ${show(o)} | **${(o.med / s.med).toFixed(2)}×** | ${bad.one} | ≥ 0.5× — ${o.med >= 0.5 * s.med ? 'met' : '**missed**'} |`,
      `| PostgreSQL, 2 instances | ${show(t)} | ${(t.med / s.med).toFixed(2)}× (**${(t.med / o.med).toFixed(2)}×** one instance) | ${bad.two} | `
        + `> one instance — ${t.med > o.med ? 'met' : '**missed**'} |`,
      '',
      'Two instances beat one only where one instance leaves CPU idle: here the two `paylog serve` processes, their PostgreSQL',
      'backends and the load generator share 2 cores. What a commit costs and what bounds it: [performance.md](performance.md#postgresql).',
    ].join('\n');
  } finally {
    for (const srv of servers) await srv.stop();
    await cluster.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
