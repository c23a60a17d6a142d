import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Cancellation reasons of a transaction that say nothing about its contents, only that it
 * met another transaction or a throughput limit: trying it again may well succeed.
 */
const TRANSIENT_REASONS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);
const THROTTLING_REASONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

interface CancellationReason {
  Code?: string;
}

/**
 * How the SDK should treat a failed call: null when its own classification stands, else
 * whether to retry it as throttling (longer backoff) or as a transient failure.
 *
 * - A TransactionCanceledException whose reasons are all None or transient (a conflict with
 *   another transaction, throttling) changed nothing and may be retried. One with any other
 *   reason (ConditionalCheckFailed, ValidationError…) would fail again: never retried.
 * - A single-item write that met a transaction in progress on its item
 *   (TransactionConflictException) changed nothing either.
 */
export function retryClassOf(err: unknown): 'throttling' | 'transient' | null {
  if (!(err instanceof Error)) return null;
  if (err.name === 'TransactionConflictException') return 'transient';
  if (err.name !== 'TransactionCanceledException') return null;
  const codes = ((err as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [])
    .map((r) => r.Code ?? 'None').filter((code) => code !== 'None');
  if (codes.length === 0 || !codes.every((code) => TRANSIENT_REASONS.has(code))) return null;
  return codes.some((code) => THROTTLING_REASONS.has(code)) ? 'throttling' : 'transient';
}

/**
 * Marks transient transaction cancellations retryable (the `$retryable` trait), so the SDK's
 * own retry strategy retries them with its backoff, attempt limit and retry quota: no second,
 * hand-written retry loop. It sits inside the retry middleware, around deserialization, and
 * a retried TransactWriteItems carries the same ClientRequestToken, so DynamoDB applies it
 * at most once.
 */
export function retryTransientCancellations(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const kind = retryClassOf(err);
        if (kind !== null) (err as { $retryable?: { throttling?: boolean } }).$retryable = { throttling: kind === 'throttling' };
        throw err;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'paylogRetryTransientCancellations', override: true },
  );
}
