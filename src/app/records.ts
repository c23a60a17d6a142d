import type { JsonObject, Origin, Outcome, RecordDraft, RecordType } from '../core/audit-record.js';
import { redactCardNumbers, redactJson } from '../core/redact.js';
import type { Caller } from './context.js';

const nullableRedacted = (text: string | null): string | null => (text === null ? null : redactCardNumbers(text));

/**
 * Builds a record draft for a caller; keeps the PCI DSS 10.2.2 fields in one place, and passes
 * it through the journal's redaction point (redactedDraft).
 */
export function draft(
  caller: Caller,
  type: RecordType,
  resource: string | null,
  outcome: Outcome,
  data: JsonObject,
  reason: string | null = null,
): RecordDraft {
  return redactedDraft({ type, actor: caller.actor, origin: caller.origin, resource, outcome, reason, data });
}

/**
 * The journal's one redaction point (and so the export's and the audit mirrors'): every string
 * a record carries, keys included, has anything that could be a card number masked. A draft
 * built without draft() must pass through here. The exception is journal.* records, which
 * paylog writes about its own streams: they hold hashes and signed notes that must stay
 * byte-exact, and nothing a request sent. Returns the same draft when nothing was masked.
 */
export function redactedDraft(record: RecordDraft): RecordDraft {
  if (record.type.startsWith('journal.')) return record;
  const { requestId, traceId, ip } = record.origin;
  const clean = { requestId: nullableRedacted(requestId), traceId: nullableRedacted(traceId), ip: nullableRedacted(ip) };
  const origin: Origin = clean.requestId === requestId && clean.traceId === traceId && clean.ip === ip ? record.origin : clean;
  const actor = redactCardNumbers(record.actor);
  const resource = nullableRedacted(record.resource);
  const reason = nullableRedacted(record.reason);
  const data = redactJson(record.data);
  if (origin === record.origin && actor === record.actor && resource === record.resource && reason === record.reason && data === record.data) return record;
  return { ...record, actor, origin, resource, reason, data };
}
