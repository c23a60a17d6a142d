// `paylog/client`: a typed client of the paylog API, generated from its OpenAPI document.
export { DEFAULT_TIMEOUT_MS, PaylogClient, type PaylogClientOptions, type RequestOptions } from './client.js';
export {
  type AnyPaylogApiError, type ErrorBody, type ErrorCode, type ErrorCodeOf, type ErrorType, PaylogApiError, PaylogAuthenticationError,
  PaylogCardError, PaylogConnectionError, PaylogError, PaylogIdempotencyError, PaylogInvalidRequestError, PaylogRateLimitError,
  PaylogServerError, PaylogUnexpectedResponseError, isPaylogApiError,
} from './errors.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export type { components, operations, paths } from './schema.js';
export type * from './types.js';
