import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.js';
import { success } from '../openapi-responses.js';

const Status = Type.Object({ status: Type.String() });

export function registerHealth(app: FastifyInstance, ctx: AppContext): void {
  // Without a key: load balancers and orchestrators probe them.
  app.get('/healthz', {
    schema: { operationId: 'getHealth', summary: 'Liveness: the process answers', security: [], response: { 200: success('Alive', Status) } },
  }, async () => ({ status: 'ok' }));
  app.get('/readyz', {
    schema: {
      operationId: 'getReadiness', summary: 'Readiness: the store answers', security: [],
      response: { 200: success('Ready', Status), 503: success('The store does not answer', Status) },
    },
  }, async (request, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return reply.code(503).send({ status: 'store_unavailable' });
    }
  });
}
