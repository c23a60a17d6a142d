import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

export type DocsMode =
  /** Generate the OpenAPI document from the route schemas, and serve its UI at /docs. */
  | { kind: 'live' }
  /**
   * Serve a document generated at build time (the Lambda bundle): @fastify/swagger and its
   * YAML dependency stay out of the cold start, and there is no UI.
   */
  | { kind: 'prebuilt'; file: URL };

/** The OpenAPI 3 document at /openapi.json, and its UI at /docs when live. */
export async function registerDocs(app: FastifyInstance, mode: DocsMode): Promise<void> {
  if (mode.kind === 'prebuilt') {
    let document: unknown = null;
    app.get('/openapi.json', { schema: { hide: true } }, async () => {
      document ??= JSON.parse(readFileSync(mode.file, 'utf8'));
      return document;
    });
    return;
  }
  const { default: swagger } = await import('@fastify/swagger');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'paylog', version: '1', description: 'Payments with a tamper-evident audit journal.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Relative: the server that serves this document (see docs/api.md).
      servers: [{ url: '/', description: 'the paylog server serving this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A secret key from `paylog keys create`.' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their $id ("Payment", "Error") as their name: generated clients name their types after it.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  const { default: swaggerUi } = await import('@fastify/swagger-ui');
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
