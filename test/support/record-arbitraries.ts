import fc from 'fast-check';
import { RECORD_TYPES, type Position, type RecordDraft } from '../../src/core/audit-record.js';

/** Any string, lone surrogates and control characters included: what JSON and JCS must escape. */
export const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const nullable = fc.option(anyText, { nil: null });

/** Any draft a use case could hand the journal, with any JSON in `data`. */
export const anyDraft: fc.Arbitrary<RecordDraft> = fc.record({
  type: fc.constantFrom(...RECORD_TYPES),
  actor: anyText,
  origin: fc.record({ requestId: nullable, traceId: nullable, ip: nullable }),
  resource: nullable,
  outcome: fc.constantFrom('success' as const, 'failure' as const, 'unknown' as const),
  reason: nullable,
  data: fc.dictionary(anyText, fc.jsonValue()) as fc.Arbitrary<RecordDraft['data']>,
});

/** Any position in any stream. */
export const anyPosition: fc.Arbitrary<Position> = fc.record({
  journal: anyText, stream: anyText, seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), prev: anyText, ts: anyText,
});
