/**
 * Every error paylog answers with: a stable code, its type and HTTP status.
 * docs/errors.md lists the same table; a test keeps the two in sync.
 */
export const ERROR_TYPES = [
  'invalid_request_error', 'authentication_error', 'card_error',
  'idempotency_error', 'rate_limit_error', 'api_error',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

interface ErrorSpec {
  type: ErrorType;
  status: number;
  message: string;
}

export const ERROR_CODES = {
  parameter_invalid: { type: 'invalid_request_error', status: 400, message: 'A parameter has an invalid value.' },
  parameter_missing: { type: 'invalid_request_error', status: 400, message: 'A required parameter is missing.' },
  parameter_unknown: { type: 'invalid_request_error', status: 400, message: 'The request has a parameter this API does not accept.' },
  body_invalid_json: { type: 'invalid_request_error', status: 400, message: 'The request body is not valid JSON.' },
  idempotency_key_invalid: { type: 'invalid_request_error', status: 400, message: 'Idempotency-Key must be 1 to 255 printable ASCII characters.' },
  resource_missing: { type: 'invalid_request_error', status: 404, message: 'No such resource.' },
  method_not_allowed: { type: 'invalid_request_error', status: 405, message: 'This method is not allowed on this route.' },
  body_too_large: { type: 'invalid_request_error', status: 413, message: 'The request body is larger than 16 KiB.' },
  unsupported_media_type: { type: 'invalid_request_error', status: 415, message: 'The request body must be sent as application/json.' },
  api_key_missing: { type: 'authentication_error', status: 401, message: 'No API key provided. Send Authorization: Bearer <secret key>.' },
  api_key_invalid: { type: 'authentication_error', status: 401, message: 'The API key provided is not valid.' },
  api_key_revoked: { type: 'authentication_error', status: 401, message: 'The API key provided has been revoked.' },
  forbidden_role: { type: 'authentication_error', status: 403, message: "This API key's role may not use this route." },
  card_declined: { type: 'card_error', status: 402, message: 'The card was declined.' },
  incorrect_number: { type: 'card_error', status: 402, message: 'The card number is incorrect.' },
  expired_card: { type: 'card_error', status: 402, message: 'The card has expired.' },
  incorrect_cvc: { type: 'card_error', status: 402, message: "The card's security code is incorrect." },
  processing_error: { type: 'card_error', status: 402, message: 'An error occurred while processing the card.' },
  idempotency_key_in_use: { type: 'idempotency_error', status: 409, message: 'A request with this Idempotency-Key is still being processed. Retry after it finishes.' },
  idempotency_key_reused: { type: 'idempotency_error', status: 422, message: 'This Idempotency-Key was already used with a different request body.' },
  rate_limited: { type: 'rate_limit_error', status: 429, message: 'Too many requests for this API key. Retry after the time in Retry-After.' },
  too_many_auth_failures: { type: 'rate_limit_error', status: 429, message: 'Too many failed authentications from this address. Retry after the time in Retry-After.' },
  gateway_unavailable: { type: 'api_error', status: 503, message: 'The card gateway is unavailable. The card was not charged; retry later.' },
  store_unavailable: { type: 'api_error', status: 503, message: 'The journal store is unavailable. Nothing was recorded or charged; retry later.' },
  overloaded: { type: 'api_error', status: 503, message: 'The service is at capacity. Retry later.' },
  internal_error: { type: 'api_error', status: 500, message: 'An internal error occurred.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Card failure codes a decline can carry (a subset of the error codes). */
export type CardErrorCode = 'card_declined' | 'incorrect_number' | 'expired_card' | 'incorrect_cvc' | 'processing_error';

export interface PaylogErrorOptions {
  message?: string;
  param?: string;
  declineCode?: string;
  payment?: unknown;
  retryAfterS?: number;
  cause?: unknown;
}

/** An error with a stable code; the HTTP runtime renders it as SPEC §1's error body. */
export class PaylogError extends Error {
  readonly code: ErrorCode;
  readonly type: ErrorType;
  readonly status: number;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;
  readonly payment: unknown;
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, options: PaylogErrorOptions = {}) {
    const spec: ErrorSpec = ERROR_CODES[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PaylogError';
    this.code = code;
    this.type = spec.type;
    this.status = spec.status;
    this.param = options.param;
    this.declineCode = options.declineCode;
    this.payment = options.payment;
    this.retryAfterS = options.retryAfterS;
  }
}

export function isPaylogError(err: unknown): err is PaylogError {
  return err instanceof PaylogError;
}
