// payment-cpu: the CPU one payment costs paylog itself, with no HTTP and no database. The services are
// built by the composition root (startServices) on the memory store, with the simulated gateway at
// latency 0; createPayment is called in-process at a fixed concurrency with the approving test card and
// a fresh Idempotency-Key per payment. CPU is process.cpuUsage() (user + system, every thread of the
// process, so GC helper threads count) over a measured window after a warm-up.
//
// Baseline, in the same run: a bare Fastify route (bench/bare-fastify-server.mjs, its own process)
// under the load generator of http-intake (autocannon, 64 connections), its CPU read from
// /proc/PID/stat. That is a real HTTP request (socket, parser, body, reply) on the server side only,
// the floor any HTTP payment service pays per request on top of its own work; the load generator's
// CPU is not counted. Both figures are given per core: 1 s of CPU ÷ the CPU one payment (or request) costs.
import { readFileSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServices } from '../dist/compose/services.js';
import { loadConfig } from '../dist/config/config.js';
import { createPayment } from '../dist/app/create-payment.js';
import { freshKey, startBare } from './http-intake.mjs';
import { CONNECTIONS, DURATION_S, RUNS, fmt, load, paymentBody, show, stats, tempDir } from './lib.mjs';

export const CONCURRENCY = 64;
const PAYMENTS = Number(process.env.BENCH_PAYMENT_CPU_PAYMENTS ?? 20_000);
const WARMUP_PAYMENTS = Number(process.env.BENCH_PAYMENT_CPU_WARMUP ?? 10_000);
const EXP_YEAR = new Date().getUTCFullYear() + 4;

// A full GC between runs, so a run does not pay for collecting the store of the run before it.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

/** A fresh request object per payment, as Fastify hands the route a freshly parsed body. */
const body = () => ({
  amount: 1099,
  currency: 'usd',
  paymentMethod: { type: 'card', card: { number: '4242424242424242', expMonth: 12, expYear: EXP_YEAR, cvc: '123' } },
  description: 'Order 1234 — benchmark payment',
  merchantReference: 'order_1234',
  metadata: { cart: 'c_9', channel: 'bench' },
});

/** Keys as http-intake makes them (base64url: no Luhn-valid run of digits), made before the clock starts. */
const keys = (n) => Array.from({ length: n }, freshKey);

async function startPaylogServices() {
  const dataDir = tempDir('paylog-cpu-');
  const config = loadConfig({}, {
    PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_GATEWAY_LATENCY_MS: '0', PAYLOG_LOG_LEVEL: 'silent',
  });
  const services = await startServices(config, { role: 'bench', sealAbandoned: false });
  return { services, close: async () => { await services.close(); rmSync(dataDir, { recursive: true, force: true }); } };
}

/** `count` payments, CONCURRENCY at a time; returns CPU µs per payment and payments/s of wall time. */
async function paymentRun(ctx, count) {
  const idempotencyKeys = keys(count);
  const callers = Array.from({ length: CONCURRENCY }, (_, i) => ({
    merchantId: 'bench', actor: 'key_01jdq2bench0000000000000000',
    origin: { requestId: `req_01jdq2bench00000000000000${String(i).padStart(2, '0')}`, traceId: null, ip: '127.0.0.1' },
  }));
  let next = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(callers.map(async (caller) => {
    while (next < count) {
      const response = await createPayment(ctx, caller, body(), idempotencyKeys[next++]);
      if (response.status !== 201) failed++;
    }
  }));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (failed > 0) throw new Error(`payment-cpu: ${failed} of ${count} payments did not answer 201`);
  const cpuUs = (cpu.user + cpu.system) / count;
  return { cpuUs, perCore: 1e6 / cpuUs, rate: count / wallS, busy: (cpu.user + cpu.system) / 1e6 / wallS };
}

/** Server-side CPU of the bare Fastify route per request, under autocannon. */
async function bareRun(url, pid) {
  const ticks = () => {
    // utime and stime are fields 14 and 15, after the parenthesised command name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const before = ticks();
  const r = await load({ url: `${url}/v1/payments`, body: paymentBody() });
  // CLK_TCK is 100 on Linux: a tick is 10 ms.
  const cpuUs = ((ticks() - before) * 10_000) / r.total;
  return { cpuUs, perCore: 1e6 / cpuUs, rate: r.rps, errors: r.errors + r.non2xx };
}

export async function run() {
  const paylog = [];
  const fastify = [];
  // paylog's runs first, then the bare route's: with autocannon running in this process between
  // them, paylog's figure rose by 10–15 µs a payment (the load generator's heap and JIT state).
  {
    const warm = await startPaylogServices();
    await paymentRun(warm.services.ctx, WARMUP_PAYMENTS);
    await warm.close();
  }
  // Each run on fresh services, so every run starts from an empty store and a collected heap.
  for (let i = 0; i < RUNS; i++) {
    const fresh = await startPaylogServices();
    collectGarbage();
    const p = await paymentRun(fresh.services.ctx, PAYMENTS);
    await fresh.close();
    paylog.push(p);
    process.stderr.write(`payment-cpu run ${i + 1}: paylog ${fmt(p.cpuUs, 1)} µs/payment (${fmt(p.perCore)}/s per core)\n`);
  }
  const bare = await startBare();
  try {
    await load({ url: `${bare.url}/v1/payments`, body: paymentBody(), duration: 1 });
    for (let i = 0; i < RUNS; i++) {
      const b = await bareRun(bare.url, bare.child.pid);
      fastify.push(b);
      process.stderr.write(`payment-cpu run ${i + 1}: bare Fastify ${fmt(b.cpuUs, 1)} µs/request (${fmt(b.perCore)}/s per core)\n`);
    }
  } finally {
    await bare.stop();
  }
  const s = (runs, key) => stats(runs.map((r) => r[key]));
  const cpu = s(paylog, 'cpuUs');
  const bareCpu = s(fastify, 'cpuUs');
  const errors = fastify.reduce((n, r) => n + r.errors, 0);
  const ok = cpu.med <= 80 ? 'met' : '**missed**';
  return [
    '## CPU per payment (in-process, memory store)',
    '',
    `\`createPayment\` called in-process on services built by the composition root on the \`memory:\` store (simulated gateway,`,
    `latency 0, no metrics), ${CONCURRENCY} payments in flight, approving card 4242…4242, a fresh \`Idempotency-Key\` each;`,
    `${RUNS} runs of ${fmt(PAYMENTS)} payments, each on fresh services, after ${fmt(WARMUP_PAYMENTS)} payments of warm-up and a full GC before each. CPU is`,
    '`process.cpuUsage()` (user + system, all threads) over the run. Baseline, measured after paylog\'s runs: the bare Fastify route of',
    `http-intake in its own process under autocannon (${CONNECTIONS} connections, ${DURATION_S} s), its server CPU read from`,
    '`/proc/PID/stat`: a whole HTTP request on the server side, which paylog\'s figure does not include. Per core: one second of CPU',
    'divided by the CPU of one payment (or request). Median (min–max).',
    '',
    '| figure | paylog payment (no HTTP) | bare Fastify request (HTTP) | target |',
    '|---|---|---|---|',
    `| CPU per payment / request | ${show(cpu, 1, ' µs')} | ${show(bareCpu, 1, ' µs')} | ≤ 80 µs — ${ok} |`,
    `| per core | ${show(s(paylog, 'perCore'))} payments/s | ${show(s(fastify, 'perCore'))} req/s | |`,
    `| ratio of the per-core figures (medians) | **${(bareCpu.med / cpu.med).toFixed(2)}×** | 1× | |`,
    `| wall-clock rate | ${show(s(paylog, 'rate'))} payments/s (${show(s(paylog, 'busy'), 2)} cores busy) | ${show(s(fastify, 'rate'))} req/s | |`,
    `| errors | 0 | ${errors} | |`,
    '',
    'A payment served over HTTP costs about the sum of the two CPU figures, plus authentication and the store.',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
