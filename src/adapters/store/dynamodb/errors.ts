import { StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';

/** A failed ConditionExpression: the callers turn it into what it means for their port. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * Turns an SDK or network error into a port error at the adapter edge. The message names the
 * error only (ResourceNotFoundException, ThrottlingException, ECONNREFUSED, TimeoutError…):
 * SDK messages can quote table names, keys or expressions, which must never reach a response.
 */
export function translateError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || err instanceof StreamConflictError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const what = typeof code === 'string' && code !== '' ? code : err.name;
    return new StoreUnavailableError(`DynamoDB store failed (${what})`, { cause: err });
  }
  return new StoreUnavailableError('DynamoDB store failed', { cause: err });
}
