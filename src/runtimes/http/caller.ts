import type { FastifyRequest } from 'fastify';
import type { Caller } from '../../app/context.js';
import type { ApiKey } from '../../ports/key-store.js';
import { traceIdOf } from './trace.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: ApiKey | null;
  }
}

/** The audit actor and origin of a request; anonymous until its API key is known. */
export function callerOf(request: FastifyRequest): Caller {
  return {
    merchantId: request.apiKey?.merchantId ?? '',
    actor: request.apiKey?.id ?? 'anonymous',
    origin: { requestId: request.id, traceId: traceIdOf(request.headers.traceparent), ip: request.ip },
  };
}
