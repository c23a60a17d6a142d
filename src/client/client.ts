import createClient, { type Client } from 'openapi-fetch';
import { type AnswerFacts, PaylogConnectionError, type PaylogError, errorFromAnswer } from './errors.js';
import { type RetryPolicy, retryAfterMs, retryDelayMs, retryPolicy } from './retry.js';
import type { paths } from './schema.js';
import type {
  ApiResult, Checkpoints, CreatePaymentParams, CreatePaymentResult, Health, JournalConsistency, PaymentEvents, PaymentList,
  PaymentProof, PaymentStats, Payment, QueryOf, Readiness, StreamConsistency,
} from './types.js';

export interface PaylogClientOptions {
  /** Where the API is, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** A secret key (`paylog keys create`), sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** How long one attempt may take before it is abandoned (and retried, like a dropped connection). */
  timeoutMs?: number;
  /** Attempts and waits; see {@link RetryPolicy}. */
  retry?: Partial<RetryPolicy>;
  /** For tests: the fetch every attempt goes through, the wait between attempts, and the jitter's randomness in [0, 1). */
  fetch?: (request: Request) => Promise<Response>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const TIMEOUT_MS_LIMIT = 600_000;

export interface RequestOptions {
  /** The key every attempt of a POST is sent under; a fresh UUID when not given. Reuse it to retry a call later. */
  idempotencyKey?: string;
  /** A W3C traceparent whose trace ID paylog writes into the request's audit records. */
  traceparent?: string;
}

interface Attempt {
  signal: AbortSignal;
  headers: Record<string, string>;
}
type Answer<D> = { data?: D; error?: unknown; response: Response };

function answerFacts(response: Response): AnswerFacts {
  return {
    status: response.status,
    requestId: response.headers.get('request-id'),
    retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
    idempotentReplayed: response.headers.get('idempotent-replayed') === 'true',
  };
}

/**
 * A typed client of the paylog API (types generated from its OpenAPI document). POSTs carry an
 * Idempotency-Key; dropped connections, 409 idempotency_key_in_use, 429 and 5xx are retried
 * with the same key (full-jitter exponential backoff, at least `Retry-After`, a bounded number
 * of attempts); every other error is thrown at once as a typed {@link PaylogError}. The client
 * logs nothing: a request's body (the card number) goes only into the body of its request.
 */
export class PaylogClient {
  readonly #raw: Client<paths>;
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: PaylogClientOptions) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(this.#timeoutMs) || this.#timeoutMs < 1 || this.#timeoutMs > TIMEOUT_MS_LIMIT) {
      throw new RangeError(`paylog client: timeoutMs must be a whole number from 1 to ${TIMEOUT_MS_LIMIT}, got ${this.#timeoutMs}`);
    }
    this.#policy = retryPolicy(options.retry);
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
    this.#raw = createClient<paths>({
      baseUrl: options.baseUrl,
      headers: { authorization: `Bearer ${options.apiKey}` },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** Pays. 201 and 202 (processing) resolve; a decline throws a `PaylogCardError` holding the declined payment. */
  async createPayment(params: CreatePaymentParams, options: RequestOptions = {}): Promise<CreatePaymentResult> {
    const key = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    const trace: Record<string, string> = options.traceparent === undefined ? {} : { traceparent: options.traceparent };
    const result = await this.#send<Payment>('POST', '/v1/payments', ({ signal, headers }) => this.#raw.POST('/v1/payments', { body: params, signal, headers: { ...headers, ...trace } }), { idempotencyKey: key });
    return { ...result, idempotencyKey: key };
  }

  listPayments(query: QueryOf<'listPayments'> = {}): Promise<ApiResult<PaymentList>> {
    return this.#send('GET', '/v1/payments', ({ signal }) => this.#raw.GET('/v1/payments', { params: { query }, signal }));
  }

  getPayment(id: string): Promise<ApiResult<Payment>> {
    return this.#send('GET', '/v1/payments/{id}', ({ signal }) => this.#raw.GET('/v1/payments/{id}', { params: { path: { id } }, signal }));
  }

  /** A payment's audit records, in order, each with its hash and the hash it chains to. */
  listPaymentEvents(id: string, query: QueryOf<'listPaymentEvents'> = {}): Promise<ApiResult<PaymentEvents>> {
    return this.#send('GET', '/v1/payments/{id}/events', ({ signal }) => this.#raw.GET('/v1/payments/{id}/events', { params: { path: { id }, query }, signal }));
  }

  /** A receipt: a payment's records with inclusion proofs against signed checkpoints (`paylog verify-proof`). */
  getPaymentProof(id: string, query: QueryOf<'getPaymentProof'> = {}): Promise<ApiResult<PaymentProof>> {
    return this.#send('GET', '/v1/payments/{id}/proof', ({ signal }) => this.#raw.GET('/v1/payments/{id}/proof', { params: { path: { id }, query }, signal }));
  }

  getPaymentStats(query: QueryOf<'getPaymentStats'> = {}): Promise<ApiResult<PaymentStats>> {
    return this.#send('GET', '/v1/payments/stats', ({ signal }) => this.#raw.GET('/v1/payments/stats', { params: { query }, signal }));
  }

  listCheckpoints(): Promise<ApiResult<Checkpoints>> {
    return this.#send('GET', '/v1/audit/checkpoints', ({ signal }) => this.#raw.GET('/v1/audit/checkpoints', { signal }));
  }

  getStreamConsistency(stream: string, query: QueryOf<'getStreamConsistency'>): Promise<ApiResult<StreamConsistency>> {
    return this.#send('GET', '/v1/audit/streams/{stream}/consistency', ({ signal }) => this.#raw.GET('/v1/audit/streams/{stream}/consistency', { params: { path: { stream }, query }, signal }));
  }

  getJournalConsistency(query: QueryOf<'getJournalConsistency'>): Promise<ApiResult<JournalConsistency>> {
    return this.#send('GET', '/v1/audit/journal/consistency', ({ signal }) => this.#raw.GET('/v1/audit/journal/consistency', { params: { query }, signal }));
  }

  /** Probes answer about this moment: never retried. */
  getHealth(): Promise<ApiResult<Health>> {
    return this.#send('GET', '/healthz', ({ signal }) => this.#raw.GET('/healthz', { signal }), { retries: false });
  }

  /** Resolves with status 200 or 503 (the store does not answer); never retried. */
  getReadiness(): Promise<ApiResult<Readiness>> {
    return this.#send('GET', '/readyz', ({ signal }) => this.#raw.GET('/readyz', { signal }), { retries: false, answers: [503] });
  }

  /**
   * One call: attempts until an answer is final or the policy says stop. A POST's attempts all
   * carry the same Idempotency-Key, so a retry after an answer that never arrived replays it.
   * `path` is the route's pattern, the only part of a request an error names.
   */
  async #send<D>(method: 'GET' | 'POST', path: string, attempt: (init: Attempt) => Promise<Answer<D>>,
    options: { idempotencyKey?: string; retries?: boolean; answers?: number[] } = {}): Promise<ApiResult<D>> {
    const idempotencyKey = method === 'POST' ? options.idempotencyKey ?? globalThis.crypto.randomUUID() : undefined;
    const headers: Record<string, string> = idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey };
    for (let attempts = 1; ; attempts++) {
      let failure: PaylogError;
      try {
        const { data, error, response } = await attempt({ signal: AbortSignal.timeout(this.#timeoutMs), headers });
        const facts = answerFacts(response);
        if (response.ok || options.answers?.includes(response.status)) {
          return { data: (response.ok ? data : error) as D, status: facts.status, requestId: facts.requestId, idempotentReplayed: facts.idempotentReplayed, attempts };
        }
        failure = errorFromAnswer(facts, error);
      } catch (cause) {
        // No answer, or one whose body could not be read: for a POST, the key makes a retry safe.
        failure = new PaylogConnectionError(method, path, cause);
      }
      const waitMs = options.retries === false ? null : retryDelayMs(failure, attempts, this.#policy, this.#random);
      if (waitMs === null) {
        failure.attempts = attempts;
        failure.idempotencyKey = idempotencyKey;
        throw failure;
      }
      await this.#sleep(waitMs);
    }
  }
}
