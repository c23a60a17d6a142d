// The soak's clients: bounded concurrent loops sending a seeded mix of payments with every test
// card, replays of earlier Idempotency-Keys, racing duplicates of one key across a store's
// instances, bad input (invalid bodies, card numbers where none belong) and reads. Every answer is
// counted by kind and status; the answers that acknowledge a payment are kept for the final checks.
import { TEST_CARDS } from '../dist/adapters/gateway/simulated/test-cards.js';

const CARDS = [...TEST_CARDS.keys()];
/** A Luhn-valid number in no table: the gateway approves it. */
const UNLISTED_CARD = '4111111111111111';
const REQUEST_TIMEOUT_MS = 30_000;
/** Earlier keys kept for replays, newest last. */
const REPLAY_POOL_MAX = 5_000;
const RACERS = 3;
const FUTURE_YEAR = new Date().getUTCFullYear() + 4;
const OUTCOME_NOT_RECORDED = /^The outcome of payment txn_\w+ could not be recorded\./;

/** What each kind of request may be answered, faults included; anything else is a violation. */
const ALLOWED = {
  payment: new Set(['201', '202', '402', '409', '503', '500 outcome not recorded', 'no answer', 'refused']),
  bad: new Set(['400', '413', '415', '422', '503', 'no answer', 'refused']),
  read: new Set(['200', '503', 'no answer', 'refused']),
};

function cardBody(number, key, rng) {
  return {
    amount: rng.int(50, 500_000),
    currency: rng.pick(['usd', 'eur', 'gbp', 'jpy']),
    description: 'soak order',
    merchantReference: key,
    metadata: { soak: 'yes' },
    paymentMethod: { type: 'card', card: { number, expMonth: rng.int(1, 12), expYear: FUTURE_YEAR, cvc: number.length === 15 ? '1234' : '123' } },
  };
}

/** Bodies the API must refuse, each with a name for the report. */
const BAD_INPUTS = [
  ['invalid JSON', () => ({ raw: '{"amount": 10', type: 'application/json' })],
  ['text body', () => ({ raw: 'amount=10', type: 'text/plain' })],
  ['missing amount', (b) => ({ json: { ...b, amount: undefined } })],
  ['negative amount', (b) => ({ json: { ...b, amount: -5 } })],
  ['unknown currency', (b) => ({ json: { ...b, currency: 'xyz' } })],
  ['unknown field', (b) => ({ json: { ...b, coupon: 'FREE' } })],
  ['card number in description', (b) => ({ json: { ...b, description: 'card 4242 4242 4242 4242 thanks' } })],
  ['card number in merchantReference', (b) => ({ json: { ...b, merchantReference: 'ref-4000000000000002' } })],
  ['card number in metadata', (b) => ({ json: { ...b, metadata: { note: '5555-5555-5555-4444' } } })],
  ['card number glued to letters', (b) => ({ json: { ...b, description: 'x4242424242424242y' } })],
  ['idempotency key too long', (b) => ({ json: b, key: 'k'.repeat(300) })],
];

/** A whole number written in the letters a–z (0 is "a"). */
export function letters(n) {
  let out = '';
  do {
    out = String.fromCharCode(97 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
}

export class Traffic {
  /**
   * @param {{ rng: object, stores: Record<string, { instances: import('./instance.mjs').Instance[], secret: string }>, concurrency: number, prefix: string }} options
   */
  constructor({ rng, stores, concurrency, prefix }) {
    Object.assign(this, { rng, stores, concurrency, prefix });
    this.running = false;
    this.loops = [];
    this.sequence = 0;
    /** `${kind} ${status}` → count. */
    this.counts = {};
    /** Answers that named a payment: { store, key, status, paymentId, paymentStatus, replayed }. */
    this.answers = [];
    /** Every key a payment was sent under, by store. */
    this.keys = { postgres: new Set(), sqlite: new Set() };
    this.replayPool = { postgres: [], sqlite: [] };
    this.unexpected = [];
  }

  start() {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop());
  }

  async stop() {
    this.running = false;
    await Promise.all(this.loops);
  }

  async loop() {
    while (this.running) {
      const store = this.rng.weighted({ postgres: 2, sqlite: 1 });
      const action = this.rng.weighted({ payment: 55, replay: 15, race: 10, bad: 12, odd: 3, read: 5 });
      await this[action](store).catch((err) => this.unexpected.push({ kind: action, store, evidence: `client error: ${err.stack ?? err}` }));
    }
  }

  instanceOf(store) { return this.rng.pick(this.stores[store].instances); }
  /** Letters only after the prefix: a key is also the merchant reference, where digits that look like a card number are refused. */
  newKey() { return `${this.prefix}-${letters(++this.sequence)}`; }

  remember(store, key, body, idempotencyKey = key) {
    this.keys[store].add(key);
    const pool = this.replayPool[store];
    pool.push({ key, body, idempotencyKey });
    if (pool.length > REPLAY_POOL_MAX) pool.shift();
  }

  async payment(store) {
    const key = this.newKey();
    const number = this.rng.next() < 0.05 ? UNLISTED_CARD : this.rng.pick(CARDS);
    const body = cardBody(number, key, this.rng);
    this.remember(store, key, body);
    await this.sendPayment(store, this.instanceOf(store), key, body, 'payment');
  }

  async replay(store) {
    const pool = this.replayPool[store];
    if (pool.length === 0) return this.payment(store);
    const { key, body, idempotencyKey } = this.rng.pick(pool);
    await this.sendPayment(store, this.instanceOf(store), key, body, 'replay', idempotencyKey);
  }

  /** The same key and body sent at once to several of the store's instances. */
  async race(store) {
    const key = this.newKey();
    const body = cardBody(this.rng.pick(CARDS), key, this.rng);
    this.remember(store, key, body);
    const instances = this.stores[store].instances;
    await Promise.all(Array.from({ length: RACERS }, (_, i) => this.sendPayment(store, instances[i % instances.length], key, body, 'race')));
  }

  /** A valid payment whose Idempotency-Key holds a card number: accepted (stores keep an HMAC of it), never written out. */
  async odd(store) {
    const key = this.newKey();
    const body = cardBody('4242424242424242', key, this.rng);
    const idempotencyKey = `${key}-4242424242424242`;
    this.remember(store, key, body, idempotencyKey);
    await this.sendPayment(store, this.instanceOf(store), key, body, 'odd', idempotencyKey);
  }

  async bad(store) {
    const [name, make] = this.rng.pick(BAD_INPUTS);
    const key = this.newKey();
    const input = make(cardBody('4242424242424242', key, this.rng));
    const instance = this.instanceOf(store);
    const { status, body } = await this.send(instance, 'POST', '/v1/payments', store, {
      'content-type': input.type ?? 'application/json', 'idempotency-key': input.key ?? key,
    }, input.raw ?? JSON.stringify(input.json));
    this.count('bad', status, { store, instance: instance.name, input: name, body });
  }

  async read(store) {
    const instance = this.instanceOf(store);
    const { status, body } = await this.send(instance, 'GET', '/v1/payments?limit=10', store);
    this.count('read', status, { store, instance: instance.name, body });
  }

  async sendPayment(store, instance, key, body, kind, idempotencyKey = key) {
    const { status, body: answer, replayed } = await this.send(instance, 'POST', '/v1/payments', store, {
      'content-type': 'application/json', 'idempotency-key': idempotencyKey,
    }, JSON.stringify(body));
    this.count('payment', status, { store, instance: instance.name, key, kind, body: answer });
    const paymentId = answer?.id ?? answer?.error?.payment?.id ?? null;
    if (typeof status === 'number' && [201, 202, 402].includes(status) && paymentId) {
      this.answers.push({ store, key, status, paymentId, paymentStatus: answer?.status ?? answer?.error?.payment?.status ?? null, replayed, instance: instance.name });
    }
  }

  count(kind, status, evidence) {
    // The one 500 paylog means to send: a payment charged (or not) whose outcome the store
    // refused (full, restarting); it stays processing and is reconciled (checked at the end).
    if (status === 500 && OUTCOME_NOT_RECORDED.test(evidence.body?.error?.message ?? '')) status = '500 outcome not recorded';
    const label = `${kind} ${status}`;
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    if (!ALLOWED[kind].has(String(status))) this.unexpected.push({ kind, status, ...evidence });
  }

  /** One request; the status, or 'no answer' (connection closed) or 'refused' (nothing listening). */
  async send(instance, method, path, store, headers = {}, body = undefined) {
    try {
      const res = await fetch(`${instance.url}${path}`, {
        method, body, headers: { authorization: `Bearer ${this.stores[store].secret}`, ...headers },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed = null;
      try { parsed = JSON.parse(text); } catch { parsed = { text: text.slice(0, 200) }; }
      return { status: res.status, body: parsed, replayed: res.headers.get('idempotent-replayed') === 'true' };
    } catch (err) {
      if (err.name === 'TimeoutError') return { status: 'timeout', body: null, replayed: false };
      return { status: err.cause?.code === 'ECONNREFUSED' ? 'refused' : 'no answer', body: null, replayed: false };
    }
  }
}
