import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { RecordAggregator } from '../../app/record-aggregator.js';
import { draft } from '../../app/records.js';
import { PaylogError } from '../../core/errors.js';
import { callerOf } from './caller.js';
import { toPaylogError } from './error-mapping.js';

/** audit.read records are aggregated per API key and client address per calendar minute (UTC). */
export const AUDIT_READ_WINDOW_MS = 60_000;
/** Reads per key and address per minute recorded on their own before the rest are counted. */
export const AUDIT_READS_RECORDED_PER_MINUTE = 1;
/** Key and address pairs one minute tracks; the reads of further pairs share one summary. */
export const AUDIT_READ_KEYS_MAX = 1_000;
/** Resources (transaction and stream IDs) one audit.read summary names; the rest are only counted. */
const SUMMARY_RESOURCES_MAX = 50;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads the audit trail: each read is an audit.read record (PCI DSS 10.2.1.3). */
    auditRead?: boolean;
  }
}

/**
 * Makes every route of `scope` declared with `config: { auditRead: true }` (and registered after
 * this call) record who read what: the first read of a key from an address in a minute is an
 * `audit.read` record made durable before the answer is sent (if it cannot be written the
 * read is answered 503, never unrecorded); further reads in that minute are counted into one
 * `audit.read` summary written when the minute ends or the server closes. Records carry the
 * route's pattern and the resource's ID, never the raw URL or query.
 */
export function registerAuditReads(scope: FastifyInstance, ctx: AppContext): void {
  const reads = new RecordAggregator({
    type: 'audit.read',
    outcome: 'success',
    windowMs: AUDIT_READ_WINDOW_MS,
    individualMax: AUDIT_READS_RECORDED_PER_MINUTE,
    keysMax: AUDIT_READ_KEYS_MAX,
    resourcesMax: SUMMARY_RESOURCES_MAX,
    clock: ctx.clock,
    write: (records) => ctx.writer.append({ records }),
    onError: (err, records) => scope.log.error({ err, summaries: records.map((r) => ({ actor: r.actor, ip: r.origin.ip, data: r.data })) }, 'could not record audit.read summaries'),
  });

  const recordRead = async (request: FastifyRequest, route: string, failure: PaylogError | null): Promise<void> => {
    const caller = callerOf(request);
    const resource = resourceOf(request.params);
    const decision = reads.note({
      key: `${caller.actor} ${caller.origin.ip ?? ''}`, actor: caller.actor, ip: caller.origin.ip, resource,
      counts: { route, outcome: failure === null ? 'success' : failure.code },
    });
    if (decision === 'counted') return;
    await ctx.writer.append({
      records: [draft(caller, 'audit.read', resource, failure === null ? 'success' : 'failure', { method: request.method, route }, failure?.code ?? null)],
    });
  };

  scope.addHook('onRoute', (route) => {
    if (route.config?.auditRead !== true) return;
    const handler = route.handler;
    const pattern = route.url;
    route.handler = async function audited(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
      let result: unknown;
      try {
        result = await handler.call(this, request, reply);
      } catch (err) {
        // A refused read is recorded too; the refusal is answered whether or not that works.
        await recordRead(request, pattern, toPaylogError(err)).catch((recordErr: unknown) => request.log.error({ err: recordErr }, 'could not record a refused audit read'));
        throw err;
      }
      await recordRead(request, pattern, null);
      return result;
    } as RouteHandlerMethod;
  });

  scope.addHook('onClose', async () => reads.close());
}

/** The ID a read concerns: a transaction (`:id`) or a stream (`:stream`); validated by the route's schema. */
function resourceOf(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return null;
  const { id, stream } = params as { id?: unknown; stream?: unknown };
  if (typeof id === 'string') return id;
  if (typeof stream === 'string') return stream;
  return null;
}
