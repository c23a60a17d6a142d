import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** OpenAPI 3 document at /openapi.json, generated from the route schemas, and its UI at /docs. */
export async function registerDocs(app: FastifyInstance, ui: boolean): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'paylog', version: '1', description: 'Payments with a tamper-evident audit journal.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A secret key from `paylog keys create`.' } } },
      security: [{ bearer: [] }],
    },
  });
  if (ui) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
