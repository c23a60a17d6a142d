// The chaos soak (issue 15, item 4): `npm run soak -- --minutes N [--seed S] [--report PATH]`.
// Two `paylog serve` on one PostgreSQL database and one on SQLite (its store on a small tmpfs),
// mixed traffic, faults at seeded random moments; then everything is restarted cleanly and
// reconciled, and the invariants are checked. See docs/soak.md. Exits 1 on any violation.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, freePort, tempDir } from '../bench/lib.mjs';
import { FAULT_KINDS, faultRunner, mountTmpfs } from './faults.mjs';
import { Instance } from './instance.mjs';
import { checkStore, readStore } from './invariants.mjs';
import { startPostgres } from './postgres.mjs';
import { writeReport } from './report.mjs';
import { seededRandom } from './rng.mjs';
import { Traffic, letters } from './traffic.mjs';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    report: { type: 'string', default: 'soak-report.md' },
    concurrency: { type: 'string', default: '8' },
  },
});
const minutes = Number(args.minutes);
const concurrency = Number(args.concurrency);
// Under 2 minutes no instance runs long enough past its warm-up for its memory to be measured.
if (!(minutes >= 2) || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: npm run soak -- [--minutes N (at least 2, default 10)] [--seed S] [--report PATH] [--concurrency C]');
  process.exit(2);
}
const seed = args.seed === undefined ? randomInt(2 ** 31) : Number(args.seed);
const RUN_MS = minutes * 60_000;
/** Memory: a lifetime's RSS after this much traffic is its baseline... */
const WARMUP_MS = Math.max(20_000, RUN_MS * 0.2);
/** ...measured only over a window at least this long... */
const MEMORY_WINDOW_MIN_MS = Math.max(30_000, RUN_MS * 0.25);
/** ...and its RSS at the end may exceed the baseline by at most this fraction. */
const RSS_GROWTH_MAX = 0.2;
const RSS_SAMPLE_INTERVAL_MS = 2_000;
const FAULT_GAP_MS = [3_000, 10_000];
const SUPERVISE_INTERVAL_MS = 1_000;
const HEAL_READY_TIMEOUT_MS = 30_000;
const SETTLE_TIMEOUT_MS = 120_000;
/** Room for the SQLite store of a run this long, plus what the full-disk fault fills. */
const TMPFS_MIB = 128 + 48 * Math.ceil(minutes);

/** Retries, timeouts and reconciliation sized for a run of minutes (defaults are sized for production). */
const SOAK_ENV = {
  PAYLOG_LOG_LEVEL: 'warn',
  PAYLOG_METRICS_PORT: '0',
  PAYLOG_RATE_LIMIT: '0',
  PAYLOG_GATEWAY_LATENCY_MS: '5',
  PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '1000',
  PAYLOG_GATEWAY_MAX_ATTEMPTS: '3',
  PAYLOG_GATEWAY_BUDGET_MS: '4000',
  PAYLOG_GATEWAY_BACKOFF_BASE_MS: '20',
  PAYLOG_GATEWAY_BACKOFF_MAX_MS: '200',
  PAYLOG_RECONCILE_INTERVAL_MS: '1000',
  PAYLOG_RECONCILE_AFTER_MS: '4000',
  PAYLOG_IDEMPOTENCY_LEASE_MS: '10000',
  PAYLOG_STREAM_LEASE_MS: '10000',
  PAYLOG_CHECKPOINT_INTERVAL_MS: '2000',
  PAYLOG_SHUTDOWN_TIMEOUT_MS: '2000',
};

const violations = [];
const startedMs = Date.now();
const atS = () => Math.round((Date.now() - startedMs) / 1000);
const log = (msg) => console.log(`[soak ${String(atS()).padStart(4)} s] ${msg}`);

function paylog(cliArgs, env) {
  const r = spawnSync(process.execPath, [`${ROOT}bin/paylog.js`, ...cliArgs], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function main() {
  log(`seed ${seed} (replay with --seed ${seed}), ${minutes} min, ${concurrency} clients`);
  const rng = seededRandom(seed);
  const work = tempDir('paylog-soak-');
  const keyFile = join(work, 'signing-key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const shared = { ...SOAK_ENV, PAYLOG_SIGNING_KEY_FILE: keyFile, PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64') };
  const sqliteDir = join(work, 'sqlite-store');
  mkdirSync(sqliteDir, { mode: 0o700 });
  const cleanups = [() => rmSync(work, { recursive: true, force: true })];
  try {
    const tmpfs = await mountTmpfs(sqliteDir, TMPFS_MIB);
    cleanups.unshift(() => tmpfs.unmount());
    const postgres = await startPostgres();
    cleanups.unshift(() => postgres.destroy());
    const storeOf = { postgres: await postgres.createDatabase('soak'), sqlite: `sqlite:${join(sqliteDir, 'paylog.db')}` };
    const envOf = (store, name) => {
      const dataDir = join(work, `data-${name}`);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      return { ...shared, PAYLOG_STORE: storeOf[store], PAYLOG_DATA_DIR: dataDir };
    };
    const secrets = {};
    for (const store of ['postgres', 'sqlite']) {
      const created = paylog(['keys', 'create', '--merchant', 'soak'], envOf(store, `cli-${store}`));
      if (created.status !== 0) throw new Error(`paylog keys create on ${store}: ${created.stderr}`);
      secrets[store] = created.stdout.trim().split('\n').pop();
    }

    const cards = (await import('../dist/adapters/gateway/simulated/test-cards.js')).TEST_CARDS;
    const pans = [...cards.keys(), '4111111111111111'];
    const onOutput = (instance, text) => {
      const pan = pans.find((p) => text.includes(p));
      if (pan) violations.push({ invariant: 'no card number in logs', store: instance.store, evidence: `${instance.name} wrote ${pan.slice(0, 6)}…${pan.slice(-4)}: ${text.slice(0, 300)}` });
    };
    const instances = [
      new Instance('postgres-a', 'postgres', await freePort(), envOf('postgres', 'a'), onOutput),
      new Instance('postgres-b', 'postgres', await freePort(), envOf('postgres', 'b'), onOutput),
      new Instance('sqlite', 'sqlite', await freePort(), envOf('sqlite', 'sqlite'), onOutput),
    ];
    const sqlite = instances[2];
    cleanups.unshift(async () => { for (const i of instances) await i.stop('SIGKILL'); });
    for (const i of instances) await i.start();
    log(`serving: ${instances.map((i) => `${i.name} ${i.url}`).join(', ')}`);

    const unexpectedExits = [];
    /** An instance that exited without being told to: documented only when its journal writer halted. */
    const exitedOnItsOwn = (i) => {
      const { exit } = i.lifetime;
      unexpectedExits.push({ instance: i.name, atS: atS(), exit, tail: i.tail.slice(-2000) });
      log(`${i.name} exited on its own (${JSON.stringify(exit)}); restarting it`);
      if (!/journal writer halted/.test(i.tail.slice(-4000))) {
        violations.push({ invariant: 'no instance crashes', store: i.store, evidence: `${i.name} exited ${JSON.stringify(exit)} on its own: ${i.tail.slice(-1500)}` });
      }
    };
    /** Waits for each instance to be ready again; one that is not (or is gone) is restarted, as an orchestrator would. */
    const heal = async (list) => {
      const restarted = [];
      for (const i of list) {
        const deadline = Date.now() + HEAL_READY_TIMEOUT_MS;
        while (i.alive && !(await i.ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        if (i.alive && (await i.ready())) continue;
        if (!i.alive) exitedOnItsOwn(i);
        await i.stop('SIGTERM');
        await i.start();
        restarted.push(i.name);
      }
      return restarted;
    };
    const supervisor = setInterval(() => {
      for (const i of instances) {
        if (i.busy || i.alive || i.child === null) continue;
        i.busy = true;
        exitedOnItsOwn(i);
        i.start().catch((err) => violations.push({ invariant: 'instances restart', store: i.store, evidence: String(err.message) })).finally(() => { i.busy = false; });
      }
    }, SUPERVISE_INTERVAL_MS);
    const sampler = setInterval(() => { for (const i of instances) i.sample(); }, RSS_SAMPLE_INTERVAL_MS);

    const traffic = new Traffic({ rng: seededRandom(seed ^ 0x5eed), concurrency, prefix: `soak-${letters(seed)}`, stores: {
      postgres: { instances: instances.filter((i) => i.store === 'postgres'), secret: secrets.postgres },
      sqlite: { instances: [sqlite], secret: secrets.sqlite },
    } });
    traffic.start();

    // Process faults (kill -9, SIGTERM, slow gateway) never hit postgres-a, and hit the SQLite
    // instance only in the first half: each store keeps an instance through a measured window.
    const victims = () => [instances[1], ...(Date.now() - startedMs < RUN_MS / 2 ? [sqlite] : [])];
    const faults = faultRunner({ rng, postgres, tmpfs, victims, heal, instances });
    const faultLog = [];
    let deck = [];
    while (Date.now() - startedMs < RUN_MS) {
      await new Promise((r) => setTimeout(r, Math.min(rng.int(...FAULT_GAP_MS), Math.max(0, RUN_MS - (Date.now() - startedMs)))));
      if (Date.now() - startedMs >= RUN_MS) break;
      if (deck.length === 0) deck = rng.shuffle(FAULT_KINDS);
      const kind = deck.shift();
      const entry = { kind, atS: atS() };
      faultLog.push(entry);
      log(`fault: ${kind}`);
      try {
        entry.details = await faults[kind]();
      } catch (err) {
        entry.error = err.message.split('\n')[0];
        violations.push({ invariant: 'the system recovers from every fault', evidence: `${kind} at ${entry.atS} s: ${err.message.slice(0, 1500)}` });
        await heal(instances).catch(() => undefined);
      }
      log(`  ${JSON.stringify(entry.details ?? entry.error)}`);
    }

    log('faults stopped; stopping traffic');
    await traffic.stop();
    clearInterval(sampler);
    for (const i of instances) i.sample();
    while (instances.some((i) => i.busy)) await new Promise((r) => setTimeout(r, 100));
    clearInterval(supervisor);

    // Memory: each lifetime long enough to measure, before the clean restart.
    const memory = [];
    for (const i of instances) {
      for (const life of i.lifetimes) {
        const baseline = life.samples.find((s) => life.readyMs !== null && s.atMs >= life.readyMs + WARMUP_MS);
        const end = life.samples.at(-1);
        if (!baseline || !end) continue;
        const windowMs = end.atMs - baseline.atMs;
        const measured = windowMs >= MEMORY_WINDOW_MIN_MS;
        const held = end.kib <= baseline.kib * (1 + RSS_GROWTH_MAX);
        memory.push({ instance: i.name, store: i.store, pid: life.pid, windowS: Math.round(windowMs / 1000), baselineKiB: baseline.kib, endKiB: end.kib, growthPct: Math.round((end.kib / baseline.kib - 1) * 100), measured, held });
        if (measured && !held) violations.push({ invariant: 'flat memory', store: i.store, evidence: `${i.name} pid ${life.pid}: VmRSS ${baseline.kib} KiB after warm-up, ${end.kib} KiB ${Math.round(windowMs / 1000)} s later` });
      }
    }
    for (const store of ['postgres', 'sqlite']) {
      if (!memory.some((m) => m.store === store && m.measured)) violations.push({ invariant: 'flat memory', store, evidence: `no ${store} instance ran ${MEMORY_WINDOW_MIN_MS / 1000} s past its warm-up without a restart` });
    }

    log('restarting every instance cleanly, then reconciling');
    for (const i of instances) {
      const code = await i.stop('SIGTERM');
      if (code !== 0) violations.push({ invariant: 'a clean shutdown exits 0', store: i.store, evidence: `${i.name} exited ${code} on SIGTERM after the soak: ${i.tail.slice(-1500)}` });
      await i.start();
    }
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (const store of ['postgres', 'sqlite']) {
      const url = instances.find((i) => i.store === store).url;
      for (;;) {
        const res = await fetch(`${url}/v1/payments?status=processing&limit=100`, { headers: { authorization: `Bearer ${secrets[store]}` } });
        const page = await res.json();
        if (res.status === 200 && page.data.length === 0) break;
        if (Date.now() > deadline) {
          violations.push({ invariant: 'every payment in one terminal state', store, evidence: `still processing ${SETTLE_TIMEOUT_MS / 1000} s after the restart: ${JSON.stringify(page).slice(0, 500)}` });
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    for (const i of instances) {
      const code = await i.stop('SIGTERM');
      if (code !== 0) violations.push({ invariant: 'a clean shutdown exits 0', store: i.store, evidence: `${i.name} exited ${code}: ${i.tail.slice(-1500)}` });
    }

    log('checking invariants');
    const stores = {};
    for (const store of ['postgres', 'sqlite']) {
      const checked = checkStore(store, await readStore(storeOf[store]), traffic.answers.filter((a) => a.store === store));
      violations.push(...checked.violations);
      const verify = paylog(['verify'], envOf(store, `cli-${store}`));
      if (verify.status !== 0) violations.push({ invariant: 'paylog verify exits 0', store, evidence: `exit ${verify.status}: ${(verify.stdout + verify.stderr).slice(0, 1500)}` });
      stores[store] = { ...checked.summary, verify: `exit ${verify.status}: ${verify.stdout.trim().split('\n').at(-1) ?? ''}` };
    }
    for (const u of traffic.unexpected) violations.push({ invariant: 'only expected statuses', store: u.store, evidence: JSON.stringify(u).slice(0, 1500) });

    const names = ['no acknowledged payment lost', 'one transaction per idempotency key', 'no double charge', 'every payment in one terminal state',
      'records agree with the row', 'no duplicate record', 'paylog verify exits 0', 'flat memory', 'only expected statuses', 'no card number in logs',
      'no instance crashes', 'a clean shutdown exits 0', 'the system recovers from every fault'];
    const report = {
      seed, minutes, concurrency, startedAt: new Date(startedMs).toISOString(), tookS: atS(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
      faults: faultLog, counts: traffic.counts, unexpectedExits, stores, memory,
      invariants: names.map((name) => ({ name, held: !violations.some((v) => v.invariant === name), violations: violations.filter((v) => v.invariant === name).length })),
      violations,
    };
    const paths = writeReport(resolve(args.report), report);
    log(`report: ${paths.md} (and ${paths.json})`);
    log(violations.length === 0 ? 'all invariants held' : `${violations.length} violation(s); the first: ${violations[0].invariant}: ${violations[0].evidence.slice(0, 500)}`);
    return violations.length === 0 ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await Promise.resolve().then(cleanup).catch((err) => console.error(`cleanup: ${err.message}`));
  }
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`soak: ${err.stack ?? err}`);
  process.exitCode = 2;
});
