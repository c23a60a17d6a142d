import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.js';

const Status = Type.Object({ status: Type.String() });

export function registerHealth(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { hide: true, response: { 200: Status } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true, response: { 200: Status, 503: Status } } }, async (request, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ready' };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return reply.code(503).send({ status: 'store_unavailable' });
    }
  });
}
