import {
  type CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand,
  type PutLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { type AuditRecord, recordLine } from '../../core/audit-record.js';
import { type SignedHead, headLine } from '../../core/signed-head.js';
import type { AuditMirror } from '../../ports/audit-mirror.js';
import { type LogEvent, planBatches } from './cloudwatch-batches.js';
import { redactJsonText } from '../../core/redact.js';

export interface CloudWatchLogsMirrorOptions {
  client: CloudWatchLogsClient;
  logGroup: string;
  logStream: string;
  /** Events waiting to be sent; when full, the oldest are dropped (and reported). Default 100,000. */
  queueEventsMax?: number;
  /** Dropped, rejected or unsendable events, as CloudWatchMirrorError. Default: one line on stderr. Never throws into the mirror. */
  onError?: (err: unknown) => void;
  /** Timestamps of records whose ts does not parse. Default Date.now. */
  clock?: () => number;
  /** How long the background loop lets records gather before sending. Default 200 ms. flush() does not wait. */
  lingerMs?: number;
  /** Attempts per request (the first included), and the backoff ceiling's base and cap (full jitter, doubling). */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** One request may take this long before it is aborted (and retried). Default 10 s. */
  requestTimeoutMs?: number;
  /** For the jitter. Default Math.random. */
  random?: () => number;
}

export interface CloudWatchMirrorStats {
  /** Events waiting to be sent (not counting a batch in flight). */
  queued: number;
  /** Events CloudWatch Logs accepted. */
  sent: number;
  /** Oldest events pushed out of a full queue, or published after close. */
  dropped: number;
  /** Events given up on: retries exhausted, a non-retryable error, rejected or oversized. */
  failed: number;
  /** PutLogEvents requests made, retries included. */
  requests: number;
}

export interface CloudWatchLogsMirror extends AuditMirror {
  stats(): CloudWatchMirrorStats;
}

export type CloudWatchMirrorErrorKind = 'dropped' | 'send_failed' | 'rejected' | 'oversized' | 'closed';

/** What onError receives: what happened and to how many events. */
export class CloudWatchMirrorError extends Error {
  constructor(readonly kind: CloudWatchMirrorErrorKind, readonly events: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CloudWatchMirrorError';
  }
}

export const DEFAULT_QUEUE_EVENTS_MAX = 100_000;
export const DEFAULT_LINGER_MS = 200;
export const DEFAULT_RETRY = Object.freeze({ attempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 });
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded',
  'ServiceUnavailableException', 'ServiceUnavailable', 'InternalFailure', 'InternalServerError',
  'InternalServerException', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'AbortError',
]);

/**
 * Worth another try: throttling, a 5xx, or no HTTP answer at all (refused, reset, DNS,
 * aborted by the request timeout). A 4xx other than throttling will not get better.
 */
export function isRetryableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return true;
}

const nameOf = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string' ? (err as { name: string }).name : undefined;

/**
 * Mirrors audit records to a CloudWatch Logs stream with PutLogEvents, one event per record
 * (the record's JSON line, timestamped with its ts). publish() only queues; a background loop
 * sends, one request at a time, so events reach the stream in order. Nothing it schedules
 * keeps the process alive (timers are unref'd) except while someone awaits flush() or close().
 * For the server runtimes; Lambda uses the stdout mirror, which a frozen environment cannot lose.
 */
export function createCloudWatchLogsMirror(options: CloudWatchLogsMirrorOptions): CloudWatchLogsMirror {
  const { client, logGroup, logStream } = options;
  const queueMax = Math.max(1, options.queueEventsMax ?? DEFAULT_QUEUE_EVENTS_MAX);
  const clock = options.clock ?? Date.now;
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  const attempts = Math.max(1, options.retry?.attempts ?? DEFAULT_RETRY.attempts);
  const baseDelayMs = options.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const maxDelayMs = options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const random = options.random ?? Math.random;
  const onError = options.onError ?? reportToStderr;

  let queue: LogEvent[] = [];
  let head = 0;
  const stats = { sent: 0, dropped: 0, failed: 0, requests: 0 };
  let unreportedDrops = 0;
  let running: Promise<void> | null = null;
  let linger: NodeJS.Timeout | null = null;
  let backoff: NodeJS.Timeout | null = null;
  /** flush() calls waiting: while there are any, timers hold the process open and nothing lingers. */
  let flushing = 0;
  let closed = false;

  const queued = (): number => queue.length - head;

  const report = (err: CloudWatchMirrorError): void => {
    try {
      onError(err);
    } catch {
      // A reporter that throws must not stop the mirror.
    }
  };

  const reportDrops = (): void => {
    if (unreportedDrops === 0) return;
    const n = unreportedDrops;
    unreportedDrops = 0;
    report(new CloudWatchMirrorError('dropped', n, `queue full (${queueMax} events): dropped the ${n} oldest, ${stats.dropped} in total`));
  };

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    backoff = setTimeout(() => {
      backoff = null;
      resolve();
    }, ms);
    if (flushing === 0) backoff.unref();
  });

  const delayFor = (attempt: number): number => Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));

  const sendOptions = (): { abortSignal: AbortSignal } => ({ abortSignal: AbortSignal.timeout(requestTimeoutMs) });

  async function createStream(): Promise<void> {
    try {
      await client.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: logStream }), sendOptions());
    } catch (err) {
      if (nameOf(err) !== 'ResourceAlreadyExistsException') throw err;
    }
  }

  function noteRejected(batch: readonly LogEvent[], out: PutLogEventsCommandOutput): number {
    const info = out.rejectedLogEventsInfo;
    if (!info) return 0;
    // tooNew: index of the first event too new (the rest are too); tooOld/expired: the last too old.
    let rejected = 0;
    const tooOldEnd = Math.max(info.tooOldLogEventEndIndex ?? -1, info.expiredLogEventEndIndex ?? -1);
    if (tooOldEnd >= 0) rejected += tooOldEnd + 1;
    if (info.tooNewLogEventStartIndex !== undefined) rejected += batch.length - info.tooNewLogEventStartIndex;
    rejected = Math.min(rejected, batch.length);
    if (rejected > 0) {
      report(new CloudWatchMirrorError('rejected', rejected, `CloudWatch Logs rejected ${rejected} of ${batch.length} events as too old, expired or too new: ${JSON.stringify(info)}`));
    }
    return rejected;
  }

  async function sendBatch(batch: LogEvent[]): Promise<void> {
    let needStream = false;
    let streamCreated = false;
    for (let attempt = 1; ; attempt++) {
      let operation = 'PutLogEvents';
      try {
        if (needStream) {
          operation = 'CreateLogStream';
          await createStream();
          operation = 'PutLogEvents';
          needStream = false;
          streamCreated = true;
        }
        stats.requests++;
        const out = await client.send(new PutLogEventsCommand({ logGroupName: logGroup, logStreamName: logStream, logEvents: batch }), sendOptions());
        const rejected = noteRejected(batch, out);
        stats.sent += batch.length - rejected;
        stats.failed += rejected;
        return;
      } catch (err) {
        const streamMissing = nameOf(err) === 'ResourceNotFoundException' && !needStream;
        if (streamMissing && !streamCreated) {
          // The stream does not exist (yet, or any more): create it, then send again at once.
          needStream = true;
          attempt--;
          continue;
        }
        // Still missing right after it was created: eventual consistency, so create and try again after a wait.
        if (streamMissing) needStream = true;
        if ((!streamMissing && !isRetryableError(err)) || attempt >= attempts) {
          stats.failed += batch.length;
          const why = attempt >= attempts ? `after ${attempt} attempts` : 'not retryable';
          report(new CloudWatchMirrorError('send_failed', batch.length, `${operation} for ${logGroup}/${logStream} failed (${why}): ${nameOf(err) ?? 'Error'}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
          return;
        }
        await sleep(delayFor(attempt));
      }
    }
  }

  function start(): Promise<void> {
    if (linger) {
      clearTimeout(linger);
      linger = null;
    }
    running ??= (async () => {
      // Never settle synchronously: `running` must be assigned before the finally clears it.
      await Promise.resolve();
      try {
        while (queued() > 0) {
          reportDrops();
          const events = head === 0 ? queue : queue.slice(head);
          queue = [];
          head = 0;
          const plan = planBatches(events);
          if (plan.oversized.length > 0) {
            stats.failed += plan.oversized.length;
            report(new CloudWatchMirrorError('oversized', plan.oversized.length, `${plan.oversized.length} events exceed CloudWatch Logs' size limit for one event and were not sent`));
          }
          for (const batch of plan.batches) await sendBatch(batch);
        }
        reportDrops();
      } finally {
        running = null;
      }
    })();
    return running;
  }

  function schedule(): void {
    if (running || linger) return;
    if (flushing > 0 || lingerMs <= 0) {
      void start();
      return;
    }
    linger = setTimeout(() => {
      linger = null;
      void start();
    }, lingerMs);
    linger.unref();
  }

  async function flush(): Promise<void> {
    flushing++;
    backoff?.ref();
    try {
      while (queued() > 0 || running) await (running ?? start());
    } finally {
      flushing--;
      if (flushing === 0) backoff?.unref();
    }
  }

  return {
    publish(records: readonly AuditRecord[], signedHead: SignedHead | null = null): void {
      if (records.length === 0) return;
      if (closed) {
        stats.dropped += records.length;
        report(new CloudWatchMirrorError('closed', records.length, `${records.length} records published after close were not mirrored`));
        return;
      }
      let last = clock();
      for (const record of records) {
        const ts = Date.parse(record.ts);
        last = Number.isFinite(ts) ? ts : clock();
        queue.push({ timestamp: last, message: recordLine(record) });
      }
      if (signedHead) queue.push({ timestamp: last, message: headLine(signedHead) });
      const excess = queued() - queueMax;
      if (excess > 0) {
        head += excess;
        stats.dropped += excess;
        unreportedDrops += excess;
        if (head > queue.length / 2) {
          queue = queue.slice(head);
          head = 0;
        }
      }
      schedule();
    },
    flush,
    async close(): Promise<void> {
      closed = true;
      await flush();
    },
    stats: () => ({ queued: queued(), ...stats }),
  };
}

function reportToStderr(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  try {
    // An error's message can quote what failed to be sent: masked like every log line.
    process.stderr.write(`${redactJsonText(JSON.stringify({ level: 'error', message: `audit mirror (CloudWatch Logs): ${message}` }))}\n`);
  } catch {
    // Nowhere left to report to.
  }
}
