import type { components, operations } from './schema.js';

/** The JSON body of an operation's answer with status `S`, from the generated types. */
type Body<Op extends keyof operations, S extends number> =
  operations[Op]['responses'] extends Record<S, { content: { 'application/json': infer B } }> ? B : never;
/** The query parameters of an operation. */
export type QueryOf<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

export type Payment = components['schemas']['Payment'];
export type CreatePaymentParams = operations['createPayment']['requestBody']['content']['application/json'];
export type PaymentList = Body<'listPayments', 200>;
export type PaymentEvents = Body<'listPaymentEvents', 200>;
/** An audit record of a payment, exactly as the journal holds it. */
export type PaymentEvent = PaymentEvents['data'][number];
export type PaymentProof = Body<'getPaymentProof', 200>;
export type PaymentStats = Body<'getPaymentStats', 200>;
export type Checkpoints = Body<'listCheckpoints', 200>;
export type StreamConsistency = Body<'getStreamConsistency', 200>;
export type JournalConsistency = Body<'getJournalConsistency', 200>;
export type Health = Body<'getHealth', 200>;
export type Readiness = Body<'getReadiness', 200> | Body<'getReadiness', 503>;

/** What every call resolves to: the body, and what the answer's headers said. */
export interface ApiResult<T> {
  data: T;
  status: number;
  /** The answer's `Request-Id`: quote it when asking about a request. */
  requestId: string | null;
  /** `Idempotent-Replayed: true`: the stored answer of an earlier request with the same Idempotency-Key. */
  idempotentReplayed: boolean;
  /** Requests sent for the call, the first included. */
  attempts: number;
}

/** A created payment (201 succeeded, or 202 processing), with the Idempotency-Key it was sent under. */
export interface CreatePaymentResult extends ApiResult<Payment> {
  idempotencyKey: string;
}
