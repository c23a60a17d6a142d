import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, recordLeafHash, recordLine, sealRecord } from '../../src/core/audit-record.js';
import { canonicalJsonWithout } from '../../src/core/jcs.js';
import { canonicalStored, storedLeafHash } from '../../src/core/stored-leaf-hash.js';
import { anyDraft, anyPosition, anyText as text } from '../support/record-arbitraries.js';

/*
 * The verifier's fast leaf hash must be recordLeafHash for every value: the short way for
 * what writers store, the generic way for anything else (a tampered, reordered or hand-made
 * line), never a third answer.
 */

/** A stored line, as an export or a store gives it back. */
const stored = fc.tuple(anyDraft, anyPosition).map(([d, at]) => JSON.parse(recordLine(sealRecord(d, at))) as AuditRecord);

/** What the generic path computes: canonicalize whatever the value holds. */
const generic = (value: unknown): string => canonicalJsonWithout(value as Record<string, unknown>, 'hash');

describe('storedLeafHash', () => {
  it('equals recordLeafHash, and the sealed hash, for every record a writer stores', () => {
    fc.assert(fc.property(stored, (record) => {
      const canonical = canonicalStored(record as unknown as Record<string, unknown>);
      return canonical === generic(record) && storedLeafHash(record) === recordLeafHash(record) && storedLeafHash(record) === record.hash;
    }), { numRuns: 2000, seed: 20261201 });
  });

  it('equals recordLeafHash for arbitrary JSON objects in place of records (fallback)', () => {
    const anyObject = fc.dictionary(text, fc.jsonValue()).map((o) => ({ ...o, hash: 'h' }));
    fc.assert(fc.property(anyObject, (value) => canonicalStored(value) === generic(value)), { numRuns: 2000, seed: 20261202 });
  });

  it('equals recordLeafHash when any member of a stored record is replaced by any JSON value, added or removed', () => {
    const names = ['actor', 'data', 'journal', 'origin', 'outcome', 'prev', 'reason', 'resource', 'seq', 'stream', 'ts', 'type', 'v', 'extra'];
    const change = fc.tuple(fc.constantFrom(...names), fc.option(fc.jsonValue(), { nil: undefined }));
    fc.assert(fc.property(stored, fc.array(change, { minLength: 1, maxLength: 3 }), (record, changes) => {
      const value: Record<string, unknown> = { ...record };
      for (const [name, replacement] of changes) {
        if (replacement === undefined) delete value[name];
        else value[name] = replacement;
      }
      return canonicalStored(value) === generic(value);
    }), { numRuns: 2000, seed: 20261203 });
  });

  it('falls back for lines that are not in canonical order or form, and hashes them as before', () => {
    const record = JSON.parse(recordLine(sealRecord({
      type: 'payment.succeeded', actor: 'key_1', origin: { requestId: 'req_1', traceId: null, ip: '127.0.0.1' },
      resource: 'txn_1', outcome: 'success', reason: null, data: { amount: 1099, card: { brand: 'visa', bin: '424242' } },
    }, { journal: 'j', stream: 'str_1', seq: 2, prev: 'ab'.repeat(32), ts: '2026-12-01T00:00:00.000Z' }))) as AuditRecord;
    // Keys out of order inside data: the same record, so the same hash, the generic way.
    const reordered = JSON.parse(recordLine(record).replace('"data":{"amount":1099,"card":{"brand":"visa","bin":"424242"}}', '"data":{"card":{"bin":"424242","brand":"visa"},"amount":1099}')) as AuditRecord;
    expect(canonicalStored(reordered as unknown as Record<string, unknown>)).toBe(generic(record));
    expect(storedLeafHash(reordered)).toBe(record.hash);
    const lines = [
      // origin with a member more.
      recordLine(record).replace('"ip":"127.0.0.1"', '"ip":"127.0.0.1","port":1'),
      // Numbers JSON.stringify would write otherwise, a member JSON.stringify would drop, __proto__, non-finite.
      recordLine(record).replace('"amount":1099', '"amount":1.0e3'),
      recordLine(record).replace('"amount":1099', '"__proto__":{"x":1},"amount":1099'),
      recordLine(record).replace('"amount":1099', '"amount":1e400'),
      // A member more, and a stream number as a string.
      recordLine(record).replace('"v":1,', '"v":1,"w":2,'),
      recordLine(record).replace('"seq":2', '"seq":"2"'),
    ];
    for (const line of lines) {
      const value = JSON.parse(line) as AuditRecord;
      const before = (() => { try { return recordLeafHash(value); } catch (err) { return `threw ${(err as Error).message}`; } })();
      const now = (() => { try { return storedLeafHash(value); } catch (err) { return `threw ${(err as Error).message}`; } })();
      expect(now).toBe(before);
      expect(now).not.toBe(record.hash);
    }
    expect(storedLeafHash(record)).toBe(record.hash);
  });
});
