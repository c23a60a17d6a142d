import { randomBytes } from 'node:crypto';
import { paymentBody } from './harness.js';
import { runPaylogAsync } from './process.js';

/**
 * A load run of real HTTP payment requests against a running `paylog serve`, and the check of
 * what every request left behind once the service has been restarted and has reconciled. Used
 * by the tests that stop or kill a server in the middle of a load run.
 */

/** Charges, then never answers: its request runs until the gateway's attempts time out. */
export const NEVER_ANSWERS = '4000000004089993';
/** Charges on the first call without answering; the retry gets the approval. */
export const ANSWERS_LATE = '4000000004080000';
/** Cards the gateway answers at once: approve, decline, fail once then approve. */
export const PROMPT_CARDS = ['4242424242424242', '4000000000000002', '4000000000009995', '4000000005030004'] as const;

/**
 * Gateway settings under which the late cards keep a request running for one or two attempt
 * timeouts of 1.5 s, far past a short shutdown timeout, while the prompt cards answer at once.
 */
export const LATE_CARDS_GATEWAY_ENV = {
  PAYLOG_GATEWAY_LATENCY_MS: '5',
  PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '1500',
  PAYLOG_GATEWAY_MAX_ATTEMPTS: '2',
  PAYLOG_GATEWAY_BUDGET_MS: '4000',
  PAYLOG_GATEWAY_BACKOFF_BASE_MS: '1',
  PAYLOG_GATEWAY_BACKOFF_MAX_MS: '5',
};
/** After a restart: reconcile every 100 ms whatever has been processing for the gateway's whole budget. */
export const RECONCILE_SOON_ENV = { PAYLOG_RECONCILE_INTERVAL_MS: '100', PAYLOG_RECONCILE_AFTER_MS: LATE_CARDS_GATEWAY_ENV.PAYLOG_GATEWAY_BUDGET_MS };
/**
 * Every answer a request may get from a server shut down under load: a true answer (201, 402,
 * 202), 503 (arrived while it was closing), its connection closed, or no connection at all.
 */
export const SHUTDOWN_OUTCOMES: ReadonlySet<string> = new Set(['201', '402', '202', '503', 'no answer', 'refused']);

/** What the client saw: an HTTP status, a connection closed without an answer, or no connection at all. */
export type Outcome = number | 'no answer' | 'refused';

export interface SentRequest {
  key: string;
  card: string;
  /** Null while the request is under way. */
  outcome: Outcome | null;
  sentAtMs: number;
  /** The payment the answer named (201, 402, 202), if any. */
  paymentId: string | null;
  /** The error code of a 4xx/5xx answer. */
  code: string | null;
}

/** How long one request may take before the run gives up on it: far beyond any gateway budget a test sets. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface LoadOptions {
  url: string;
  secret: string;
  /** Loops sending the prompt cards, one request at a time each. */
  promptLoops: number;
  /** Loops sending the late cards (never answers, answers late), one request at a time each. */
  lateLoops: number;
}

/** Runs until stop(), or until a connection is refused (the server is gone). */
export class PaymentLoad {
  readonly requests: SentRequest[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  // Letters only: paylog refuses a key holding what could be a card number, and an all-digit hex
  // prefix beside the request's number (load-48531168-1004: 485311681004) is Luhn-valid one time in ten.
  private readonly prefix = `load-${randomBytes(4).toString('hex').replace(/[0-9]/g, (d) => 'ghijklmnop'.charAt(Number(d)))}`;
  private numbered = 0;
  private watchers: (() => void)[] = [];

  constructor(private readonly options: LoadOptions) {
    for (let i = 0; i < options.promptLoops; i++) this.loops.push(this.loop((n) => PROMPT_CARDS[n % PROMPT_CARDS.length] as string));
    for (let i = 0; i < options.lateLoops; i++) this.loops.push(this.loop((n) => (n % 2 === 0 ? NEVER_ANSWERS : ANSWERS_LATE)));
  }

  /** Resolves once `predicate` holds, checked as each request is sent and as each is answered. */
  until(predicate: (requests: readonly SentRequest[]) => boolean): Promise<void> {
    if (predicate(this.requests)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate(this.requests)) resolve();
        else if (!this.running) reject(new Error(`the load run ended before the condition held: ${JSON.stringify(this.counts())}`));
        else this.watchers.push(check);
      };
      this.watchers.push(check);
    });
  }

  /** Stops sending and waits for every request under way. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.notify();
  }

  /** Settles once every loop has ended on its own (a refused connection). */
  async ended(): Promise<void> {
    await Promise.all(this.loops);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) counts[String(r.outcome ?? 'under way')] = (counts[String(r.outcome ?? 'under way')] ?? 0) + 1;
    return counts;
  }

  private notify(): void {
    for (const check of this.watchers.splice(0)) check();
  }

  private async loop(cardFor: (n: number) => string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const sent: SentRequest = { key: `${this.prefix}-${++this.numbered}`, card: cardFor(n), outcome: null, paymentId: null, code: null, sentAtMs: Date.now() };
      this.requests.push(sent);
      const answered = this.send(sent);
      this.notify();
      await answered;
      if (sent.outcome === 'refused') this.running = false;
      this.notify();
    }
  }

  private async send(sent: SentRequest): Promise<void> {
    const { key, card } = sent;
    try {
      const res = await fetch(`${this.options.url}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.secret}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(paymentBody(card, { merchantReference: key })),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      sent.outcome = res.status;
      const body = (await res.json().catch(() => ({}))) as { id?: string; error?: { code?: string; payment?: { id?: string } } };
      sent.paymentId = body.id ?? body.error?.payment?.id ?? null;
      sent.code = body.error?.code ?? null;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if ((err as Error).name === 'TimeoutError') throw new Error(`payment request ${key} got no answer in ${REQUEST_TIMEOUT_MS} ms`);
      sent.outcome = cause?.code === 'ECONNREFUSED' ? 'refused' : 'no answer';
    }
  }
}

/** The requests whose answer is not one of `expected` (statuses, 'no answer', 'refused'), described. */
export function unexpectedOutcomes(requests: readonly SentRequest[], expected: ReadonlySet<string>): string[] {
  return requests.filter((r) => !expected.has(String(r.outcome))).map((r) => `${r.key} (${r.card}): ${r.outcome} ${r.code ?? ''}`);
}

interface PaymentView { id: string; status: string; merchantReference: string | null }
interface RecordView { type: string; stream: string; data: { status?: string; previousStatus?: string } }

const TERMINAL = new Set(['succeeded', 'declined', 'failed']);
const OUTCOME_TYPES: Record<string, string> = { 'payment.succeeded': 'succeeded', 'payment.declined': 'declined', 'payment.failed': 'failed' };
/** The payment status an answer promised, for the answers that promise one. */
const PROMISED: Record<number, string> = { 201: 'succeeded', 402: 'declined' };

async function getJson<T>(url: string, secret: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Polls (the event: no payment left processing) until the service's reconciler has settled them all. */
export async function waitUntilNothingProcessing(url: string, secret: string, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const page = await getJson<{ data: PaymentView[] }>(url, secret, '/v1/payments?status=processing&limit=100');
    if (page.data.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still processing after ${deadlineMs} ms: ${page.data.map((p) => p.id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface SettledReport {
  payments: number;
  /** Statuses the payments ended in. */
  statuses: Record<string, number>;
  /** Payments settled by reconciliation, by the stream their payment.received record is in. */
  reconciledByStream: Record<string, number>;
  /** Problems found: a promised status not kept, a row disagreeing with its records, a duplicate. */
  violations: string[];
}

/**
 * For every request that reached the server: at most one payment under its key (found by its
 * merchant reference, which the load sets to the key); the payment an answer named exists and
 * ends as the answer promised (201 succeeded, 402 declined); each payment is in a terminal
 * status, with at most one outcome record and at most one reconciled record, and its row says
 * what its last such record says.
 */
export async function checkSettled(url: string, secret: string, requests: readonly SentRequest[]): Promise<SettledReport> {
  const violations: string[] = [];
  const statuses: Record<string, number> = {};
  const reconciledByStream: Record<string, number> = {};
  let payments = 0;
  for (const request of requests) {
    if (request.outcome === 'refused') continue;
    const found = await getJson<{ data: PaymentView[] }>(url, secret, `/v1/payments?merchantReference=${encodeURIComponent(request.key)}&limit=10`);
    if (found.data.length > 1) violations.push(`key ${request.key}: ${found.data.length} payments`);
    const payment = found.data[0];
    if (request.paymentId !== null && payment?.id !== request.paymentId) {
      violations.push(`key ${request.key}: answered ${request.outcome} for ${request.paymentId}, found ${payment?.id ?? 'no payment'}`);
    }
    if (!payment) continue;
    payments++;
    const view = await getJson<PaymentView>(url, secret, `/v1/payments/${payment.id}`);
    statuses[view.status] = (statuses[view.status] ?? 0) + 1;
    const events = await getJson<{ data: RecordView[]; hasMore: boolean }>(url, secret, `/v1/payments/${payment.id}/events?limit=100`);
    const outcomes = events.data.filter((r) => r.type in OUTCOME_TYPES);
    const reconciled = events.data.filter((r) => r.type === 'payment.reconciled');
    const last = [...outcomes, ...reconciled].at(-1);
    const received = events.data.find((r) => r.type === 'payment.received');
    if (received && reconciled.length > 0) reconciledByStream[received.stream] = (reconciledByStream[received.stream] ?? 0) + 1;
    const journalSays = last === undefined ? 'processing' : (OUTCOME_TYPES[last.type] ?? last.data.status);
    const promised = typeof request.outcome === 'number' ? PROMISED[request.outcome] : undefined;
    const where = `key ${request.key} (${request.card}, answered ${request.outcome}), payment ${payment.id}`;
    if (events.hasMore) violations.push(`${where}: more than 100 records`);
    if (outcomes.length > 1) violations.push(`${where}: ${outcomes.length} outcome records`);
    if (reconciled.length > 1) violations.push(`${where}: ${reconciled.length} reconciled records`);
    if (outcomes.length > 0 && reconciled.length > 0) violations.push(`${where}: both an outcome and a reconciled record`);
    if (!TERMINAL.has(view.status)) violations.push(`${where}: ends ${view.status}`);
    if (view.status !== journalSays) violations.push(`${where}: row ${view.status}, journal ${journalSays}`);
    if (promised !== undefined && view.status !== promised) violations.push(`${where}: answered ${request.outcome} but ends ${view.status}`);
  }
  return { payments, statuses, reconciledByStream, violations };
}

/** A request sent this long ago and not answered is being handled (the server reads a body in a few ms). */
const IN_HANDLER_AFTER_MS = 200;

/** Whether a "never answers" request is in a server's handler now: it will run for the gateway's attempt timeouts. */
export function neverAnswersInHandler(requests: readonly SentRequest[]): boolean {
  return requests.some((r) => r.card === NEVER_ANSWERS && r.outcome === null && Date.now() - r.sentAtMs >= IN_HANDLER_AFTER_MS);
}

/** Creates a merchant API key with `paylog keys create` and returns its secret. */
export async function merchantSecret(env: Record<string, string>): Promise<string> {
  const created = await runPaylogAsync(['keys', 'create', '--merchant', 'acme'], env);
  if (created.status !== 0) throw new Error(`paylog keys create exited ${created.status}: ${created.stderr}`);
  return created.stdout.trim().split('\n').pop() as string;
}

/** Runs `paylog verify --json` (which must pass) and returns how each stream ended: stopped, sealed_after_crash or open. */
export async function verifiedStreamEnds(env: Record<string, string>): Promise<{ stream: string; end: string }[]> {
  const verify = await runPaylogAsync(['verify', '--json'], env);
  if (verify.status !== 0) throw new Error(`paylog verify exited ${verify.status}: ${verify.stdout}${verify.stderr}`);
  return (JSON.parse(verify.stdout) as { streams: { stream: string; end: string }[] }).streams.map(({ stream, end }) => ({ stream, end }));
}
