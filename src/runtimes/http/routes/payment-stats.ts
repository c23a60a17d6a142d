import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../../app/context.js';
import { paymentStats } from '../../../app/payment-stats.js';
import { KEYED, QUERY, errorResponses, success } from '../openapi-responses.js';

const Counts = { succeeded: Type.Integer(), declined: Type.Integer(), failed: Type.Integer(), processing: Type.Integer() };
const PaymentStatsSchema = Type.Object({
  window: Type.Literal('1h'),
  from: Type.String({ description: 'start of the oldest minute (inclusive)' }),
  to: Type.String({ description: 'end of the newest minute (exclusive); the newest minute is the current one' }),
  minutes: Type.Array(Type.Object({ minute: Type.String(), ...Counts })),
  total: Type.Object(Counts),
  truncated: Type.Boolean({ description: 'more than 10,000 payments in the window: the oldest were not counted' }),
});

/** GET /v1/payments/stats: the merchant's payments per minute by status over the last hour (the console's chart). */
export function registerPaymentStats(scope: FastifyInstance, ctx: AppContext, rateLimitPerSecond: number): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const config = { rateLimit: { max: Math.max(1, rateLimitPerSecond), timeWindow: 1000 } };
  app.get('/v1/payments/stats', {
    config,
    schema: {
      operationId: 'getPaymentStats', summary: 'Payments per minute by status over the last hour',
      querystring: Type.Object({ window: Type.Optional(Type.Literal('1h')) }, { additionalProperties: false }),
      response: { 200: success('The counts', PaymentStatsSchema), ...errorResponses([...KEYED, ...QUERY]) },
    },
  }, async (request) => paymentStats(ctx, request.apiKey?.merchantId ?? ''));
}
