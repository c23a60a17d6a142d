import { TEST_CARDS, type TestCardBehaviour } from '../../compose/test-cards.js';
import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';

/**
 * Response objects of the OpenAPI document, in the form Fastify serializes by (a schema per
 * media type) and @fastify/swagger copies as they are: a description, the headers the route
 * sends, and for errors one example per code the route can answer (docs/api.md, "OpenAPI").
 */

type HeaderSchema = { type: 'string'; description: string; pattern?: string; enum?: string[] };

const REQUEST_ID: HeaderSchema = {
  type: 'string', pattern: '^req_', description: "This request's ID, also in every error body: quote it when asking about a request.",
};
const RETRY_AFTER: HeaderSchema = { type: 'string', pattern: '^[0-9]+$', description: 'Seconds to wait before retrying.' };
const IDEMPOTENT_REPLAYED: HeaderSchema = {
  type: 'string', enum: ['true'],
  description: 'Sent when this is the stored response of an earlier request with the same Idempotency-Key, replayed as it was.',
};
const LOCATION: HeaderSchema = { type: 'string', pattern: '^/v1/payments/', description: "The payment's URL." };

/** Codes every route behind an API key can answer. */
export const KEYED: readonly ErrorCode[] = [
  'api_key_missing', 'api_key_invalid', 'api_key_revoked', 'forbidden_role',
  'rate_limited', 'too_many_auth_failures', 'internal_error', 'store_unavailable',
];
/** Codes of a route that reads a query string. */
export const QUERY: readonly ErrorCode[] = ['parameter_invalid', 'parameter_unknown'];

const EXAMPLE_REQUEST_ID = 'req_01jdexample0000000000000000';

type Responses = Record<string, unknown>;

function json(schema: unknown, examples?: Record<string, { summary: string; value: unknown }>): unknown {
  return { 'application/json': { schema, ...(examples && { examples }) } };
}

/** A success response with a JSON body. */
export function success(description: string, schema: unknown, headers: Record<string, HeaderSchema> = {}): unknown {
  return { description, headers: { 'Request-Id': REQUEST_ID, ...headers }, content: json(schema) };
}

/** 201 and 202 of POST /v1/payments: the payment, with where to read it again. */
export function paymentCreated(description: string): unknown {
  return success(description, { $ref: 'Payment#' }, { Location: LOCATION, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED });
}

/**
 * The error responses for `codes`, one per HTTP status, each with an example of every code it
 * carries; statuses that ask the client to wait say so with Retry-After.
 */
export function errorResponses(codes: readonly ErrorCode[], extra: { replayed?: boolean } = {}): Responses {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Responses = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const waits = status === 429 || status === 503;
    responses[String(status)] = {
      description: list.map((code) => ERROR_CODES[code].message).join(' / '),
      headers: {
        'Request-Id': REQUEST_ID,
        ...(waits && { 'Retry-After': RETRY_AFTER }),
        ...(extra.replayed && { 'Idempotent-Replayed': IDEMPOTENT_REPLAYED }),
      },
      content: json({ $ref: 'Error#' }, Object.fromEntries(list.map((code) => [code, {
        summary: `${ERROR_CODES[code].type}: ${code}`,
        value: { error: { type: ERROR_CODES[code].type, code, message: ERROR_CODES[code].message, requestId: EXAMPLE_REQUEST_ID } },
      }]))),
    };
  }
  return responses;
}

/** What a test card does, in a few words (docs/api.md, "Test cards"). */
function behaviourOf(card: TestCardBehaviour): string {
  switch (card.kind) {
    case 'approve': return 'approved';
    case 'decline': return `declined: ${card.declineCode}`;
    case 'fail_once': return `gateway answers ${card.httpStatus} once, then approves`;
    case 'always_unavailable': return `gateway answers ${card.httpStatus} every time`;
    case 'answer_late': return 'charged, answered too late: processing, then reconciled';
    case 'never_answer': return 'charged, never answered: processing, then reconciled';
    case 'malformed': return 'charged, unreadable answer: processing, then reconciled';
  }
}

/** One request example per test card of the simulated gateway (`x-examples`: named examples of the media type). */
export function testCardExamples(expYear: number): Record<string, { summary: string; value: unknown }> {
  return Object.fromEntries([...TEST_CARDS].map(([number, card]) => [`card_${number}`, {
    summary: `${number}: ${behaviourOf(card)}`,
    value: {
      amount: 1099, currency: 'usd', merchantReference: 'order_1234',
      paymentMethod: { type: 'card', card: { number, expMonth: 12, expYear, cvc: number.length === 15 ? '1234' : '123' } },
    },
  }]));
}
