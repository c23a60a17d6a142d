import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONCILE_LEASE_MS } from '../../../src/app/reconcile.js';
import { runPaylogAsync } from '../process.js';
import {
  CRASH_ENV, Clients, PAYMENT_CARDS, SHORT_LEASE_ENV, STREAM_LEASE_MS, STUCK_CARDS, type Server, type StoreReader,
  arm, assertFaultReached, faultEnv, runPaylogProcess, startServe, stopServe, waitUntil,
} from './crash-scenario.js';
import { violations, waitUntilSettled } from './invariants.js';
import { type Fault, MODES, STEPS, type Step } from './steps.mjs';

/** One store the matrix runs on: its settings (PAYLOG_STORE, PAYLOG_DATA_DIR) and a reader of its tables. */
export interface StoreUnderTest {
  env: Record<string, string>;
  reader: StoreReader;
  close(): Promise<void>;
}

/**
 * What the scenarios of one store share. `live` is the server clients talk to: one process
 * meets fault after fault armed through `controlFile`, until a kill; the restart that follows
 * is the next live server. A server started for every scenario would cost most of the run.
 */
class Context {
  env: Record<string, string> = {};
  secret = '';
  reader: StoreReader = null as unknown as StoreReader;
  live: Server | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'paylog-crash-control-'));
  readonly controlFile = join(this.dir, 'fault');

  constructor(readonly name: string) {
    arm(this.controlFile, null);
  }

  /** The live server, started (unarmed) if the last one died. */
  async server(): Promise<Server & { url: string }> {
    arm(this.controlFile, null);
    if (this.live === null || this.live.end() !== null) {
      this.live = await startServe({ ...CRASH_ENV, ...this.env, ...faultEnv({ controlFile: this.controlFile }) });
    }
    return urlOf(this.live);
  }

  clients(fault: Fault, cards: readonly string[]): Clients {
    return new Clients(this.secret, cards.map((card, i) => ({ key: `${this.name}-${fault.step}-${fault.mode}-${fault.nth}-${i}`, card })));
  }
}

function urlOf(s: Server): Server & { url: string } {
  if (s.url === null) throw new Error(`paylog serve did not start (${s.end()}): ${s.output()}`);
  return s as Server & { url: string };
}

/** After recovery: every key answered, every payment settled, the invariants hold. */
async function check(ctx: Context, clients: Clients): Promise<void> {
  const { url } = await ctx.server();
  await clients.retryUntilAnswered(url);
  await waitUntilSettled(url, clients);
  expect(await violations(url, clients, ctx.reader)).toEqual([]);
}

/** Arms `fault` in the live server and pays with `cards`, one payment after another, until the fault is reached. */
async function payThroughFault(ctx: Context, fault: Fault, cards: readonly string[]): Promise<Clients> {
  const clients = ctx.clients(fault, cards);
  const server = await ctx.server();
  const since = server.output().length;
  arm(ctx.controlFile, fault);
  await clients.sendOnce(server.url);
  await assertFaultReached(server, fault, since);
  return clients;
}

/** A payment step: the fault fires while clients pay (a killed server is restarted by `check`). */
async function paymentScenario(ctx: Context, fault: Fault): Promise<void> {
  await check(ctx, await payThroughFault(ctx, fault, PAYMENT_CARDS));
}

/**
 * A reconcile step: payments the gateway never answered are left processing, the server's
 * periodic reconcile meets the fault, clients retry, then a reconciler running a minute later
 * (past a dead one's claim on a payment, RECONCILE_LEASE_MS) settles what is left.
 */
async function reconcileScenario(ctx: Context, fault: Fault): Promise<void> {
  const clients = await payThroughFault(ctx, fault, STUCK_CARDS);
  const first = [...clients.answers.values()].map((answers) => answers[0]?.payment?.status);
  expect(first).toEqual(STUCK_CARDS.map(() => 'processing'));
  await ctx.server();
  const later = runPaylogProcess(['reconcile'], { ...CRASH_ENV, ...ctx.env, ...faultEnv(null, RECONCILE_LEASE_MS + 1_000) });
  await later.exited;
  expect(later.end(), later.output()).toBe('exit 0');
  await check(ctx, clients);
}

/**
 * The sealing step: a server is killed from outside, its stream's lease lapses, and the next
 * server to start seals it and meets the fault there; a server started after that finds the
 * crashed stream sealed. These servers have short stream leases and run beside the live one.
 */
async function sealScenario(ctx: Context, fault: Fault): Promise<void> {
  const env = { ...CRASH_ENV, ...ctx.env, ...SHORT_LEASE_ENV };
  const clients = ctx.clients(fault, PAYMENT_CARDS.slice(0, 3));
  const crashed = urlOf(await startServe(env));
  await clients.sendOnce(crashed.url);
  crashed.child.kill('SIGKILL');
  await crashed.exited;
  await waitUntil(Date.now() + STREAM_LEASE_MS);

  const sealer = await startServe({ ...env, ...faultEnv(fault) });
  await assertFaultReached(sealer, fault);
  if (fault.mode === 'fail') expect(await stopServe(sealer), sealer.output()).toBe('exit 0');
  const next = await startServe(env);
  expect(await ctx.reader.streamsOf(crashed.writer)).toMatchObject([{ state: 'sealed' }]);
  expect(await stopServe(next), next.output()).toBe('exit 0');
  await check(ctx, clients);
}

const SCENARIOS: Record<Step['phase'], (ctx: Context, fault: Fault) => Promise<void>> = {
  payment: paymentScenario,
  reconcile: reconcileScenario,
  seal: sealScenario,
};

/**
 * Every step × {kill, fail} on one store, one scenario after another on the same database: each
 * scenario checks only its own keys' payments; `paylog verify` checks, last, the whole journal
 * they left (a record a crash left wrong stays wrong: the journal is append-only, so one run at
 * the end sees what a run after each scenario would, at a fraction of the processes started).
 * The sealing scenarios come last: the streams their short leases leave open would otherwise be
 * sealed (and meet a fault) at the start of a later scenario's server.
 */
export function describeCrashMatrix(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`crash at every step on ${name}`, () => {
    let store: StoreUnderTest | undefined;
    const ctx = new Context(name);

    beforeAll(async () => {
      store = await open();
      Object.assign(ctx, { env: store.env, reader: store.reader });
      const created = await runPaylogAsync(['keys', 'create', '--merchant', 'acme'], { ...CRASH_ENV, ...store.env });
      expect(created.status, created.stderr).toBe(0);
      ctx.secret = created.stdout.trim().split('\n').pop() as string;
    });
    afterAll(async () => {
      if (ctx.live && ctx.live.end() === null) ctx.live.child.kill('SIGKILL');
      await store?.close();
      rmSync(ctx.dir, { recursive: true, force: true });
    });

    const ordered = [...STEPS].sort((a, b) => Number(a.phase === 'seal') - Number(b.phase === 'seal'));
    for (const step of ordered) {
      for (const mode of MODES) {
        for (const nth of step.nths ?? [1]) {
          it(`${step.n}. ${step.name}${nth > 1 ? ` #${nth}` : ''}: ${mode}`, async () => {
            await SCENARIOS[step.phase](ctx, { step: step.name, mode, nth });
          }, 60_000);
        }
      }
    }

    it('the live server stops cleanly, and paylog verify finds the journal every scenario left valid', async () => {
      const live = await ctx.server();
      expect(await stopServe(live), live.output()).toBe('exit 0');
      const verify = await runPaylogAsync(['verify'], { ...CRASH_ENV, ...ctx.env });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    });
  });
}
