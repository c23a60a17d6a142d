// journal-append: durable records/s through JournalWriter (group commit) over the SQLite store,
// checkpoints off, N concurrent appenders of ~400-byte records; baseline: raw better-sqlite3
// multi-row INSERTs of the same bytes, one transaction per batch of N, WAL + synchronous=FULL.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../dist/adapters/store/sqlite/index.js';
import { JournalWriter } from '../dist/app/journal-writer.js';
import { RUNS, fmt, show, stats, tempDir } from './lib.mjs';

const RECORDS = Number(process.env.BENCH_APPEND_RECORDS ?? 20_000);
const CONCURRENCY = [64, 512];
const clock = { now: () => Date.now() };
const origin = { requestId: 'req_bench', traceId: null, ip: '127.0.0.1' };
const draft = (i) => ({
  type: 'payment.attempted', actor: 'key_bench', origin,
  resource: `txn_01jdq2abcdefghjkmnpq${String(i).padStart(6, '0')}`, outcome: 'success', reason: null,
  data: { attempt: 1, result: 'approved' },
});

async function writerRun(concurrency) {
  const dir = tempDir('paylog-append-');
  const store = openSqliteStore({ path: join(dir, 'j.db') });
  const writer = new JournalWriter(store.journal, clock, {
    journal: 'paylog-local', streamId: 'str_bench', writer: 'bench', actor: 'system',
    batchRecordsMax: 512, queueRecordsMax: 50_000, checkpoints: null,
  });
  await writer.start({ type: 'journal.started', actor: 'system', origin, resource: null, outcome: 'success', reason: null, data: {} });
  let next = 0;
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < RECORDS) {
      const [rec] = await writer.append({ records: [draft(next++)] });
      bytes += JSON.stringify(rec).length;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  await store.close();
  return { rate: RECORDS / s, avgBytes: bytes / RECORDS };
}

function rawRun(concurrency, lines) {
  const dir = tempDir('paylog-raw-');
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE journal (stream TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (stream, seq)) WITHOUT ROWID');
  const stmts = new Map();
  const stmtFor = (n) => {
    if (!stmts.has(n)) stmts.set(n, db.prepare(`INSERT INTO journal VALUES ${Array(n).fill('(?,?,?,?)').join(',')}`));
    return stmts.get(n);
  };
  // SQLite's default limit of 32766 bound parameters allows 8191 rows of 4 per statement.
  const tx = db.transaction((from, to) => {
    const params = [];
    for (let i = from; i < to; i++) params.push('str_bench', i + 1, lines[i].hash, lines[i].body);
    stmtFor(to - from).run(params);
  });
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i += concurrency) tx.immediate(i, Math.min(RECORDS, i + concurrency));
  const s = (performance.now() - t0) / 1000;
  db.close();
  return RECORDS / s;
}

export async function run() {
  // The baseline writes records of the same size as the writer's (sealed, ~400 bytes).
  const sample = JSON.stringify({ v: 1, journal: 'paylog-local', stream: 'str_bench', seq: 1, prev: '0'.repeat(64), ts: new Date().toISOString(), ...draft(0), hash: 'f'.repeat(64) });
  const lines = Array.from({ length: RECORDS }, (_, i) => ({ hash: i.toString(16).padStart(64, '0'), body: sample.replace('"seq":1', `"seq":${i + 1}`) }));
  const rows = [];
  let avgBytes = 0;
  for (const n of CONCURRENCY) {
    const w = [];
    const r = [];
    for (let i = 0; i < RUNS; i++) {
      const res = await writerRun(n);
      avgBytes = res.avgBytes;
      w.push(res.rate);
      r.push(rawRun(n, lines));
      process.stderr.write(`journal-append N=${n} run ${i + 1}: writer ${fmt(w[i])}/s raw ${fmt(r[i])}/s\n`);
    }
    const ws = stats(w);
    const rs = stats(r);
    const ratio = ws.med / rs.med;
    rows.push(`| ${n} | ${show(ws)} | ${show(rs)} | **${ratio.toFixed(2)}×** | ≥ 0.7× — ${ratio >= 0.7 ? 'met' : '**missed**'} |`);
  }
  return [
    '## Journal append (in-process group commit)',
    '',
    `\`JournalWriter\` over \`openSqliteStore\` (WAL, \`synchronous=FULL\`), checkpoints off, ${fmt(RECORDS)} records of`,
    `${fmt(avgBytes)} bytes (sealed JSON) appended by N concurrent appenders, one record per append, timed until the last is durable;`,
    'baseline: raw better-sqlite3 multi-row `INSERT`s of the same number of rows of the same size into a',
    '`(stream, seq, hash, body)` table, one `BEGIN IMMEDIATE` transaction per N rows, same pragmas. Records/s, median (min–max) of',
    `${RUNS} interleaved runs, each on a fresh file.`,
    '',
    '| N | JournalWriter records/s | raw inserts records/s | ratio | target |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
