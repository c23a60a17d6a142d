// `npm run bench [-- SCENARIO]`: runs the benchmark scenarios and writes docs/BENCHMARKS.md.
// Scenarios: http-intake, replay, journal-append, verify, postgres, lambda (bundle size and cold module-load
// time), lambda-warm (warm invocations against DynamoDB Local beside a Powertools baseline), payment-cpu (the CPU of one
// payment in-process on the memory store, beside a bare Fastify route's CPU per request).
// Each scenario module exports `run()` returning its markdown section; replay uses http-intake's figure
// when both run in the same invocation.
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const scenarios = {
  'http-intake': async () => (await import('./http-intake.mjs')).run(),
  replay: async () => (await import('./replay.mjs')).run(),
  'payment-cpu': async () => (await import('./payment-cpu.mjs')).run(),
  'journal-append': async () => (await import('./journal-append.mjs')).run(),
  verify: async () => (await import('./verify.mjs')).run(),
  postgres: async () => (await import('./postgres.mjs')).run(),
  lambda: async () => {
    const { result } = await import('./lambda-cold-start.mjs');
    return [
      '## Lambda bundle',
      '',
      'Size of `dist/lambda/` (all `.mjs` chunks; the AWS SDK v3 is provided by the nodejs22.x runtime and not bundled) and',
      `cold module-load time: the median of ${result.runs} fresh Node processes importing \`handler.mjs\`.`,
      '',
      '| figure | value | target |',
      '|---|---|---|',
      `| bundle (all chunks) | ${result.bundleKiB} KiB | < 1.5 MB |`,
      `| entry chunk \`handler.mjs\` | ${result.entryKiB} KiB | |`,
      `| cold module load, median (min–max) | ${result.loadMsMedian} ms (${result.loadMsMin}–${result.loadMsMax}) | < 250 ms |`,
      '',
      'What keeps it there: the bundle is split so the SQLite and in-memory stores are separate chunks loaded only',
      'for those stores; the OpenAPI document is generated at build time, so `@fastify/swagger` and its YAML',
      'dependency are not loaded at all; the Secrets Manager client is imported only when a secret is configured.',
    ].join('\n');
  },
  'lambda-warm': async () => (await import('./lambda-warm.mjs')).run(),
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(scenarios);
for (const name of names) if (!scenarios[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);

// Each scenario's section sits between markers, so running some scenarios keeps the others' last figures.
const PATH = 'docs/BENCHMARKS.md';
const begin = (name) => `<!-- bench:${name} -->`;
const end = (name) => `<!-- /bench:${name} -->`;
const previous = existsSync(PATH) ? readFileSync(PATH, 'utf8') : '';
const kept = (name) => {
  const from = previous.indexOf(begin(name));
  const to = previous.indexOf(end(name));
  return from >= 0 && to > from ? previous.slice(from, to + end(name).length) : null;
};
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
const sections = [];
for (const name of Object.keys(scenarios)) {
  if (names.includes(name)) {
    const body = await scenarios[name]();
    sections.push(`${begin(name)}\n_Measured ${machine}._\n\n${body}\n${end(name)}`);
  } else {
    const old = kept(name);
    if (old) sections.push(old);
  }
}
// Why the missed targets are out of reach, from the profiles in docs/performance.md.
const limits = [
  '## Targets missed, and what the profiles show',
  '',
  '- **HTTP intake p99 (25 ms at 64 connections).** About 40 ms. Durability is not what bounds it: the same server on a store',
  '  that never syncs has the same p99 and reaches about 1.15× the requests (the 0.7× target is met). A payment is three',
  '  dependent durable writes (`payment.received` with the key\'s claim, the gateway\'s ledger entry, the outcome); with 64',
  '  requests in flight a p99 of 25 ms needs well over 64 ÷ 25 ms ≈ 2.6k req/s with little spread, and the serving thread,',
  '  its write thread and the load generator share 2 cores: about 86 µs of CPU per payment beside Fastify\'s own 26–40 µs.',
  '- **CPU per payment (80 µs).** About 86 µs, from about 190 µs. What is left is spread thin: garbage collection of a store',
  '  that keeps everything in the JS heap (16 %), three SHA-256 leaf hashes and Merkle nodes, three HMACs, the canonical',
  '  forms, the gateway call\'s timer and abort signal; no cost above a sixth of the whole.',
  '- **PostgreSQL, two instances (more than one).** One instance already keeps 1.4–1.7 of the 2 cores busy (paylog and',
  '  PostgreSQL); two keep 1.75–1.95 busy and spend 20–40 % more CPU per payment, each committing half-size batches. One',
  '  instance reaches 0.8× SQLite (target 0.5×, met).',
  '- **Journal append (0.7×).** Each record\'s hash covers the previous one, so sealing is sequential and precedes the insert;',
  '  the "bound" column (1 / (1/seal + 1/insert)) is itself below 0.7×.',
  '- **Lambda warm p50 (25 % below the earlier issue\'s 10.2 ms).** About 15 % below the build before this issue measured side',
  '  by side (12.8 → 10.8 ms on a busier machine), 9.6 ms here. The three dependent DynamoDB requests alone wait about 7 ms',
  '  on DynamoDB Local; the process spends about 3.5 ms, about half of it in the AWS SDK (see the lambda-warm section).',
  '- **Verify, one stream (0.6× the `JSON.parse` floor).** About 0.4× (0.35× and 0.26× before). Stored lines are in the',
  '  record\'s field order, not the canonical (sorted) one, so no stored bytes can be hashed as they are: each leaf\'s canonical',
  '  form is written (in one `JSON.stringify`), then hashed, beside a Merkle node per record and the chain checks; those',
  '  three alone take more than the budget 0.6× leaves beyond parsing.',
  '- **Verify, `--jobs 2` (1.7× `--jobs 1`).** About 1.5×. Two threads spend 1.15× the CPU of one pass, and a single pass',
  '  already keeps 1.1 cores busy (V8\'s garbage collector on helper threads, SQLite\'s reads), so two threads cannot reach',
  '  much more than 1.5× on 2 cores.',
  '',
  'Profiles, the per-step costs behind these statements, and the alternatives measured and rejected: [performance.md](performance.md).',
].join('\n');

const text = [
  '# Benchmarks', '',
  'Run with `npm run build && npm run build:lambda && npm run bench` (or `npm run bench -- SCENARIO`, which rewrites only that',
  'section); the machine is shared, so other processes may have run beside the benchmark, and figures drift between runs —',
  'every target is a ratio against a baseline measured in the same run. Load generator: autocannon 8 in the runner process, on',
  'loopback. Why the figures are what they are, with profiles: [performance.md](performance.md).', '',
  sections.join('\n\n'), '', limits, '',
].join('\n');
writeFileSync(PATH, text);
console.log(text);
