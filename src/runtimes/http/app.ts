import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../app/context.js';
import { AUTH_FAILURES_PER_MINUTE_DEFAULT } from '../../config/config.js';
import { draft } from '../../app/records.js';
import { PaylogError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { containsCardNumber, redactUrlPath } from '../../core/redact.js';
import { callerOf } from './caller.js';
import { toPaylogError } from './error-mapping.js';
import { registerAuth } from './auth.js';
import { registerAuditReads } from './audit-reads.js';
import { registerRoleCheck } from './roles.js';
import { InFlight } from './in-flight.js';
import { registerHttpMetrics } from './http-metrics.js';
import { clientErrorHandler, redactingLogger } from './log-redaction.js';
import { sendError } from './render-error.js';
import { type DocsMode, registerDocs } from './routes/docs.js';
import { registerHealth } from './routes/health.js';
import { registerPayments } from './routes/payments.js';
import { registerPaymentStats } from './routes/payment-stats.js';
import { registerConsole } from './routes/console.js';
import { ErrorSchema, PaymentSchema } from './schemas.js';

/** SPEC §1: request bodies are at most 16 KiB. */
export const BODY_LIMIT_BYTES = 16 * 1024;
/** Statuses whose requests are recorded as request.rejected. */
const REJECTED_STATUSES = new Set([400, 413, 415]);

export interface HttpAppOptions {
  ctx: AppContext;
  /** Requests per second per API key; 0 turns the limit off. */
  rateLimitPerSecond: number;
  /** Failed authentications per client address per minute before it gets 429 (default PAYLOG_AUTH_FAILURES_PER_MINUTE's); 0 turns the limit off. */
  authFailuresPerMinute?: number;
  logger: FastifyServerOptions['logger'];
  /** Behind API Gateway: the request ID comes from this header (set from requestContext.requestId). */
  requestIdHeader?: string;
  /** How /openapi.json is served; default live, with its UI at /docs. */
  docs?: DocsMode;
}

/** Builds the HTTP API without listening: the server, the Lambda handler and tests all use it. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const { ctx } = options;
  const app = Fastify({
    // Every log line passes one redaction point; no query string, raw path or raw packet is logged.
    logger: redactingLogger(options.logger),
    clientErrorHandler,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: (req) => {
      const upstream = options.requestIdHeader === undefined ? undefined : req.headers[options.requestIdHeader];
      // The request ID is echoed and recorded: one that could hold a card number is replaced.
      return typeof upstream === 'string' && /^[A-Za-z0-9+/=_-]{1,128}$/.test(upstream) && !containsCardNumber(upstream)
        ? `req_${upstream}` : newId('req', ctx.clock.now(), ctx.random.bytes(16));
    },
    // Fastify's own answers to a malformed URL echo the path; ours echo it masked.
    frameworkErrors: (error, request, reply) => sendError(request, reply, error.code === 'FST_ERR_BAD_URL'
      ? new PaylogError('parameter_invalid', { message: `The URL is not valid (${request.method}: ${redactUrlPath(request.url)}).` })
      : new PaylogError('resource_missing', { message: `Unrecognized request URL (${request.method}: ${redactUrlPath(request.url)}).` })),
    // Log lines carry the request ID as correlation_id (the field CloudWatch users search by).
    logController: new LogController({ requestIdLogLabel: 'correlation_id' }),
    // Fastify's defaults strip unknown fields and coerce "10" to 10; the contract is to reject both.
    // `x-examples` only annotates the OpenAPI document (named request examples); validation ignores it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, keywords: ['x-examples'] } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('apiKey', null);
  const inFlight = new InFlight();
  app.decorate('inFlight', inFlight);
  app.addSchema(PaymentSchema);
  app.addSchema(ErrorSchema);

  // Only JSON bodies: without a text/plain parser such bodies are a 415, not a confusing 400.
  app.removeContentTypeParser(['text/plain']);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
  });
  registerHttpMetrics(app, ctx.metrics);

  app.setErrorHandler(async (err, request, reply) => {
    const error = toPaylogError(err);
    if (error.status >= 500) request.log.error({ err: error.cause ?? err, code: error.code }, 'request failed');
    if (REJECTED_STATUSES.has(error.status) && request.apiKey) {
      const record = draft(callerOf(request), 'request.rejected', null, 'failure', {
        method: request.method, route: request.routeOptions.url ?? null, status: error.status, code: error.code, param: error.param ?? null,
      }, error.code);
      await ctx.writer.append({ records: [record] }).catch((appendErr: unknown) => request.log.error({ err: appendErr }, 'could not record rejected request'));
    }
    return sendError(request, reply, error);
  });

  app.setNotFoundHandler(async (request, reply) =>
    sendError(request, reply, new PaylogError('resource_missing', { message: `Unrecognized request URL (${request.method}: ${redactUrlPath(request.url)}).` })),
  );

  if (options.rateLimitPerSecond > 0) {
    await app.register(rateLimit, {
      global: false,
      hook: 'preParsing',
      max: options.rateLimitPerSecond,
      timeWindow: 1000,
      keyGenerator: (request) => request.apiKey?.id ?? request.ip,
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      errorResponseBuilder: (_request, context) => {
        ctx.metrics.rateLimited();
        return new PaylogError('rate_limited', { retryAfterS: Math.max(1, Math.ceil(context.ttl / 1000)) });
      },
    });
  }

  await registerDocs(app, options.docs ?? { kind: 'live' });
  registerHealth(app, ctx);
  registerConsole(app);
  await app.register(async (v1) => {
    // First, so that recording an audit read runs inside the handler InFlight tracks.
    registerAuditReads(v1, ctx);
    // The API's handlers (all async) are counted while they run (see InFlight).
    v1.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function tracked(this: FastifyInstance, request, reply) {
        return inFlight.track(async () => handler.call(this, request, reply));
      };
    });
    registerAuth(v1, ctx, { failuresPerMinute: options.authFailuresPerMinute ?? AUTH_FAILURES_PER_MINUTE_DEFAULT });
    registerRoleCheck(v1, ctx);
    registerPayments(v1, ctx, options.rateLimitPerSecond);
    registerPaymentStats(v1, ctx, options.rateLimitPerSecond);
  });
  return app;
}
