import type { JsonObject, Outcome, RecordDraft, RecordType } from '../core/audit-record.js';
import type { Caller } from './context.js';

/** Builds a record draft for a caller; keeps the PCI DSS 10.2.2 fields in one place. */
export function draft(
  caller: Caller,
  type: RecordType,
  resource: string | null,
  outcome: Outcome,
  data: JsonObject,
  reason: string | null = null,
): RecordDraft {
  return { type, actor: caller.actor, origin: caller.origin, resource, outcome, reason, data };
}
