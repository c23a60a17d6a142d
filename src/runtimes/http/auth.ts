import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate } from '../../app/api-keys.js';
import type { AppContext } from '../../app/context.js';
import { RecordAggregator } from '../../app/record-aggregator.js';
import { draft } from '../../app/records.js';
import { type ErrorCode, PaylogError } from '../../core/errors.js';
import { AUTH_FAILURE_ADDRESSES_MAX, AUTH_FAILURE_WINDOW_MS, AuthFailureLimiter, clientAddress } from './auth-limiter.js';
import { callerOf } from './caller.js';

/** With the limit off, failures per address per minute recorded one by one before they are counted. */
export const AUTH_FAILED_RECORDS_PER_ADDRESS_MAX = 20;
/** Revoked key IDs one auth.failed summary names. */
const SUMMARY_KEY_IDS_MAX = 10;

export interface AuthOptions {
  /** Failed authentications per client address per minute before it gets 429; 0 turns the limit off. */
  failuresPerMinute: number;
}

/**
 * Every route of this scope needs a valid API key. Runs first in the request lifecycle, so an
 * unauthenticated request is refused before its body is read.
 *
 * Each refusal is an `auth.failed` record (PCI DSS 10.2.1.4). An address that failed
 * `failuresPerMinute` times gets 429 `too_many_auth_failures` until the minute ends, before its
 * key is looked up, so a flood of bad keys costs neither store reads nor journal records: the
 * first failures of an address in a minute (as many as the limit allows) are each recorded and
 * made durable before the 401 is sent; the rest, 429s included, are counted into one
 * `auth.failed` summary per address and minute (see RecordAggregator).
 */
export function registerAuth(scope: FastifyInstance, ctx: AppContext, options: AuthOptions): void {
  const limiter = new AuthFailureLimiter(options.failuresPerMinute);
  const failures = new RecordAggregator({
    type: 'auth.failed',
    outcome: 'failure',
    windowMs: AUTH_FAILURE_WINDOW_MS,
    individualMax: options.failuresPerMinute > 0 ? Math.min(options.failuresPerMinute, AUTH_FAILED_RECORDS_PER_ADDRESS_MAX) : AUTH_FAILED_RECORDS_PER_ADDRESS_MAX,
    keysMax: AUTH_FAILURE_ADDRESSES_MAX,
    resourcesMax: SUMMARY_KEY_IDS_MAX,
    clock: ctx.clock,
    write: (records) => ctx.writer.append({ records }),
    onError: (err, records) => scope.log.error({ err, summaries: records.map((r) => ({ ip: r.origin.ip, data: r.data })) }, 'could not record auth.failed summaries'),
  });

  const recordFailure = async (request: FastifyRequest, address: string, code: ErrorCode, keyId: string | null): Promise<void> => {
    const route = request.routeOptions.url ?? null;
    const actor = keyId ?? 'anonymous';
    const decision = failures.note({ key: address, actor, ip: address, resource: keyId, counts: { reason: code, ...(route !== null && { route }) } });
    if (decision === 'counted') return;
    // The route's pattern, never the raw URL: a path or query may hold anything a client typed.
    await ctx.writer.append({
      records: [draft({ ...callerOf(request), actor }, 'auth.failed', null, 'failure', { method: request.method, route, keyId }, code)],
    });
  };

  scope.addHook('onRequest', async (request) => {
    const address = clientAddress(request.ip);
    const retryAfterS = limiter.retryAfterS(address, ctx.clock.now());
    if (retryAfterS > 0) {
      ctx.metrics.authFailure('too_many_auth_failures');
      await recordFailure(request, address, 'too_many_auth_failures', null);
      throw new PaylogError('too_many_auth_failures', { retryAfterS });
    }
    const result = await authenticate(ctx, request.headers.authorization);
    if (result.ok) {
      request.apiKey = result.key;
      return;
    }
    limiter.fail(address, ctx.clock.now());
    ctx.metrics.authFailure(result.code);
    await recordFailure(request, address, result.code, result.keyId);
    throw new PaylogError(result.code);
  });

  // After the server stopped accepting: the minute's counts so far, before the journal closes.
  scope.addHook('onClose', async () => failures.close());
}
