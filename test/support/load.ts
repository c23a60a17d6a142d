import { expect } from 'vitest';
import { FUTURE_YEAR } from './harness.js';
import { type ServerProcess, stopProcess } from './process.js';

/**
 * Load against real `paylog serve` processes, on any store: the test cards and what each must
 * be answered, a log that counts every answer by status and keeps whatever was not expected,
 * and loops that run until an event rather than for a time.
 */

/** The simulated gateway's attempts per payment (FAST_GATEWAY_ENV's PAYLOG_GATEWAY_MAX_ATTEMPTS). */
export const GATEWAY_ATTEMPTS_MAX = 3;
/**
 * The time each attempt may take under load. FAST_GATEWAY_ENV's 60 ms is too short on a busy
 * 2-core machine: an attempt cut off turns a card's answer into an unknown outcome (202
 * processing), which the load log rightly counts as unexpected.
 */
const LOAD_ATTEMPT_TIMEOUT_MS = 750;
/** Room for every attempt to run to its timeout, plus FAST_GATEWAY_ENV's backoffs (≤ 5 ms each). */
export const LOAD_GATEWAY_BUDGET_MS = GATEWAY_ATTEMPTS_MAX * LOAD_ATTEMPT_TIMEOUT_MS + 50;
/** Gateway settings of a process under load (with FAST_GATEWAY_ENV for the rest). */
export const LOAD_GATEWAY_ENV: Readonly<Record<string, string>> = {
  PAYLOG_GATEWAY_MAX_ATTEMPTS: String(GATEWAY_ATTEMPTS_MAX), PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: String(LOAD_ATTEMPT_TIMEOUT_MS),
  PAYLOG_GATEWAY_BUDGET_MS: String(LOAD_GATEWAY_BUDGET_MS),
};

export type PaymentStatus = 'succeeded' | 'declined' | 'failed' | 'processing';

/** A test card (docs/api.md#test-cards) and what a request with it must be answered. */
export interface TestCard {
  number: string;
  /** The HTTP status of its answer, and the payment's status in it. */
  status: number;
  paymentStatus: PaymentStatus;
  /** Gateway calls its payment makes when answered normally; null when it depends on timing. */
  calls: number | null;
}

export const APPROVE: TestCard = { number: '4242424242424242', status: 201, paymentStatus: 'succeeded', calls: 1 };
export const APPROVE_MASTERCARD: TestCard = { number: '5555555555554444', status: 201, paymentStatus: 'succeeded', calls: 1 };
export const DECLINE: TestCard = { number: '4000000000000002', status: 402, paymentStatus: 'declined', calls: 1 };
export const DECLINE_FUNDS: TestCard = { number: '4000000000009995', status: 402, paymentStatus: 'declined', calls: 1 };
/** 503 on the first call, approved on the retry. */
export const RETRY: TestCard = { number: '4000000005030004', status: 201, paymentStatus: 'succeeded', calls: 2 };
/**
 * Charged, then every answer unreadable: left processing until reconciled. (Not the card that
 * never answers: its attempts would each wait out the attempt timeout, which here is generous.)
 */
export const MALFORMED: TestCard = { number: '4000000005020005', status: 202, paymentStatus: 'processing', calls: null };
/** 503 on every call: failed, never charged. */
export const UNAVAILABLE: TestCard = { number: '4000000005039997', status: 503, paymentStatus: 'failed', calls: GATEWAY_ATTEMPTS_MAX };

/** What the load tests cycle through: approvals, declines, a retry, one left processing, one failed. */
export const LOAD_CARDS: readonly TestCard[] = [APPROVE, APPROVE_MASTERCARD, DECLINE, RETRY, MALFORMED, UNAVAILABLE];

/** The card of a payment, from the masked card its payment.received record carries. */
export function cardOfLast4(last4: string): TestCard | undefined {
  return [...LOAD_CARDS, DECLINE_FUNDS].find((c) => c.number.endsWith(last4));
}

export function paymentJson(card: TestCard, amount = 1099): string {
  return JSON.stringify({
    amount, currency: 'usd', description: 'e2e', merchantReference: 'order_e2e',
    paymentMethod: { type: 'card', card: { number: card.number, expMonth: 12, expYear: FUTURE_YEAR, cvc: '123' } },
  });
}

interface PaymentView {
  id?: string;
  status?: string;
  audit?: { stream: string; seq: number } | null;
}

export interface Answer {
  status: number;
  replayed: boolean;
  /** The body exactly as sent, for byte-for-byte comparisons. */
  text: string;
  code: string | null;
  /** The payment in the answer: the body, or error.payment for a decline or a failure. */
  payment: PaymentView | null;
}

export async function postPayment(url: string, secret: string, key: string, body: string): Promise<Answer> {
  const res = await fetch(`${url}/v1/payments`, {
    method: 'POST', body,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
  });
  const text = await res.text();
  let parsed: PaymentView & { error?: { code?: string; payment?: PaymentView } } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: reported through `text`
  }
  const payment = parsed.error?.payment ?? (parsed.id === undefined ? null : parsed);
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', text, code: parsed.error?.code ?? null, payment };
}

/** A `serve` process the load may send to. */
export interface Instance {
  name: string;
  server: ServerProcess;
  /** Set before it is sent SIGKILL: from then on its requests may fail with network errors. */
  killed: boolean;
  /**
   * Set once it is stalled past its lease (SIGSTOP) and so presumed dead: its requests may also
   * fail with a 5xx that names no payment. Whatever it does acknowledge must still hold.
   */
  presumedDead?: boolean;
}

/**
 * kill -9, then wait for the exit. Returns a time no earlier than the process's death: its
 * stream lease was last renewed before it, so the lease has lapsed STREAM_LEASE_MS later.
 */
export async function killInstance(instance: Instance): Promise<number> {
  instance.killed = true;
  await stopProcess(instance.server.child, 'SIGKILL');
  return Date.now();
}

export interface Ack {
  key: string;
  id: string;
  status: number;
  paymentStatus: string;
  card: TestCard;
  /** The instance that answered last. */
  instance: string;
}

/**
 * Everything a load sent and got: every answer is counted by status, and anything not
 * expected (any status but the card's own, a 409 where no conflict is possible, a network
 * error from an instance nobody killed) is kept in `unexpected`, which a test asserts empty.
 */
export class LoadLog {
  readonly statuses = new Map<string, number>();
  readonly unexpected: string[] = [];
  /** Acknowledged payments by payment ID. */
  readonly acked = new Map<string, Ack>();
  /** Every key sent, with its card and body. */
  readonly sent = new Map<string, { card: TestCard; body: string }>();
  /** Payment IDs answered per key. */
  readonly idsByKey = new Map<string, Set<string>>();
  /**
   * Each instance's journal stream, from the audit pointer of a payment it created (a replay
   * or a recovered payment points into the stream of the instance that created it).
   */
  readonly streams = new Map<string, string>();

  private waiters: { ready: () => boolean; resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(private readonly secret: string) {}

  /**
   * Resolves once `ready` holds, checked after every acknowledgement: load runs until an event,
   * not for a time. Rejects at the first unexpected answer, so a load that only fails never
   * leaves a test waiting for acknowledgements that will not come.
   */
  until(ready: (log: LoadLog) => boolean): Promise<void> {
    if (this.unexpected.length > 0) return Promise.reject(this.unexpectedError());
    if (ready(this)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ ready: () => ready(this), resolve, reject }));
  }

  /** Payments acknowledged so far, optionally only those matching `which`. */
  count(which: (ack: Ack) => boolean = () => true): number {
    let n = 0;
    for (const ack of this.acked.values()) if (which(ack)) n++;
    return n;
  }

  private acknowledged(ack: Ack): void {
    this.acked.set(ack.id, ack);
    const ids = this.idsByKey.get(ack.key) ?? new Set<string>();
    ids.add(ack.id);
    this.idsByKey.set(ack.key, ids);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.ready()) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  private tally(label: string): void {
    this.statuses.set(label, (this.statuses.get(label) ?? 0) + 1);
  }

  private unexpectedAnswer(label: string, what: string): void {
    this.tally(label);
    this.unexpected.push(what);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.reject(this.unexpectedError());
  }

  private unexpectedError(): Error {
    return new Error(`unexpected answers (${this.summary()}): ${this.unexpected.slice(0, 5).join('; ')}`);
  }

  /**
   * Sends one request and classifies its answer. `conflictPossible`: another request with the
   * key may be in flight, so a 409 idempotency_key_in_use is expected. `recoveryPossible`: the
   * key's first request may have died, so its payment may be answered as it stands (202).
   * Returns false when the instance is gone.
   */
  async send(instance: Instance, key: string, card: TestCard, body: string, options: { conflictPossible?: boolean; recoveryPossible?: boolean } = {}): Promise<boolean> {
    this.sent.set(key, { card, body });
    let answer: Answer;
    try {
      answer = await postPayment(instance.server.url, this.secret, key, body);
    } catch (err) {
      if (instance.killed || instance.presumedDead === true) {
        this.tally(`network error from the ${instance.killed ? 'killed' : 'stalled'} instance`);
      } else {
        this.unexpectedAnswer('network error', `${instance.name} ${key}: ${String((err as Error).cause ?? err)}`);
      }
      return false;
    }
    const id = answer.payment?.id;
    const ok = (answer.status === card.status && answer.payment?.status === card.paymentStatus)
      || (options.recoveryPossible === true && answer.status === 202 && answer.payment?.status === 'processing');
    if (ok && id !== undefined) {
      this.tally(`${answer.status}${answer.replayed ? ' replayed' : ''}`);
      const stream = answer.payment?.audit?.stream;
      if (!answer.replayed && options.recoveryPossible !== true && stream !== undefined) this.streams.set(instance.name, stream);
      this.acknowledged({ key, id, status: answer.status, paymentStatus: answer.payment?.status as string, card, instance: instance.name });
    } else if (options.conflictPossible === true && answer.status === 409 && answer.code === 'idempotency_key_in_use') {
      this.tally('409 idempotency_key_in_use');
    } else if (instance.presumedDead === true && answer.status >= 500 && answer.payment === null) {
      this.tally(`${answer.status} ${answer.code ?? ''} from the stalled instance`);
    } else {
      this.unexpectedAnswer(`${answer.status} ${answer.code ?? ''}`.trim(), `${instance.name} ${key} (card ${card.number}): ${answer.status} ${answer.text.slice(0, 300)}`);
    }
    return true;
  }

  /** Keys no request got an acknowledgement for (their request died with an instance, or lost a race to it). */
  unanswered(): string[] {
    return [...this.sent.keys()].filter((key) => !this.idsByKey.has(key));
  }

  /** Sends every unanswered key once more, as a client retrying with its Idempotency-Key would. */
  async retryUnanswered(instance: Instance): Promise<number> {
    const keys = this.unanswered();
    await Promise.all(keys.map((key) => {
      const { card, body } = this.sent.get(key) as { card: TestCard; body: string };
      return this.send(instance, key, card, body, { recoveryPossible: true });
    }));
    return keys.length;
  }

  summary(): string {
    return JSON.stringify(Object.fromEntries(this.statuses));
  }

  expectNothingUnexpected(): void {
    expect(this.unexpected, `answers: ${this.summary()}`).toEqual([]);
  }

  /** Every key answered with one payment ID only, however many requests and instances answered it. */
  expectOnePaymentPerKey(): void {
    const doubled = [...this.idsByKey].filter(([, ids]) => ids.size !== 1).map(([key, ids]) => `${key}: ${[...ids].join(', ')}`);
    expect(doubled).toEqual([]);
  }

  /** Every acknowledged payment reads back with the status it was acknowledged with (or any, if it was processing). */
  async expectAcknowledgedKept(server: ServerProcess): Promise<void> {
    const lost: string[] = [];
    await Promise.all([...this.acked.values()].map(async (ack) => {
      const res = await fetch(`${server.url}/v1/payments/${ack.id}`, { headers: { authorization: `Bearer ${this.secret}` } });
      const payment = (await res.json()) as PaymentView;
      if (res.status !== 200) lost.push(`${ack.id} (key ${ack.key}, acknowledged ${ack.status} by ${ack.instance}): GET answered ${res.status}`);
      else if (ack.paymentStatus !== 'processing' && payment.status !== ack.paymentStatus) {
        lost.push(`${ack.id} (key ${ack.key}, acknowledged ${ack.paymentStatus} by ${ack.instance}): now ${payment.status}`);
      }
    }));
    expect(lost).toEqual([]);
  }
}

/** A request goes out from each of `clients` loops until `stop()`; each loop awaits its own requests. */
export function runLoad(clients: number, loop: (client: number, i: number) => Promise<boolean>): { stop: () => Promise<void> } {
  let stopped = false;
  const running = Array.from({ length: clients }, async (_, n) => {
    for (let i = 0; !stopped; i++) if (!(await loop(n, i))) return;
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/**
 * `clients` loops each sending key `fleet-<client>-<i>` to two instances at once (the next two
 * in turn), so two processes race for every key; an instance is left out once it is killed.
 */
export function runPairedLoad(log: LoadLog, instances: readonly Instance[], clients: number, cards: readonly TestCard[], amount: (i: number) => number): { stop: () => Promise<void> } {
  return runLoad(clients, async (n, i) => {
    const key = `fleet-${n}-${i}`;
    const card = cards[(n + i) % cards.length] as TestCard;
    const body = paymentJson(card, amount(i));
    const pair = [instances[(n + i) % instances.length], instances[(n + i + 1) % instances.length]] as Instance[];
    await Promise.all(pair.filter((t) => !t.killed).map((t) => log.send(t, key, card, body, { conflictPossible: true })));
    return true;
  });
}

/**
 * The kill in the middle of a load: runs until `ready` holds, sends `victim` SIGKILL, runs on
 * until the survivors acknowledged `ackedAfterKill` more, stops the load, and fails the test on
 * any unexpected answer or any key answered with two payments. Returns the time of the death.
 */
export async function killMidLoad(
  log: LoadLog, load: { stop: () => Promise<void> }, victim: Instance, ready: (log: LoadLog) => boolean, ackedAfterKill: number,
): Promise<number> {
  await log.until(ready);
  const killedAt = await killInstance(victim);
  const ackedAtKill = log.count();
  await log.until((l) => l.count() >= ackedAtKill + ackedAfterKill);
  await load.stop();
  log.expectNothingUnexpected();
  log.expectOnePaymentPerKey();
  return killedAt;
}
