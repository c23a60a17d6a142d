// verify: records/s of `paylog verify --file` over a generated export of one stream
// (journal.started first, a signed checkpoint every 1,000 records and at the end, as the
// writer makes them), against the JSON.parse-only floor over the same lines (and, for scale,
// the raw SHA-256 rate over the same bytes with node:crypto); and `paylog verify` of a SQLite
// journal of several streams with `--jobs 1` against `--jobs 2`, in the same run.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { openSqliteStore } from '../dist/adapters/store/sqlite/index.js';
import { sealRecord, GENESIS_PREV } from '../dist/core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../dist/core/checkpoint.js';
import { MerkleFrontier } from '../dist/core/merkle.js';
import { signerFromPrivateKey, verifierKeyOf } from '../dist/core/signed-note.js';
import { ROOT, RUNS, fmt, show, stats, tempDir } from './lib.mjs';

const RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 1_000_000);
/** The SQLite journal of several streams: how many, and records in all. */
const STORE_STREAMS = Number(process.env.BENCH_VERIFY_STORE_STREAMS ?? 4);
const STORE_RECORDS = Number(process.env.BENCH_VERIFY_STORE_RECORDS ?? 1_000_000);
/** Records per commit while generating it; each commit carries a signed head, as the writer's do. */
const STORE_COMMIT_RECORDS = 5_000;
const EVERY = 1000;
const JOURNAL = 'paylog-local';
const STREAM = 'str_01jdq2benchbenchbenchbenchb';

/**
 * Seals one stream as a writer would: journal.started, then payment.attempted records with a
 * signed checkpoint record every EVERY records and one at the end. Each record goes to `emit`;
 * `head()` signs the stream as sealed so far (timed, as a commit's head is).
 */
function streamSealer(stream, signer, emit) {
  const origin = { requestId: 'req_bench', traceId: null, ip: '127.0.0.1' };
  const frontier = new MerkleFrontier();
  let seq = 0;
  let last = 0;
  let prev = GENESIS_PREV;
  const ts = new Date().toISOString();
  const add = (draft) => {
    const rec = sealRecord(draft, { journal: JOURNAL, stream, seq: seq + 1, prev, ts });
    seq = rec.seq;
    prev = rec.hash;
    frontier.push(Buffer.from(rec.hash, 'hex'));
    emit(rec);
  };
  const checkpoint = () => {
    const size = seq;
    const root = frontier.root().toString('hex');
    const note = signCheckpoint({ origin: checkpointOrigin(JOURNAL, stream), size, root }, [signer]);
    add({ type: 'journal.checkpoint', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: stream, outcome: 'success', reason: null, data: { size, root, note } });
  };
  return {
    get seq() { return seq; },
    /** Seals up to `records` in all, the final checkpoint included, a step of at most `stepMax` at a time; false when done. */
    fill(records, stepMax = Infinity) {
      if (seq === 0) add({ type: 'journal.started', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data: {} });
      for (let n = 0; seq < records - 1 && n < stepMax; n++) {
        add({ type: 'payment.attempted', actor: 'key_bench', origin, resource: `txn_${seq}`, outcome: 'success', reason: null, data: { attempt: 1, result: 'approved' } });
        if (seq - last >= EVERY) { checkpoint(); last = seq; }
      }
      if (seq < records - 1) return true;
      checkpoint();
      return false;
    },
    head() {
      const size = seq;
      const root = frontier.root().toString('hex');
      return { stream, size, root, note: signCheckpoint({ origin: checkpointOrigin(JOURNAL, stream), size, root, time: ts }, [signer]) };
    },
  };
}

export function generate(path) {
  const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
  const fd = openSync(path, 'w');
  let buf = [];
  const sealer = streamSealer(STREAM, signer, (rec) => {
    buf.push(JSON.stringify(rec));
    if (buf.length >= 10_000) { writeSync(fd, `${buf.join('\n')}\n`); buf = []; }
  });
  sealer.fill(RECORDS);
  // The stream's signed head after its records, as `paylog export` writes it: it covers the final checkpoint record.
  buf.push(JSON.stringify({ head: sealer.head() }));
  writeSync(fd, `${buf.join('\n')}\n`);
  closeSync(fd);
  return { key: verifierKeyOf(signer), records: sealer.seq };
}

/**
 * A SQLite journal of STORE_STREAMS open streams of equal length, written through the store's
 * own commits (records and a signed head per commit of STORE_COMMIT_RECORDS).
 */
export async function generateStore(path) {
  const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
  const store = openSqliteStore({ path });
  let records = 0;
  const now = new Date().toISOString();
  for (let s = 0; s < STORE_STREAMS; s++) {
    const stream = `str_01jdq2benchbenchbenchbench${s}`;
    await store.journal.createStream({ id: stream, journal: JOURNAL, startedAt: now, writer: 'bench', leaseExpiresAt: now });
    let batch = [];
    const sealer = streamSealer(stream, signer, (rec) => batch.push(rec));
    let more = true;
    while (more) {
      more = sealer.fill(Math.ceil(STORE_RECORDS / STORE_STREAMS), STORE_COMMIT_RECORDS);
      await store.journal.commit([{ records: batch, head: sealer.head() }]);
      batch = [];
    }
    records += sealer.seq;
  }
  await store.close();
  return { key: verifierKeyOf(signer), records };
}

function verifyOnce(path, key, args = ['--file', path]) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'bin/paylog.js'), 'verify', ...args, '--key', key, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PAYLOG_DATA_DIR: dirname(path) } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.once('error', reject);
    child.once('exit', (code) => {
      const s = (performance.now() - t0) / 1000;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      // CPU seconds of the whole process (every thread): what a loaded machine's wall time hides.
      const cpu = ['User', 'System'].reduce((sum, kind) => sum + Number(new RegExp(`${kind} time \\(seconds\\): ([\\d.]+)`).exec(err)?.[1] ?? NaN), 0);
      let report = {};
      try { report = JSON.parse(out); } catch { /* below */ }
      resolve({ code, s, cpu, rssMiB: m ? Number(m[1]) / 1024 : NaN, report, err: err.split('\n').filter((l) => !/^\s/.test(l) && l.trim()).slice(0, 3).join(' ') });
    });
  });
}

function sha256Once(path) {
  const t0 = performance.now();
  const fd = openSync(path, 'r');
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let n;
  while ((n = readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, n));
  closeSync(fd);
  hash.digest();
  return (performance.now() - t0) / 1000;
}

/**
 * Floors for any verifier that must parse each record and hash it: JSON.parse of every line
 * alone, and one SHA-256 per line alone (node:crypto), over the same file, records/s.
 */
function floors(path) {
  const lines = [];
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let rest = '';
  let n;
  const t0 = performance.now();
  let parsed = 0;
  while ((n = readSync(fd, chunk, 0, chunk.length, null)) > 0) {
    const parts = (rest + chunk.toString('utf8', 0, n)).split('\n');
    rest = parts.pop();
    for (const line of parts) {
      if (line === '') continue;
      JSON.parse(line);
      parsed++;
      if (lines.length < 200_000) lines.push(line);
    }
  }
  closeSync(fd);
  const parseRate = parsed / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  const sha = crypto.hash ? (line) => crypto.hash('sha256', line, 'hex') : (line) => createHash('sha256').update(line).digest('hex');
  for (const line of lines) sha(line);
  const hashRate = lines.length / ((performance.now() - t1) / 1000);
  return { parseRate, hashRate };
}

export async function run() {
  const path = join(tempDir('paylog-verify-'), 'export.jsonl');
  const g0 = performance.now();
  const { key, records } = generate(path);
  const genS = (performance.now() - g0) / 1000;
  const bytes = statSync(path).size;
  process.stderr.write(`verify: generated ${fmt(records)} records, ${fmt(bytes / 2 ** 20, 1)} MiB in ${genS.toFixed(1)} s\n`);
  const dbPath = join(tempDir('paylog-verify-store-'), 'paylog.db');
  const s0 = performance.now();
  const store = await generateStore(dbPath);
  const storeGenS = (performance.now() - s0) / 1000;
  const storeMiB = statSync(dbPath).size / 2 ** 20;
  process.stderr.write(`verify: generated a SQLite journal of ${STORE_STREAMS} streams, ${fmt(store.records)} records, ${fmt(storeMiB, 1)} MiB in ${storeGenS.toFixed(1)} s\n`);
  const v = [];
  const h = [];
  const rss = [];
  const parse = [];
  const perLine = [];
  const one = [];
  const two = [];
  const storeRss = [];
  const cpu = { file: [], 1: [], 2: [] };
  let exit = 0;
  let summary = '';
  const check = (r, what) => {
    if (r.code !== 0 && exit === 0) { exit = r.code; summary = `${what}: ${JSON.stringify(r.report).slice(0, 300)} ${r.err}`; }
  };
  for (let i = 0; i < RUNS; i++) {
    const r = await verifyOnce(path, key);
    check(r, 'file');
    v.push(records / r.s);
    cpu.file.push(r.cpu * 1e6 / records);
    rss.push(r.rssMiB);
    h.push(records / sha256Once(path));
    const f = floors(path);
    parse.push(f.parseRate);
    perLine.push(f.hashRate);
    // --jobs 1 and --jobs 2 alternate which goes first.
    const order = i % 2 === 0 ? [1, 2] : [2, 1];
    for (const jobs of order) {
      const s = await verifyOnce(dbPath, store.key, ['--store', `sqlite:${dbPath}`, '--jobs', String(jobs)]);
      check(s, `store --jobs ${jobs}`);
      (jobs === 1 ? one : two).push(store.records / s.s);
      cpu[jobs].push(s.cpu * 1e6 / store.records);
      storeRss.push(s.rssMiB);
      process.stderr.write(`verify run ${i + 1}: store --jobs ${jobs} ${fmt(store.records / s.s)} records/s (exit ${s.code}, ${fmt(s.rssMiB, 1)} MiB)\n`);
    }
    process.stderr.write(`verify run ${i + 1}: file ${fmt(v[i])} records/s (exit ${r.code}, ${fmt(r.rssMiB, 1)} MiB); JSON.parse ${fmt(parse[i])}/s; sha256 ${fmt(h[i])} records/s\n`);
  }
  rmSync(dirname(path), { recursive: true, force: true });
  rmSync(dirname(dbPath), { recursive: true, force: true });
  const vs = stats(v);
  const hs = stats(h);
  const ps = stats(parse);
  const rs = stats([...rss, ...storeRss]);
  const floorRatio = vs.med / ps.med;
  const os = stats(one);
  const ts = stats(two);
  const scaling = ts.med / os.med;
  const cores = availableParallelism();
  return [
    '## Verify (`paylog verify`)',
    '',
    `**One stream, one core.** An export of ${fmt(records)} records of one stream (${fmt(bytes / 2 ** 20, 1)} MiB of JSONL; \`journal.started\` first, a signed`,
    `checkpoint every ${fmt(EVERY)} records and one at the end), generated in-process with \`sealRecord\`, \`MerkleFrontier\` and`,
    `\`signCheckpoint\` in ${genS.toFixed(0)} s. Timed: the whole \`paylog verify --file … --key … --json\` process (start-up included),`,
    'under `/usr/bin/time -v` for its peak RSS. Baseline: the floor of any verifier, measured in the benchmark process over the',
    'same file in the same run — read it in 1 MiB chunks, split the lines and `JSON.parse` each, nothing else.',
    '',
    `**Several streams, ${cores} cores.** A SQLite journal of ${STORE_STREAMS} streams of ${fmt(Math.ceil(STORE_RECORDS / STORE_STREAMS))} records each (${fmt(store.records)} in all,`,
    `${fmt(storeMiB, 1)} MiB; the same records, a signed head with every commit of ${fmt(STORE_COMMIT_RECORDS)}), written through the store's commits in ${storeGenS.toFixed(0)} s.`,
    'Timed: the whole `paylog verify --store sqlite:… --key … --json` process with `--jobs 1` (one pass on the main thread)',
    'and with `--jobs 2` (two worker threads, each on its own read-only connection, the streams shared between them), alternating.',
    `Median (min–max) of ${RUNS} runs each.`,
    '',
    '| figure | value | baseline | ratio | target |',
    '|---|---|---|---|---|',
    `| one stream: records/s | ${show(vs)} | ${show(ps)} (\`JSON.parse\` floor) | **${floorRatio.toFixed(2)}×** | ≥ 0.6× — ${floorRatio >= 0.6 ? 'met' : '**missed**'} |`,
    `| ${STORE_STREAMS} streams: records/s, \`--jobs 2\` vs \`--jobs 1\` | ${show(ts)} | ${show(os)} | **${scaling.toFixed(2)}×** | ≥ 1.7× — ${scaling >= 1.7 ? 'met' : '**missed**'} |`,
    `| peak RSS, any of these runs | ${show(rs, 1, ' MiB')} | | | < 256 MB (244 MiB) — ${rs.max * 1.048576 < 256 ? 'met' : '**missed**'} |`,
    `| CPU per record (every thread, start-up included): one stream; ${STORE_STREAMS} streams \`--jobs 1\`; \`--jobs 2\` | ${show(stats(cpu.file), 2, ' µs')}; ${show(stats(cpu[1]), 2, ' µs')}; ${show(stats(cpu[2]), 2, ' µs')} | | | |`,
    `| exit codes | ${exit}${exit ? ` — ${summary}` : ' (valid)'} | | | 0 |`,
    '',
    'For scale, over the same file in the benchmark process (one core, no verification at all):',
    '',
    '| pass | records/s | verify\'s ratio to it |',
    '|---|---|---|',
    `| one SHA-256 over the file's bytes, 1 MiB reads | ${show(hs)} | ${(vs.med / hs.med).toFixed(3)}× |`,
    `| one SHA-256 per line (\`crypto.hash\`), nothing else | ${show(stats(perLine))} | ${(vs.med / stats(perLine).med).toFixed(3)}× |`,
    `| \`JSON.parse\` of every line, nothing else | ${show(ps)} | ${floorRatio.toFixed(3)}× |`,
    '',
    'A verifier has to parse every record, hash it (after RFC 8785 canonicalization) and hash the Merkle tree. What bounds',
    'each figure: [performance.md](performance.md#verify).',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
