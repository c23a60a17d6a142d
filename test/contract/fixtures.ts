import { type AuditRecord, GENESIS_PREV, type RecordType, sealRecord } from '../../src/core/audit-record.js';
import type { Payment, PaymentStatus } from '../../src/core/payment.js';
import type { IdempotencyClaim } from '../../src/ports/idempotency-store.js';
import type { CommitUnit, StreamHead, StreamInfo, StreamStatus } from '../../src/ports/journal-store.js';
import type { Store } from '../../src/ports/store.js';

/** Builds a fresh, empty store; cleanup closes it and removes whatever it left behind. */
export type StoreFactory = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

export const JOURNAL = 'paylog-test';
// Far ahead of any real clock: DynamoDB Local runs TTL, and would delete keys expired by the real clock mid-test.
const T0_MS = Date.parse('2100-01-01T00:00:00.000Z');

/** A fixed instant, `offsetMs` after the tests' epoch: deterministic times, no clock. */
export function at(offsetMs: number): string {
  return new Date(T0_MS + offsetMs).toISOString();
}

/** How listStreams reports a stream nobody closed. */
export function openStatus(info: StreamInfo): StreamStatus {
  return { ...info, state: 'open', closedBy: null, closedAt: null, head: null };
}

export function streamInfo(id: string, startedAtMs = 0): StreamInfo {
  return { id, journal: JOURNAL, startedAt: at(startedAtMs), writer: 'test:1', leaseExpiresAt: at(startedAtMs + 60_000) };
}

export interface RecordSpec {
  type?: RecordType;
  resource?: string | null;
  tsMs?: number;
  data?: AuditRecord['data'];
}

/** Seals records onto one stream, chaining them like the journal writer does. */
export class StreamBuilder {
  private seq = 0;
  private prev = GENESIS_PREV;

  constructor(readonly stream: string) {}

  get head(): StreamHead | null {
    return this.seq === 0 ? null : { seq: this.seq, hash: this.prev };
  }

  next(spec: RecordSpec = {}): AuditRecord {
    const record = sealRecord(
      {
        type: spec.type ?? (this.seq === 0 ? 'journal.started' : 'payment.received'),
        actor: 'key_test',
        origin: { requestId: 'req_test', traceId: null, ip: '127.0.0.1' },
        resource: spec.resource ?? null,
        outcome: 'success',
        reason: null,
        data: spec.data ?? {},
      },
      { journal: JOURNAL, stream: this.stream, seq: this.seq + 1, prev: this.prev, ts: at(spec.tsMs ?? this.seq) },
    );
    this.seq = record.seq;
    this.prev = record.hash;
    return record;
  }

  many(count: number, spec: RecordSpec = {}): AuditRecord[] {
    return Array.from({ length: count }, () => this.next(spec));
  }

  /** A unit carrying one record about the payment, as the app commits a payment change. */
  paymentUnit(payment: Payment, extra: Omit<CommitUnit, 'records' | 'payment'> = {}): CommitUnit {
    return { records: [this.next({ resource: payment.id, tsMs: Date.parse(payment.updatedAt) - T0_MS })], payment, ...extra };
  }
}

/** Creates a stream in the store and returns a builder that continues it. */
export async function openStream(store: Store, id: string, startedAtMs = 0): Promise<StreamBuilder> {
  await store.journal.createStream(streamInfo(id, startedAtMs));
  return new StreamBuilder(id);
}

/** Time-ordered IDs like TypeIDs: a larger n sorts later. */
export function txnId(n: number): string {
  return `txn_01jd${String(n).padStart(22, '0')}`;
}

export function payment(n: number, overrides: Partial<Payment> = {}): Payment {
  const status: PaymentStatus = overrides.status ?? 'succeeded';
  return {
    id: txnId(n),
    object: 'payment',
    status,
    amount: 1000 + n,
    currency: 'USD',
    merchantId: 'acme',
    card: { brand: 'visa', bin: '424242', last4: '4242', expMonth: 12, expYear: 2030, fingerprint: 'fp_test' },
    attempts: 1,
    declineCode: null,
    failureCode: null,
    description: `Order ${n}`,
    merchantReference: null,
    metadata: { n: String(n), note: 'café ☕' },
    createdAt: at(n * 1000),
    updatedAt: at(n * 1000),
    audit: null,
    ...overrides,
  };
}

export const LEASE_MS = 30_000;
export const TTL_MS = 24 * 60 * 60 * 1000;

export function claim(nowMs: number, overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return {
    merchantId: 'acme',
    key: 'key-1',
    fingerprint: 'fp-a',
    now: at(nowMs),
    leaseExpiresAt: at(nowMs + LEASE_MS),
    expiresAt: at(nowMs + TTL_MS),
    ...overrides,
  };
}

/** Runs a test body against a fresh store from the factory, cleaning up whatever happens. */
export function withStore(factory: StoreFactory, body: (store: Store) => Promise<void>): () => Promise<void> {
  return async () => {
    const { store, cleanup } = await factory();
    try {
      await body(store);
    } finally {
      await cleanup();
    }
  };
}
