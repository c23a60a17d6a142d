import { StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';

/** A failed ConditionExpression: the callers turn it into what it means for their port. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/** An attribute in DynamoDB's low-level form; paylog's conditions only ever look at strings and numbers. */
export type RawAttribute = { S?: string; N?: string };

/**
 * The item a failed condition was checked against, when the write asked for it
 * (ReturnValuesOnConditionCheckFailure: ALL_OLD); null when there was none. The error holds
 * it in the low-level form, which the document client does not unmarshall; its string and
 * number attributes are read here, the rest left out.
 */
export function oldItemOf(err: unknown): Record<string, string | number> | null {
  return rawItemValues((err as { Item?: Record<string, RawAttribute> }).Item);
}

export function rawItemValues(item: Record<string, RawAttribute> | undefined): Record<string, string | number> | null {
  if (item === undefined) return null;
  const values: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (value.S !== undefined) values[name] = value.S;
    else if (value.N !== undefined) values[name] = Number(value.N);
  }
  return values;
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
