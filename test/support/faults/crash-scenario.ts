import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { FAST_GATEWAY_ENV, paymentBody } from '../harness.js';
import { PAYLOG_BIN, freePort } from '../process.js';
import { CLOCK_OFFSET_ENV, CONTROL_FILE_ENV, FAULT_ENV, type Fault, faultLine, faultSpec } from './steps.mjs';

/**
 * What the crash tests (test/e2e/crash-every-step-*.test.ts) share: paylog processes run with
 * the fault preload, clients that retry their Idempotency-Keys as a real client would, and the
 * invariants checked after recovery. See docs/testing.md, "Crash at every step".
 */

export const PRELOAD = fileURLToPath(new URL('./preload.mjs', import.meta.url));

/** Retries fast, a short idempotency lease (the minimum), reconcile as soon as the retry budget allows. */
export const CRASH_ENV: Record<string, string> = {
  ...FAST_GATEWAY_ENV,
  // Pinned with the budget they must fit in: three attempts of 60 ms and their waits.
  PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '60',
  PAYLOG_GATEWAY_MAX_ATTEMPTS: '3',
  PAYLOG_GATEWAY_BUDGET_MS: '400',
  PAYLOG_IDEMPOTENCY_LEASE_MS: '1000',
  PAYLOG_RECONCILE_AFTER_MS: '400',
  PAYLOG_RECONCILE_INTERVAL_MS: '100',
  // A signed checkpoint (and a journal tree append) every few records: every payment reaches one soon.
  PAYLOG_CHECKPOINT_EVERY: '4',
  PAYLOG_RATE_LIMIT: '0',
  PAYLOG_LOG_LEVEL: 'warn',
};

/** For the sealing scenarios: a writer's stream lapses one second after it dies (the shortest lease allowed). */
export const STREAM_LEASE_MS = 1_000;
export const SHORT_LEASE_ENV = { PAYLOG_STREAM_LEASE_MS: String(STREAM_LEASE_MS), PAYLOG_CHECKPOINT_INTERVAL_MS: '200' };

/** How long a condition may take before the test fails; reached only on a failure. */
const DEADLINE_MS = 20_000;
const POLL_MS = 20;

export const CARDS = {
  failOnce: '4000000005030004',
  approve: '4242424242424242',
  decline: '4000000000000002',
  answerLate: '4000000004080000',
  unavailable: '4000000005039997',
  neverAnswer: '4000000004089993',
  malformed: '4000000005020005',
} as const;

/**
 * The payments of one scenario, sent one after another so that the nth occurrence of a step is
 * the same payment every run. The fail-once card comes first: its two attempts (and ledger
 * calls) are occurrences 1 and 2 of those steps. Between them they end in every terminal state,
 * one after a lost gateway answer; the reconcile scenarios leave payments processing.
 */
export const PAYMENT_CARDS = [CARDS.failOnce, CARDS.approve, CARDS.decline, CARDS.answerLate, CARDS.unavailable];
/** Payments left processing for a reconciler to settle: the gateway charged both. */
export const STUCK_CARDS = [CARDS.neverAnswer, CARDS.malformed];

export async function waitFor(what: () => string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + DEADLINE_MS;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits until the wall clock has passed `timeMs` (a lease's end: time itself is the condition). */
export async function waitUntil(timeMs: number): Promise<void> {
  await waitFor(() => `the clock to pass ${new Date(timeMs).toISOString()}`, () => Date.now() > timeMs);
}

/**
 * The environment that loads the preload: with a fault, or a control file the fault is armed
 * in (`arm`), and a clock offset when given.
 */
export function faultEnv(fault: Fault | { controlFile: string } | null, clockOffsetMs = 0): Record<string, string> {
  const preload = `--import=${pathToFileURL(PRELOAD).href}`;
  return {
    NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' '),
    [FAULT_ENV]: fault && 'step' in fault ? faultSpec(fault) : '',
    [CONTROL_FILE_ENV]: fault && 'controlFile' in fault ? fault.controlFile : '',
    [CLOCK_OFFSET_ENV]: String(clockOffsetMs),
  };
}

/** Arms `fault` in the processes reading `controlFile` (null disarms them). */
export function arm(controlFile: string, fault: Fault | null): void {
  writeFileSync(controlFile, fault ? faultSpec(fault) : '');
}

export interface Paylog {
  child: ChildProcess;
  output: () => string;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  /** How it ended: 'SIGKILL', `exit 0`, … (null while running). */
  end: () => string | null;
  /** The writer name its journal stream carries (host:pid). */
  writer: string;
}

/** Runs `paylog <args>` with the environment given on top of this process's. */
export function runPaylogProcess(args: string[], env: Record<string, string>): Paylog {
  const child = spawn(process.execPath, [PAYLOG_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let ended: string | null = null;
  const exited = new Promise<void>((resolve) => {
    // 'close', not 'exit': by then every byte the process wrote has been read.
    child.on('close', (code, signal) => {
      ended = signal ?? `exit ${code}`;
      resolve();
    });
  });
  return { child, output: () => output, exited, end: () => ended, writer: `${hostname()}:${child.pid}` };
}

export interface Server extends Paylog {
  /** Null when the process died before it was ready (a fault during start). */
  url: string | null;
}

/** Starts `paylog serve` and waits until /readyz answers, or until the process exits. */
export async function startServe(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const paylog = runPaylogProcess(['serve'], { ...env, PAYLOG_PORT: String(port), PAYLOG_HOST: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}`;
  let ready = false;
  await waitFor(() => `paylog serve to become ready: ${paylog.output()}`, async () => {
    if (paylog.end() !== null) return true;
    ready = await fetch(`${url}/readyz`).then((res) => res.ok, () => false);
    return ready;
  });
  return { ...paylog, url: ready ? url : null };
}

/** SIGTERM, then the exit: 'exit 0' after a clean shutdown. */
export async function stopServe(server: Paylog): Promise<string | null> {
  if (server.end() === null) server.child.kill('SIGTERM');
  await server.exited;
  return server.end();
}

/**
 * Fails unless the process reported the fault in its output after position `since` (and, for a
 * kill, died by SIGKILL).
 */
export async function assertFaultReached(paylog: Paylog, fault: Fault, since = 0): Promise<void> {
  const output = (): string => paylog.output().slice(since);
  if (fault.mode === 'kill') {
    await waitFor(() => `the ${fault.step} kill: ${output()}`, () => paylog.end() !== null);
    if (paylog.end() !== 'SIGKILL') throw new Error(`expected a kill at ${fault.step}, the process ended with ${paylog.end()}: ${output()}`);
  }
  await waitFor(() => `the ${fault.step} ${fault.mode} to be reported: ${output()}`, () => output().includes(faultLine(fault)));
}

export interface PaymentView {
  id: string;
  status: string;
  merchantReference: string | null;
  attempts: number;
  updatedAt: string;
}

/** What a client got for one request: a payment (2xx, 402, 503 gateway_unavailable…), an error, or no answer. */
export interface Answer {
  status: number;
  code: string | null;
  payment: PaymentView | null;
}

/** One POST /v1/payments; status 0 when no answer came (connection refused or reset). */
export async function pay(url: string, secret: string, key: string, card: string): Promise<Answer> {
  try {
    const res = await fetch(`${url}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(paymentBody(card, { merchantReference: key, description: `crash test ${key}` })),
    });
    const body = (await res.json()) as PaymentView & { object?: string; error?: { code?: string; payment?: PaymentView } };
    const payment = body.object === 'payment' ? body : body.error?.payment ?? null;
    return { status: res.status, code: body.error?.code ?? null, payment };
  } catch {
    return { status: 0, code: null, payment: null };
  }
}

/** Answers a real client retries: no answer, a key still in flight, a store or internal failure. */
function retryable(answer: Answer): boolean {
  if (answer.payment !== null) return false;
  return answer.status === 0 || answer.code === 'idempotency_key_in_use' || answer.code === 'store_unavailable' || answer.code === 'internal_error';
}

/** A client's payments: each key with its card, and every answer it got, in order. */
export class Clients {
  readonly answers = new Map<string, Answer[]>();

  constructor(readonly secret: string, readonly payments: { key: string; card: string }[]) {}

  /** Sends each payment once, one after another (a dead server answers nothing). */
  async sendOnce(url: string | null): Promise<void> {
    for (const { key, card } of this.payments) this.record(key, url === null ? { status: 0, code: null, payment: null } : await pay(url, this.secret, key, card));
  }

  /** Retries every key until it is answered with its payment; fails on an answer no client should get. */
  async retryUntilAnswered(url: string): Promise<void> {
    for (const { key, card } of this.payments) {
      let answer: Answer = { status: 0, code: null, payment: null };
      await waitFor(() => `an answer for ${key} (last: ${JSON.stringify(answer)})`, async () => {
        answer = await pay(url, this.secret, key, card);
        this.record(key, answer);
        if (answer.payment === null && !retryable(answer)) throw new Error(`unexpected answer for ${key}: ${JSON.stringify(answer)}`);
        return answer.payment !== null;
      });
    }
  }

  private record(key: string, answer: Answer): void {
    const list = this.answers.get(key) ?? [];
    list.push(answer);
    this.answers.set(key, list);
  }
}

/** The simulated gateway's ledger entry of one gateway key, read straight from the store. */
export interface LedgerRow {
  gatewayKey: string;
  calls: number;
  outcome: 'approved' | 'declined' | null;
}

export interface StreamRow {
  id: string;
  writer: string;
  state: string;
}

/** Reads the store's own tables, behind paylog's back. */
export interface StoreReader {
  ledger(gatewayKeys: string[]): Promise<LedgerRow[]>;
  streamsOf(writer: string): Promise<StreamRow[]>;
  close(): Promise<void>;
}

const LEDGER_SQL = 'SELECT gateway_key AS "gatewayKey", calls, outcome FROM gateway_ledger';
const STREAMS_SQL = 'SELECT id, writer, state FROM streams';

export function sqliteReader(path: string): StoreReader {
  let db: Database.Database | null = null;
  const open = (): Database.Database => (db ??= new Database(path, { readonly: true, fileMustExist: true }));
  return {
    async ledger(keys) {
      return open().prepare(`${LEDGER_SQL} WHERE gateway_key IN (${keys.map(() => '?').join(', ')})`).all(...keys) as LedgerRow[];
    },
    async streamsOf(writer) {
      return open().prepare(`${STREAMS_SQL} WHERE writer = ?`).all(writer) as StreamRow[];
    },
    async close() {
      db?.close();
    },
  };
}

export function postgresReader(url: string): StoreReader {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  return {
    async ledger(keys) {
      return (await pool.query<LedgerRow>(`${LEDGER_SQL} WHERE gateway_key = ANY($1)`, [keys])).rows;
    },
    async streamsOf(writer) {
      return (await pool.query<StreamRow>(`${STREAMS_SQL} WHERE writer = $1`, [writer])).rows;
    },
    async close() {
      await pool.end();
    },
  };
}
