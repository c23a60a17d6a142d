import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord, GENESIS_PREV, type JsonValue, type Position, RECORD_TYPES, RECORD_VERSION, type RecordBody, type RecordDraft,
  bodyOf, leafHash, recordLeafHash, recordLine, sealRecord,
} from '../../src/core/audit-record.js';
import { anyDraft, anyPosition } from '../support/record-arbitraries.js';

const SPEC_FIELD_ORDER = [
  'v', 'journal', 'stream', 'seq', 'prev', 'ts', 'type', 'actor', 'origin', 'resource', 'outcome', 'reason', 'data', 'hash',
];

const DRAFT: RecordDraft = {
  type: 'payment.succeeded',
  actor: 'key_01jdq0000000000000000000',
  origin: { requestId: 'req_01jdq0000000000000000001', traceId: '0af7651916cd43dd8448eb211c80319c', ip: '127.0.0.1' },
  resource: 'txn_01jdq2000000000000000000',
  outcome: 'success',
  reason: null,
  data: { amount: 1099, currency: 'USD', card: { brand: 'visa', bin: '424242', last4: '4242' } },
};

const AT: Position = {
  journal: 'paylog-local',
  stream: 'str_01jdq1000000000000000000',
  seq: 42,
  prev: 'ab'.repeat(32),
  ts: '2026-11-26T16:00:00.123Z',
};

/**
 * A deliberately small RFC 8785 canonical form, enough for the plain records here: keys sorted
 * by UTF-16 code units, no whitespace, strings and integers as JSON writes them.
 */
function canonical(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k] as JsonValue)}`).join(',')}}`;
}

function expectedHash(canonicalText: string): string {
  return createHash('sha256').update(Buffer.concat([Buffer.from([0x00]), Buffer.from(canonicalText, 'utf8')])).digest('hex');
}

function withoutHash(record: AuditRecord): Record<string, JsonValue> {
  const copy: Record<string, unknown> = { ...record };
  delete copy.hash;
  return copy as Record<string, JsonValue>;
}

describe('GENESIS_PREV and the version', () => {
  it('GENESIS_PREV is 64 zeros', () => {
    expect(GENESIS_PREV).toBe('0'.repeat(64));
    expect(GENESIS_PREV).toMatch(/^0{64}$/);
  });

  it('records are version 1', () => {
    expect(RECORD_VERSION).toBe(1);
    expect(sealRecord(DRAFT, AT).v).toBe(1);
  });

  it('knows every record type SPEC §3 requires', () => {
    for (const type of [
      'journal.started', 'journal.checkpoint', 'journal.stopped', 'payment.received', 'payment.attempted',
      'payment.succeeded', 'payment.declined', 'payment.failed', 'payment.processing', 'payment.reconciled',
      'request.rejected', 'auth.failed', 'idempotency.replayed', 'idempotency.conflict', 'key.created', 'key.revoked',
    ]) {
      expect(RECORD_TYPES).toContain(type);
    }
  });
});

describe('leaf hash', () => {
  it('matches a hand-written canonical form of a tiny record', () => {
    const record = sealRecord(
      { type: 'journal.started', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data: {} },
      { journal: 'j', stream: 's', seq: 1, prev: GENESIS_PREV, ts: '2026-01-01T00:00:00.000Z' },
    );
    const text =
      '{"actor":"system","data":{},"journal":"j","origin":{"ip":null,"requestId":null,"traceId":null},' +
      `"outcome":"success","prev":"${GENESIS_PREV}","reason":null,"resource":null,"seq":1,"stream":"s",` +
      '"ts":"2026-01-01T00:00:00.000Z","type":"journal.started","v":1}';
    expect(canonical(withoutHash(record))).toBe(text);
    expect(record.hash).toBe(expectedHash(text));
  });

  it('is hex SHA-256 of 0x00 followed by the canonical record without its hash', () => {
    const record = sealRecord(DRAFT, AT);
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(record.hash).toBe(expectedHash(canonical(withoutHash(record))));
    expect(leafHash(bodyOf(record))).toBe(record.hash);
  });

  it('includes the 0x00 leaf prefix (RFC 6962), so it is not the plain SHA-256', () => {
    const record = sealRecord(DRAFT, AT);
    const plain = createHash('sha256').update(canonical(withoutHash(record)), 'utf8').digest('hex');
    expect(record.hash).not.toBe(plain);
  });

  it('does not depend on key order (it hashes the canonical form)', () => {
    const body = bodyOf(sealRecord(DRAFT, AT));
    const reversed = Object.fromEntries(Object.entries(body).reverse()) as unknown as RecordBody;
    const reorderedData = { ...body, data: { card: { last4: '4242', bin: '424242', brand: 'visa' }, currency: 'USD', amount: 1099 } };
    expect(leafHash(reversed)).toBe(leafHash(body));
    expect(leafHash(reorderedData)).toBe(leafHash(body));
  });

  it('canonicalizes non-ASCII text as UTF-8', () => {
    const record = sealRecord({ ...DRAFT, data: { description: 'Café ☕ 日本' } }, AT);
    expect(record.hash).toBe(expectedHash(canonical(withoutHash(record))));
  });
});

describe('sealRecord', () => {
  it('lays the fields out in SPEC §3 order', () => {
    const record = sealRecord(DRAFT, AT);
    expect(Object.keys(record)).toEqual(SPEC_FIELD_ORDER);
    expect(Object.keys(JSON.parse(recordLine(record)) as object)).toEqual(SPEC_FIELD_ORDER);
  });

  it('places the draft at the position', () => {
    const record = sealRecord(DRAFT, AT);
    expect(record).toMatchObject({ ...AT, ...DRAFT, v: 1 });
  });

  it('changes the hash when any field changes', () => {
    const base = bodyOf(sealRecord(DRAFT, AT));
    const variants: [string, RecordBody][] = [
      ['v', { ...base, v: 2 as 1 }],
      ['journal', { ...base, journal: 'paylog-other' }],
      ['stream', { ...base, stream: 'str_01jdq1000000000000000001' }],
      ['seq', { ...base, seq: 43 }],
      ['prev', { ...base, prev: 'ab'.repeat(31) + 'ac' }],
      ['ts', { ...base, ts: '2026-11-26T16:00:00.124Z' }],
      ['type', { ...base, type: 'payment.declined' }],
      ['actor', { ...base, actor: 'key_01jdq0000000000000000001' }],
      ['origin.requestId', { ...base, origin: { ...base.origin, requestId: 'req_01jdq0000000000000000002' } }],
      ['origin.traceId', { ...base, origin: { ...base.origin, traceId: null } }],
      ['origin.ip', { ...base, origin: { ...base.origin, ip: '127.0.0.2' } }],
      ['resource', { ...base, resource: null }],
      ['outcome', { ...base, outcome: 'failure' }],
      ['reason', { ...base, reason: 'insufficient_funds' }],
      ['data.amount', { ...base, data: { ...base.data, amount: 1100 } }],
      ['data.currency', { ...base, data: { ...base.data, currency: 'usd' } }],
      ['data.card.last4', { ...base, data: { ...base.data, card: { brand: 'visa', bin: '424242', last4: '4243' } } }],
      ['data: a field added', { ...base, data: { ...base.data, extra: null } }],
      ['data: a field removed', { ...base, data: { amount: 1099, currency: 'USD' } }],
      ['amount as a string', { ...base, data: { ...base.data, amount: '1099' } }],
      ['a field added to the record', { ...base, extra: 1 } as RecordBody],
    ];
    const hashes = new Set([leafHash(base)]);
    for (const [what, variant] of variants) {
      const hash = leafHash(variant);
      expect(hash, what).not.toBe(leafHash(base));
      hashes.add(hash);
    }
    expect(hashes.size).toBe(variants.length + 1);
  });
});

describe('bodyOf and recordLine', () => {
  it('bodyOf drops only the hash', () => {
    const record = sealRecord(DRAFT, AT);
    const body = bodyOf(record);
    expect('hash' in body).toBe(false);
    expect(Object.keys(body)).toEqual(SPEC_FIELD_ORDER.slice(0, -1));
    expect(record.hash).toBe(sealRecord(DRAFT, AT).hash); // sealing is deterministic
  });

  it('recordLine is one line of JSON that round-trips and still verifies', () => {
    const record = sealRecord({ ...DRAFT, data: { note: 'line\nbreak' } }, AT);
    const line = recordLine(record);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line) as AuditRecord;
    expect(parsed).toEqual(record);
    expect(leafHash(bodyOf(parsed))).toBe(record.hash);
  });
});

describe('sealRecord’s written-out canonical form', () => {
  it('hashes every draft exactly as the verifier’s generic canonicalization does', () => {
    fc.assert(fc.property(anyDraft, anyPosition, (d, at) => {
      const record = sealRecord(d, at);
      const parsed = JSON.parse(recordLine(record)) as AuditRecord;
      return record.hash === leafHash(bodyOf(record)) && record.hash === leafHash(bodyOf(parsed)) && recordLeafHash(parsed) === record.hash;
    }), { numRuns: 1000, seed: 20261127 });
  });

  it('hashes drafts whose data keys are in order (the native path) as json-canonicalize does', () => {
    const sortedData = anyDraft.map((d) => ({ ...d, data: Object.fromEntries(Object.entries(d.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }));
    fc.assert(fc.property(sortedData, anyPosition, (d, at) => {
      const record = sealRecord(d, at);
      return record.hash === expectedHash(canonicalize(withoutHash(record)));
    }), { numRuns: 1000, seed: 20261201 });
  });

  it('keeps only Origin’s members, so an origin object carrying more cannot make an unverifiable record', () => {
    const origin = { ...DRAFT.origin, extra: 'x' } as RecordDraft['origin'];
    const record = sealRecord({ ...DRAFT, origin }, AT);
    expect(Object.keys(record.origin)).toEqual(['requestId', 'traceId', 'ip']);
    expect(record.hash).toBe(leafHash(bodyOf(JSON.parse(recordLine(record)) as AuditRecord)));
  });
});
