import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/app/context.js';
import { draft, redactedDraft } from '../../src/app/records.js';

const caller: Caller = { merchantId: 'acme', actor: 'key_01jdq2', origin: { requestId: 'req_01jdq2', traceId: null, ip: '192.168.100.123' } };

describe('the journal redaction point', () => {
  it('masks every string of a request record, keys included, and the origin', () => {
    const record = draft({ ...caller, origin: { ...caller.origin, traceId: '42424242424242420000000000000000' } }, 'auth.failed', null, 'failure', {
      path: '/v1/payments/4242 4242 4242 4242', '4242.4242.4242.4242': ['card4242424242424242'], keyId: null,
    }, 'api_key_invalid');
    expect(record.data).toEqual({ path: '/v1/payments/4242 42** **** 4242', '4242.42**.****.4242': ['card424242******4242'], keyId: null });
    expect(record.origin.traceId).not.toContain('4242424242424242');
    expect(JSON.stringify(record)).not.toMatch(/4242.?4242.?4242.?4242/);
  });

  it('keeps the IP address, IDs and clean data as they are, without a copy', () => {
    const data = { amount: 4242424242424242, merchantReference: 'order_1234', idempotencyKey: '550e8400-e29b-41d4-a716-446655440000' };
    const record = draft(caller, 'payment.received', 'txn_01jdq2', 'success', data);
    expect(record.data).toBe(data);
    expect(record.origin).toBe(caller.origin);
    expect(redactedDraft(record)).toBe(record);
  });

  it('leaves journal.* records byte-exact: their hashes and notes are not request text', () => {
    // A root whose digits hold a Luhn-valid window: masking it would break the sealed record.
    const root = '4242424242424242aaaa';
    const record = draft(caller, 'journal.sealed', 'str_01jdq2', 'success', { root, note: `size 4242424242424242\n${root}` });
    expect(record.data).toEqual({ root, note: `size 4242424242424242\n${root}` });
  });
});
