import type { JsonObject, Origin, Outcome, RecordDraft, RecordType } from '../core/audit-record.js';
import { redactCardNumbers, redactJson } from '../core/redact.js';
import type { Caller } from './context.js';

const nullableRedacted = (text: string | null): string | null => (text === null ? null : redactCardNumbers(text));

/**
 * Builds a record draft for a caller; keeps the PCI DSS 10.2.2 fields in one place. It is also
 * the journal's one redaction point (and so the export's and the audit mirror's): every string
 * a record carries, keys included, has anything that could be a card number masked. The
 * exception is journal.* records, which paylog writes about its own streams: they hold hashes
 * and signed notes that must stay byte-exact, and nothing a request sent.
 */
export function draft(
  caller: Caller,
  type: RecordType,
  resource: string | null,
  outcome: Outcome,
  data: JsonObject,
  reason: string | null = null,
): RecordDraft {
  if (type.startsWith('journal.')) return { type, actor: caller.actor, origin: caller.origin, resource, outcome, reason, data };
  const { requestId, traceId, ip } = caller.origin;
  const clean = { requestId: nullableRedacted(requestId), traceId: nullableRedacted(traceId), ip: nullableRedacted(ip) };
  // The usual case allocates nothing: the caller's origin is kept when nothing in it was masked.
  const origin: Origin = clean.requestId === requestId && clean.traceId === traceId && clean.ip === ip ? caller.origin : clean;
  return {
    type, actor: redactCardNumbers(caller.actor), origin, resource: nullableRedacted(resource), outcome, reason: nullableRedacted(reason), data: redactJson(data),
  };
}
