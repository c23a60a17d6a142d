/**
 * Why one DynamoDB call failed, reduced to what an operator can act on. Only the error's
 * name or code is kept: SDK messages can quote account IDs, ARNs, keys or expressions.
 */
export interface CallFailure {
  kind:
    /** No table of that name (in this region, at this endpoint). */
    | 'missing'
    /** Nothing answered: refused, unresolvable, reset, timed out. */
    | 'unreachable'
    /** Something answered, but not DynamoDB (an HTML page, a 404). */
    | 'not_dynamodb'
    /** DynamoDB refused the credentials themselves (unknown key, bad signature, expired token). */
    | 'credentials'
    /** The SDK found no credentials to sign with. */
    | 'no_credentials'
    /** The credentials are valid but their policy does not allow the action. */
    | 'denied'
    /** The endpoint does not implement the action (TTL on some emulators). */
    | 'unsupported'
    | 'other';
  /** The IAM action, e.g. `dynamodb:DescribeTable`. */
  action: string;
  /** The error's name or code: AccessDeniedException, ECONNREFUSED, HTTP 404… */
  code: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'ECONNABORTED', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const CREDENTIAL_NAMES = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'ExpiredToken',
  'InvalidClientTokenId', 'MissingAuthenticationToken', 'MissingAuthenticationTokenException',
  'IncompleteSignature', 'IncompleteSignatureException', 'SignatureDoesNotMatch',
]);
const DENIED_NAMES = new Set(['AccessDeniedException', 'AccessDenied']);

export function classifyFailure(action: string, err: unknown): CallFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : name;
  const iam = `dynamodb:${action}`;
  if (name === 'ResourceNotFoundException') return { kind: 'missing', action: iam, code: name };
  if (NETWORK_CODES.has(code) || NETWORK_NAMES.has(name)) return { kind: 'unreachable', action: iam, code };
  if (CREDENTIAL_NAMES.has(name)) return { kind: 'credentials', action: iam, code: name };
  if (name === 'CredentialsProviderError') return { kind: 'no_credentials', action: iam, code: name };
  if (DENIED_NAMES.has(name)) return { kind: 'denied', action: iam, code: name };
  if (name === 'UnknownOperationException') return { kind: 'unsupported', action: iam, code: name };
  // An answer the SDK could not read as DynamoDB's: unparsable JSON, or an error without a DynamoDB type.
  const status = e.$metadata?.httpStatusCode;
  if (name === 'SyntaxError') return { kind: 'not_dynamodb', action: iam, code: status === undefined ? 'not JSON' : `HTTP ${status}, not JSON` };
  if ((name === 'Unknown' || name === 'UnknownError') && status !== undefined) return { kind: 'not_dynamodb', action: iam, code: `HTTP ${status}` };
  return { kind: 'other', action: iam, code };
}

/** Failures that say nothing about one table but about the endpoint or the credentials as a whole. */
export function isEndpointFailure(failure: CallFailure): boolean {
  return failure.kind === 'unreachable' || failure.kind === 'not_dynamodb' || failure.kind === 'credentials' || failure.kind === 'no_credentials';
}
