import type { FastifyInstance } from 'fastify';
import { authenticate } from '../../app/api-keys.js';
import type { AppContext } from '../../app/context.js';
import { draft } from '../../app/records.js';
import { PaylogError } from '../../core/errors.js';
import { callerOf } from './caller.js';

/**
 * Every route of this scope needs a valid API key. Runs first in the request lifecycle,
 * so an unauthenticated request is refused before its body is read. Each refusal is an
 * `auth.failed` record (PCI DSS 10.2.1.4), made durable before the 401 is sent.
 */
export function registerAuth(scope: FastifyInstance, ctx: AppContext): void {
  scope.addHook('onRequest', async (request) => {
    const result = await authenticate(ctx, request.headers.authorization);
    if (result.ok) {
      request.apiKey = result.key;
      return;
    }
    const caller = callerOf(request);
    await ctx.writer.append({
      records: [draft({ ...caller, actor: result.keyId ?? 'anonymous' }, 'auth.failed', null, 'failure', {
        method: request.method, path: request.url.split('?')[0] ?? '', keyId: result.keyId,
      }, result.code)],
    });
    throw new PaylogError(result.code);
  });
}
