// verify: records/s of `paylog verify --file` over a generated export of one stream
// (journal.started first, a signed checkpoint every 1,000 records and at the end, as the
// writer makes them), against the raw SHA-256 rate over the same bytes with node:crypto.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { sealRecord, GENESIS_PREV } from '../dist/core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../dist/core/checkpoint.js';
import { MerkleFrontier } from '../dist/core/merkle.js';
import { signerFromPrivateKey, verifierKeyOf } from '../dist/core/signed-note.js';
import { ROOT, RUNS, fmt, show, stats, tempDir } from './lib.mjs';

const RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 1_000_000);
const EVERY = 1000;
const JOURNAL = 'paylog-local';
const STREAM = 'str_01jdq2benchbenchbenchbenchb';

export function generate(path) {
  const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
  const origin = { requestId: 'req_bench', traceId: null, ip: '127.0.0.1' };
  const frontier = new MerkleFrontier();
  let seq = 0;
  let prev = GENESIS_PREV;
  const fd = openSync(path, 'w');
  let buf = [];
  const ts = new Date().toISOString();
  const emit = (draft) => {
    const rec = sealRecord(draft, { journal: JOURNAL, stream: STREAM, seq: seq + 1, prev, ts });
    seq = rec.seq;
    prev = rec.hash;
    frontier.push(Buffer.from(rec.hash, 'hex'));
    buf.push(JSON.stringify(rec));
    if (buf.length >= 10_000) { writeSync(fd, `${buf.join('\n')}\n`); buf = []; }
  };
  const checkpoint = () => {
    const size = seq;
    const root = frontier.root().toString('hex');
    const note = signCheckpoint({ origin: checkpointOrigin(JOURNAL, STREAM), size, root }, [signer]);
    emit({ type: 'journal.checkpoint', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: STREAM, outcome: 'success', reason: null, data: { size, root, note } });
  };
  emit({ type: 'journal.started', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data: {} });
  let last = 0;
  while (seq < RECORDS - 1) {
    emit({ type: 'payment.attempted', actor: 'key_bench', origin, resource: `txn_${seq}`, outcome: 'success', reason: null, data: { attempt: 1, result: 'approved' } });
    if (seq - last >= EVERY) { checkpoint(); last = seq; }
  }
  checkpoint();
  writeSync(fd, `${buf.join('\n')}\n`);
  closeSync(fd);
  return { key: verifierKeyOf(signer), records: seq };
}

function verifyOnce(path, key) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, join(ROOT, 'bin/paylog.js'), 'verify', '--file', path, '--key', key, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.once('error', reject);
    child.once('exit', (code) => {
      const s = (performance.now() - t0) / 1000;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      let report = {};
      try { report = JSON.parse(out); } catch { /* below */ }
      resolve({ code, s, rssMiB: m ? Number(m[1]) / 1024 : NaN, report, err: err.split('\n').filter((l) => !/^\s/.test(l) && l.trim()).slice(0, 3).join(' ') });
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
  const v = [];
  const h = [];
  const rss = [];
  const parse = [];
  const perLine = [];
  let exit = 0;
  let summary = '';
  for (let i = 0; i < RUNS; i++) {
    const r = await verifyOnce(path, key);
    if (r.code !== 0) { exit = r.code; summary = `${JSON.stringify(r.report).slice(0, 300)} ${r.err}`; }
    v.push(records / r.s);
    rss.push(r.rssMiB);
    h.push(records / sha256Once(path));
    const f = floors(path);
    parse.push(f.parseRate);
    perLine.push(f.hashRate);
    if (i === RUNS - 1) rmSync(dirname(path), { recursive: true, force: true });
    process.stderr.write(`verify run ${i + 1}: ${fmt(v[i])} records/s (exit ${r.code}, ${fmt(r.rssMiB, 1)} MiB); sha256 ${fmt(h[i])} records/s\n`);
  }
  const vs = stats(v);
  const hs = stats(h);
  const rs = stats(rss);
  const ratio = vs.med / hs.med;
  return [
    '## Verify (`paylog verify --file`)',
    '',
    `An export of ${fmt(records)} records of one stream (${fmt(bytes / 2 ** 20, 1)} MiB of JSONL; \`journal.started\` first, a signed`,
    `checkpoint every ${fmt(EVERY)} records and one at the end), generated in-process with \`sealRecord\`, \`MerkleFrontier\` and`,
    `\`signCheckpoint\` in ${genS.toFixed(0)} s. Timed: the whole \`paylog verify --file … --key … --json\` process (start-up included),`,
    `under \`/usr/bin/time -v\` for its peak RSS. Baseline: one SHA-256 (node:crypto) over the same file's bytes, read in 1 MiB`,
    `chunks, expressed as records/s. Median (min–max) of ${RUNS} runs.`,
    '',
    '| figure | value | baseline (raw SHA-256) | ratio | target |',
    '|---|---|---|---|---|',
    `| records/s | ${show(vs)} | ${show(hs)} | **${ratio.toFixed(3)}×** | ≥ 0.5× — ${ratio >= 0.5 ? 'met' : '**missed**'} |`,
    `| peak RSS | ${show(rs, 1, ' MiB')} | | | < 256 MB (244 MiB) — ${rs.max * 1.048576 < 256 ? 'met' : '**missed**'} |`,
    `| exit code | ${exit}${exit ? ` — ${summary}` : ' (valid)'} | | | 0 |`,
    '',
    'Floors, measured in the benchmark process over the same file (one core, no verification at all):',
    '',
    '| pass | records/s | ratio to raw SHA-256 |',
    '|---|---|---|',
    `| \`JSON.parse\` of every line, nothing else | ${show(stats(parse))} | ${(stats(parse).med / hs.med).toFixed(3)}× |`,
    `| one SHA-256 per line (\`crypto.hash\`), nothing else | ${show(stats(perLine))} | ${(stats(perLine).med / hs.med).toFixed(3)}× |`,
    '',
    'A verifier has to do both for every record, and canonicalize it (RFC 8785) before hashing, and hash the Merkle tree: the',
    '0.5× target is below what parsing alone allows, whatever the verifier does. See [performance.md](performance.md).',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
