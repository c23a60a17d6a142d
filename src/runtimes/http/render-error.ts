import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PaylogError } from '../../core/errors.js';
import { redactCardNumbers } from '../../core/redact.js';

/**
 * Sends SPEC §1's error body for a PaylogError. The error response's redaction point: whatever
 * a message or param quotes from the request, anything in it that could be a card number is
 * masked.
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: PaylogError): FastifyReply {
  const error: Record<string, unknown> = { type: err.type, code: err.code, message: redactCardNumbers(err.message), requestId: request.id };
  if (err.declineCode !== undefined) error.declineCode = err.declineCode;
  if (err.param !== undefined) error.param = redactCardNumbers(err.param);
  if (err.payment !== undefined) error.payment = err.payment;
  if (err.retryAfterS !== undefined) reply.header('Retry-After', String(err.retryAfterS));
  else if (err.status === 503) reply.header('Retry-After', '5');
  return reply.code(err.status).send({ error });
}
