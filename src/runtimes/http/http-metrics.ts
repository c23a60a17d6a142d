import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../ports/metrics.js';

/** The `route` of requests no route matched (404s): never the raw URL, which a client chooses. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Observes every answered request's duration by method, route pattern and status
 * (`paylog_http_request_duration_seconds`). On the root instance, so it covers every route,
 * the not-found handler and requests refused by a hook (401, 429).
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // routeOptions.url is the pattern (/v1/payments/:id); it is undefined when no route matched.
    metrics.httpRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime);
  });
}
