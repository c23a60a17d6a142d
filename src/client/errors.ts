import type { components, errorCodes } from './schema.js';

/** The body of every error answer of the API (the document's `Error` schema). */
export type ErrorBody = components['schemas']['Error']['error'];
/** The broad class of an error, from the document's `Error` schema. */
export type ErrorType = ErrorBody['type'];
/** The exact reasons an error of type `T` can carry, as the document's examples name them. */
export type ErrorCodeOf<T extends ErrorType> = errorCodes[T];
/** Every error code. */
export type ErrorCode = ErrorCodeOf<ErrorType>;

// Fails to compile when the document gains an error type without an example of its codes.
type _EveryTypeHasCodes = [Exclude<ErrorType, keyof errorCodes>] extends [never] ? true : never;
const _everyTypeHasCodes: _EveryTypeHasCodes = true;

/** What every error the client throws carries. */
export class PaylogError extends Error {
  /** The `Request-Id` of the answer (quote it when asking about a request); null when none came. */
  readonly requestId: string | null;
  /** Requests sent for the call, the first included. */
  attempts = 1;
  /** The Idempotency-Key every attempt of a POST was sent under: send the same request with it to get its outcome. */
  idempotencyKey: string | undefined;

  constructor(message: string, requestId: string | null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.requestId = requestId;
  }
}

/** No answer came: the connection was refused, dropped, or timed out. The request may or may not have been processed. */
export class PaylogConnectionError extends PaylogError {
  constructor(method: string, path: string, cause: unknown) {
    // The path and method only: a request's body and headers never go into an error.
    super(`${method} ${path}: no answer from the paylog API (${cause instanceof Error ? cause.message : 'connection failed'})`, null, { cause });
  }
}

/** What an answer's headers say about retrying it. */
export interface AnswerFacts {
  status: number;
  requestId: string | null;
  /** `Retry-After`, in milliseconds; null when absent or not a number of seconds. */
  retryAfterMs: number | null;
  /** `Idempotent-Replayed: true`: the stored answer of an earlier request with the same Idempotency-Key. */
  idempotentReplayed: boolean;
}

/** An error answer whose body is not the API's error body (a proxy's page, the HTTP layer's bare 400). */
export class PaylogUnexpectedResponseError extends PaylogError {
  readonly status: number;
  readonly retryAfterMs: number | null;
  readonly idempotentReplayed: boolean;

  constructor(facts: AnswerFacts) {
    super(`the paylog API answered ${facts.status} without an error body`, facts.requestId);
    this.status = facts.status;
    this.retryAfterMs = facts.retryAfterMs;
    this.idempotentReplayed = facts.idempotentReplayed;
  }
}

/** An error answer of the API, typed by its `type` and `code` (docs/errors.md). */
export class PaylogApiError<T extends ErrorType = ErrorType> extends PaylogError {
  declare readonly requestId: string;
  readonly status: number;
  readonly type: T;
  readonly code: ErrorCodeOf<T>;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;
  /** The payment the request created (a decline, a gateway failure): its outcome is stored under the Idempotency-Key. */
  readonly payment: components['schemas']['Payment'] | undefined;
  readonly retryAfterMs: number | null;
  readonly idempotentReplayed: boolean;

  constructor(facts: AnswerFacts, body: ErrorBody & { type: T }) {
    super(body.message, facts.requestId ?? body.requestId);
    this.status = facts.status;
    this.type = body.type;
    this.code = body.code as ErrorCodeOf<T>;
    this.param = body.param;
    this.declineCode = body.declineCode;
    this.payment = body.payment;
    this.retryAfterMs = facts.retryAfterMs;
    this.idempotentReplayed = facts.idempotentReplayed;
  }
}

/** 400, 404, 405, 413, 415: the request is wrong; `param` names the culprit. */
export class PaylogInvalidRequestError extends PaylogApiError<'invalid_request_error'> {}
/** 401, 403: the API key is missing, wrong, revoked, or of a role this route refuses. */
export class PaylogAuthenticationError extends PaylogApiError<'authentication_error'> {}
/** 402: the card was declined (`declineCode` says why); `payment` is the declined payment. */
export class PaylogCardError extends PaylogApiError<'card_error'> {}
/** 409, 422: the Idempotency-Key is in use by a running request, or was used with another body. */
export class PaylogIdempotencyError extends PaylogApiError<'idempotency_error'> {}
/** 429: too many requests; `retryAfterMs` says when to try again. */
export class PaylogRateLimitError extends PaylogApiError<'rate_limit_error'> {}
/** 500, 503: paylog or its gateway or store failed. */
export class PaylogServerError extends PaylogApiError<'api_error'> {}

/** One class per error type: a type the document gains without a class here fails to compile. */
const ERROR_CLASSES: { [T in ErrorType]: new (facts: AnswerFacts, body: ErrorBody & { type: T }) => PaylogApiError<T> } = {
  invalid_request_error: PaylogInvalidRequestError,
  authentication_error: PaylogAuthenticationError,
  card_error: PaylogCardError,
  idempotency_error: PaylogIdempotencyError,
  rate_limit_error: PaylogRateLimitError,
  api_error: PaylogServerError,
};

/** Any API error, as a union discriminated by `type` (narrowing `type` narrows `code`). */
export type AnyPaylogApiError = { [T in ErrorType]: PaylogApiError<T> }[ErrorType];

export function isPaylogApiError(error: unknown): error is AnyPaylogApiError {
  return error instanceof PaylogApiError;
}

function isErrorBody(body: unknown): body is { error: ErrorBody } {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return false;
  const { type, code, message } = error as Record<string, unknown>;
  return typeof type === 'string' && Object.hasOwn(ERROR_CLASSES, type) && typeof code === 'string' && typeof message === 'string';
}

/** The typed error for an error answer. */
export function errorFromAnswer(facts: AnswerFacts, body: unknown): AnyPaylogApiError | PaylogUnexpectedResponseError {
  if (!isErrorBody(body)) return new PaylogUnexpectedResponseError(facts);
  const ErrorClass = ERROR_CLASSES[body.error.type] as new (facts: AnswerFacts, body: ErrorBody) => AnyPaylogApiError;
  return new ErrorClass(facts, body.error);
}
