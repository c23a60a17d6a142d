import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../../app/context.js';
import { createPayment } from '../../../app/create-payment.js';
import { EVENTS_LIMIT_MAX, type EventPageOptions, getPayment, listPayments, paymentEvents } from '../../../app/read-payments.js';
import { validateIdempotencyKey } from '../../../app/validate-payment.js';
import { PaylogError } from '../../../core/errors.js';
import type { PaymentRequest } from '../../../core/payment.js';
import { callerOf } from '../caller.js';
import { CheckpointListSchema, ConsistencySchema, EventListSchema, EventPageQuery, JournalConsistencySchema, IdParams, ListQuery, PaymentListSchema, PaymentRequestBody, ProofSchema } from '../schemas.js';
import { consistency, latestCheckpoints, paymentProof } from '../../../app/proofs.js';
import { journalCheckpoint, journalConsistency } from '../../../app/journal-tree-proofs.js';
import { Type } from '@sinclair/typebox';
import { SubtreeHashes } from '../../../app/subtree-hashes.js';
import { KEYED, QUERY, errorResponses, paymentCreated, success, testCardExamples } from '../openapi-responses.js';

const paymentOrError = {
  201: paymentCreated('The payment succeeded (or the stored response of an earlier request with this Idempotency-Key).'),
  202: paymentCreated('The gateway has not answered for certain: the payment is processing and will be reconciled. Read it again later.'),
  ...errorResponses([
    ...KEYED, 'parameter_invalid', 'parameter_missing', 'parameter_unknown', 'body_invalid_json', 'idempotency_key_invalid',
    'body_too_large', 'unsupported_media_type', 'card_declined', 'incorrect_number', 'expired_card', 'incorrect_cvc',
    'processing_error', 'idempotency_key_in_use', 'idempotency_key_reused', 'gateway_unavailable', 'overloaded',
  ], { replayed: true }),
};
const readErrors = errorResponses([...KEYED, 'parameter_invalid', 'resource_missing']);
const listErrors = errorResponses([...KEYED, ...QUERY]);
const auditErrors = errorResponses([...KEYED, ...QUERY, 'resource_missing', 'overloaded']);
/** The journal tree's proofs name no resource: a size past the tree is a parameter_invalid. */
const journalProofErrors = errorResponses([...KEYED, ...QUERY, 'overloaded']);
const JSON_CONTENT_TYPE = /^application\/json\s*(;|$)/i;

export function registerPayments(scope: FastifyInstance, ctx: AppContext, rateLimitPerSecond: number): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const hashes = { streams: SubtreeHashes.ofStreams(ctx.store.journal), journalTrees: SubtreeHashes.ofJournalTrees(ctx.store.journalTree) };
  // With rate limiting off the plugin is not registered and this config is ignored.
  const config = { rateLimit: { max: Math.max(1, rateLimitPerSecond), timeWindow: 1000 } };
  // Routes that read the audit trail: each read is an audit.read record (see audit-reads.ts).
  const auditRead = { ...config, auditRead: true };

  app.post('/v1/payments', {
    config,
    schema: {
      operationId: 'createPayment', summary: 'Create a payment',
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' }, traceparent: { type: 'string' } } },
      // A fixed year, so the document is the same every year it is generated.
      body: { ...PaymentRequestBody, 'x-examples': testCardExamples(2034) },
      response: paymentOrError,
    },
    preParsing: async (request) => {
      if (!JSON_CONTENT_TYPE.test(request.headers['content-type'] ?? '')) throw new PaylogError('unsupported_media_type');
    },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (Array.isArray(key)) throw new PaylogError('idempotency_key_invalid', { param: 'Idempotency-Key' });
    if (key !== undefined) validateIdempotencyKey(key);
    const response = await createPayment(ctx, callerOf(request), request.body as PaymentRequest, key);
    // Declines and failures are answered here too (402, 503), not only the 201 and 202 the type provider sees.
    return (reply as FastifyReply).code(response.status).headers(response.headers).send(response.body);
  });

  app.get('/v1/payments', {
    config,
    schema: { operationId: 'listPayments', summary: 'List payments, newest first', querystring: ListQuery, response: { 200: success('A page of payments', PaymentListSchema), ...listErrors } },
  }, async (request) => {
    const { limit, startingAfter, status, merchantReference } = request.query;
    const parsedLimit = limit === undefined ? undefined : Number(limit);
    if (parsedLimit !== undefined && (parsedLimit < 1 || parsedLimit > 100)) {
      throw new PaylogError('parameter_invalid', { param: 'limit', message: '"limit" must be from 1 to 100.' });
    }
    return listPayments(ctx, request.apiKey?.merchantId ?? '', {
      ...(parsedLimit !== undefined && { limit: parsedLimit }),
      ...(startingAfter !== undefined && { startingAfter }),
      ...(status !== undefined && { status }),
      ...(merchantReference !== undefined && { merchantReference }),
    });
  });

  app.get('/v1/payments/:id', {
    config,
    schema: { operationId: 'getPayment', summary: 'Read a payment', params: IdParams, response: { 200: success('The payment', { $ref: 'Payment#' }), ...readErrors } },
  }, async (request) => getPayment(ctx, request.apiKey?.merchantId ?? '', request.params.id));

  app.get('/v1/payments/:id/events', {
    config: auditRead,
    schema: {
      operationId: 'listPaymentEvents', summary: "A payment's audit records, in order, with their hashes (paged)",
      params: IdParams, querystring: EventPageQuery, response: { 200: success('A page of the records', EventListSchema), ...auditErrors },
    },
  }, async (request) => paymentEvents(ctx, request.apiKey?.merchantId ?? '', request.params.id, eventPage(request.query)));

  app.get('/v1/payments/:id/proof', {
    config: auditRead,
    schema: {
      operationId: 'getPaymentProof', summary: "Inclusion proofs of a payment's audit records against signed checkpoints (a receipt to keep)",
      params: IdParams, querystring: EventPageQuery, response: { 200: success('A page of proofs', ProofSchema), ...auditErrors },
    },
  }, async (request) => paymentProof(ctx, hashes, request.apiKey?.merchantId ?? '', request.params.id, eventPage(request.query)));

  app.get('/v1/audit/streams/:stream/consistency', {
    config: auditRead,
    schema: {
      operationId: 'getStreamConsistency', summary: "RFC 6962 consistency proof between two sizes of a stream's tree (for witnesses)",
      params: Type.Object({ stream: Type.String({ pattern: '^str_[0-9a-z]{26}$' }) }),
      querystring: Type.Object({ from: Type.String({ pattern: '^[0-9]{1,15}$' }), to: Type.String({ pattern: '^[0-9]{1,15}$' }) }, { additionalProperties: false }),
      response: { 200: success('The proof', ConsistencySchema), ...auditErrors },
    },
  }, async (request) => consistency(ctx, hashes.streams, request.params.stream, Number(request.query.from), Number(request.query.to)));

  app.get('/v1/audit/checkpoints', {
    config: auditRead,
    schema: {
      operationId: 'listCheckpoints', summary: "The latest signed checkpoint of every journal stream, and the journal tree's with its cosignatures",
      response: { 200: success('The checkpoints', CheckpointListSchema), ...errorResponses([...KEYED, 'overloaded']) },
    },
  }, async () => ({ data: await latestCheckpoints(ctx), journal: await journalCheckpoint(ctx) }));

  app.get('/v1/audit/journal/consistency', {
    config: auditRead,
    schema: {
      operationId: 'getJournalConsistency', summary: "RFC 6962 consistency proof between two sizes of the journal tree (for witnesses)",
      querystring: Type.Object({ from: Type.String({ pattern: '^[0-9]{1,15}$' }), to: Type.String({ pattern: '^[0-9]{1,15}$' }) }, { additionalProperties: false }),
      response: { 200: success('The proof', JournalConsistencySchema), ...journalProofErrors },
    },
  }, async (request) => journalConsistency(ctx, hashes.journalTrees, Number(request.query.from), Number(request.query.to)));
}

/** The page a records query asks for; `limit` arrives as text (coercion is off) and is checked here. */
function eventPage(query: { limit?: string; startingAfter?: string }): EventPageOptions {
  const limit = query.limit === undefined ? undefined : Number(query.limit);
  if (limit !== undefined && (limit < 1 || limit > EVENTS_LIMIT_MAX)) {
    throw new PaylogError('parameter_invalid', { param: 'limit', message: `"limit" must be from 1 to ${EVENTS_LIMIT_MAX}.` });
  }
  return { ...(limit !== undefined && { limit }), ...(query.startingAfter !== undefined && { startingAfter: query.startingAfter }) };
}
