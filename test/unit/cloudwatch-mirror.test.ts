import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PUT_LOG_EVENTS_LIMITS } from '../../src/adapters/mirror/cloudwatch-batches.js';
import {
  type CloudWatchLogsMirrorOptions, CloudWatchMirrorError, createCloudWatchLogsMirror, isRetryableError,
} from '../../src/adapters/mirror/cloudwatch-logs.js';
import { type AuditRecord, recordLine } from '../../src/core/audit-record.js';
import { expectVerifiedLines, mirrorStream } from '../support/mirror-streams.js';

const GROUP = '/paylog/audit';
const LOG_STREAM = 'serve-1';

function buildStream(n: number, padding = 0): AuditRecord[] {
  return mirrorStream(n, { padding });
}

interface PutRequest {
  logGroupName: string;
  logStreamName: string;
  logEvents: { timestamp: number; message: string }[];
}

type Answer = { status: number; body: Record<string, unknown> } | 'reset' | 'hang';

/**
 * A CloudWatch Logs endpoint on 127.0.0.1 speaking the JSON 1.1 protocol (POST /,
 * X-Amz-Target: Logs_20140328.<Operation>), enough for PutLogEvents and CreateLogStream.
 * Streams must exist before events are put (ResourceNotFoundException otherwise). `script`
 * answers requests before the default behaviour does (throttling, resets …). Every
 * PutLogEvents request is checked against the service's batch constraints.
 */
class FakeCloudWatchLogs {
  readonly streams = new Map<string, string[]>();
  readonly targets: string[] = [];
  readonly puts: PutRequest[] = [];
  readonly violations: string[] = [];
  /** Answers for the next PutLogEvents requests, in order, before the default. */
  putScript: Answer[] = [];
  /** Holds PutLogEvents answers until released. */
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  private server: Server | null = null;
  port = 0;

  constructor(existing: string[] = [`${GROUP}/${LOG_STREAM}`]) {
    for (const key of existing) this.streams.set(key, []);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.openGate?.();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
  }

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  messages(stream = `${GROUP}/${LOG_STREAM}`): string[] {
    return this.streams.get(stream) ?? [];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    this.targets.push(target);
    const send = (status: number, body: Record<string, unknown>): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/' || !String(req.headers['content-type']).startsWith('application/x-amz-json-1.1')) {
      this.violations.push(`bad request line or content type: ${req.method} ${req.url} ${req.headers['content-type']}`);
      send(400, { __type: 'SerializationException', message: 'bad request' });
      return;
    }
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    if (target === 'Logs_20140328.CreateLogStream') {
      const key = `${String(input.logGroupName)}/${String(input.logStreamName)}`;
      if (this.streams.has(key)) {
        send(400, { __type: 'ResourceAlreadyExistsException', message: 'The specified log stream already exists' });
        return;
      }
      this.streams.set(key, []);
      send(200, {});
      return;
    }
    if (target !== 'Logs_20140328.PutLogEvents') {
      send(400, { __type: 'UnknownOperationException', message: target });
      return;
    }
    const put = input as unknown as PutRequest;
    this.puts.push(put);
    this.check(put);
    if (this.gate) await this.gate;
    const scripted = this.putScript.shift();
    if (scripted === 'reset') {
      req.socket.destroy();
      return;
    }
    if (scripted === 'hang') return; // never answers
    if (scripted) {
      send(scripted.status, scripted.body);
      return;
    }
    const stream = this.streams.get(`${put.logGroupName}/${put.logStreamName}`);
    if (!stream) {
      send(400, { __type: 'ResourceNotFoundException', message: 'The specified log stream does not exist.' });
      return;
    }
    stream.push(...put.logEvents.map((e) => e.message));
    send(200, { nextSequenceToken: String(this.puts.length) });
  }

  private check(put: PutRequest): void {
    const events = put.logEvents;
    if (events.length === 0 || events.length > 10_000) this.violations.push(`${events.length} events in one request`);
    const bytes = events.reduce((n, e) => n + Buffer.byteLength(e.message, 'utf8') + 26, 0);
    if (bytes > 1_048_576) this.violations.push(`${bytes} bytes in one request`);
    for (let i = 1; i < events.length; i++) {
      if ((events[i]?.timestamp ?? 0) < (events[i - 1]?.timestamp ?? 0)) this.violations.push('events out of chronological order');
    }
    if (events.length > 0 && (events.at(-1)?.timestamp ?? 0) - (events[0]?.timestamp ?? 0) >= 24 * 3600_000) this.violations.push('a request spans 24 hours');
  }
}

const throttle: Answer = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
const unavailable: Answer = { status: 503, body: { __type: 'ServiceUnavailableException', message: 'The service is unavailable' } };


describe('CloudWatch Logs mirror (real SDK client, local CloudWatch Logs endpoint)', () => {
  let server: FakeCloudWatchLogs;
  let clients: CloudWatchLogsClient[];
  let errors: unknown[];

  beforeEach(() => {
    clients = [];
    errors = [];
  });
  afterEach(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  async function startServer(existing?: string[]): Promise<FakeCloudWatchLogs> {
    server = new FakeCloudWatchLogs(existing);
    await server.start();
    return server;
  }

  /**
   * The SDK's own retries are turned off (maxAttempts 1) where a test is about the mirror's
   * retries: otherwise the SDK would absorb the throttling and a mirror that never retries
   * would pass. `sdkRetries` keeps the client exactly as production builds it.
   */
  function client(sdkRetries = false): CloudWatchLogsClient {
    const c = new CloudWatchLogsClient({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      ...(!sdkRetries && { maxAttempts: 1 }),
    });
    clients.push(c);
    return c;
  }

  function mirror(overrides: Partial<CloudWatchLogsMirrorOptions> = {}) {
    return createCloudWatchLogsMirror({
      client: overrides.client ?? client(),
      logGroup: GROUP,
      logStream: LOG_STREAM,
      onError: (e) => errors.push(e),
      retry: { attempts: 5, baseDelayMs: 2, maxDelayMs: 10 },
      ...overrides,
    });
  }

  it('records published in several batches arrive complete, in order, one event per record line, and verify (SDK with its default retries)', async () => {
    await startServer();
    const records = buildStream(300);
    const m = mirror({ client: client(true) });
    for (let i = 0; i < records.length; i += 37) m.publish(records.slice(i, i + 37));
    await m.flush();
    expectVerifiedLines(server.messages(), records);
    const events = server.puts.flatMap((p) => p.logEvents);
    expect(events.map((e) => e.timestamp)).toEqual(records.map((r) => Date.parse(r.ts)));
    expect(server.violations).toEqual([]);
    expect(server.targets.every((t) => t === 'Logs_20140328.PutLogEvents')).toBe(true);
    expect(errors).toEqual([]);
    expect(m.stats()).toMatchObject({ queued: 0, sent: 300, dropped: 0, failed: 0 });
    await m.close();
  });

  it('sends in the background without flush(), coalescing what was published meanwhile', async () => {
    await startServer();
    const records = buildStream(50);
    const m = mirror({ lingerMs: 5 });
    for (const r of records) m.publish([r]);
    await expect.poll(() => server.messages().length, { timeout: 5_000, interval: 5 }).toBe(50);
    expectVerifiedLines(server.messages(), records);
    expect(server.puts.length).toBeLessThan(50);
    await m.close();
  });

  it('splits what exceeds one request (1 MiB with 26 bytes per event) into several, within the limits', async () => {
    await startServer();
    const records = buildStream(400, 5_000); // ~5 KB each: ~2 MB in all
    const m = mirror();
    m.publish(records);
    await m.flush();
    expect(server.puts.length).toBeGreaterThanOrEqual(2);
    expect(server.violations).toEqual([]);
    for (const put of server.puts) {
      expect(put.logEvents.reduce((n, e) => n + Buffer.byteLength(e.message) + PUT_LOG_EVENTS_LIMITS.eventOverheadBytes, 0)).toBeLessThanOrEqual(1_048_576);
    }
    expectVerifiedLines(server.messages(), records);
  });

  it('ThrottlingException a few times: the mirror backs off, retries the same batch and succeeds', async () => {
    await startServer();
    server.putScript = [throttle, throttle, unavailable, throttle];
    const records = buildStream(20);
    const m = mirror();
    m.publish(records);
    await m.flush();
    expect(server.puts).toHaveLength(5);
    // Every attempt carried the same events.
    for (const put of server.puts) expect(put.logEvents.map((e) => e.message)).toEqual(records.map(recordLine));
    expectVerifiedLines(server.messages(), records);
    expect(errors).toEqual([]);
    expect(m.stats()).toMatchObject({ sent: 20, failed: 0, requests: 5 });
  });

  it('retries a connection reset (network error)', async () => {
    await startServer();
    server.putScript = ['reset'];
    const records = buildStream(5);
    const m = mirror();
    m.publish(records);
    await m.flush();
    expect(server.puts).toHaveLength(2);
    expectVerifiedLines(server.messages(), records);
    expect(errors).toEqual([]);
  });

  it('a request that never answers is aborted after requestTimeoutMs and retried', async () => {
    await startServer();
    server.putScript = ['hang'];
    const records = buildStream(5);
    const m = mirror({ requestTimeoutMs: 200 });
    m.publish(records);
    await m.flush();
    expect(server.puts).toHaveLength(2);
    expectVerifiedLines(server.messages(), records);
    expect(errors).toEqual([]);
  });

  it('retries are bounded: throttled every time, the batch is given up after the configured attempts, reported, and flush resolves', async () => {
    await startServer();
    server.putScript = Array.from({ length: 10 }, () => throttle);
    const records = buildStream(8);
    const m = mirror({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    m.publish(records);
    await m.flush();
    expect(server.puts).toHaveLength(3);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(CloudWatchMirrorError);
    expect(errors[0]).toMatchObject({ kind: 'send_failed', events: 8 });
    expect(String((errors[0] as Error).message)).toContain('ThrottlingException');
    expect(m.stats()).toMatchObject({ sent: 0, failed: 8 });
    // The next batch goes out normally.
    server.putScript = [];
    m.publish(records.slice(0, 1));
    await m.flush();
    expect(server.messages()).toEqual([recordLine(records[0] as AuditRecord)]);
  });

  it('a non-retryable error is not retried', async () => {
    await startServer();
    server.putScript = [{ status: 400, body: { __type: 'InvalidParameterException', message: 'bad' } }];
    const m = mirror();
    m.publish(buildStream(2));
    await m.flush();
    expect(server.puts).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'send_failed', events: 2 });
  });

  it('the log stream does not exist: ResourceNotFoundException → CreateLogStream → the batch is sent', async () => {
    await startServer([]); // no stream yet
    const records = buildStream(10);
    const m = mirror({ client: client(true) });
    m.publish(records);
    await m.flush();
    expect(server.targets).toEqual([
      'Logs_20140328.PutLogEvents', 'Logs_20140328.CreateLogStream', 'Logs_20140328.PutLogEvents',
    ]);
    expectVerifiedLines(server.messages(), records);
    expect(errors).toEqual([]);
  });

  it('the stream was created meanwhile by someone else: ResourceAlreadyExistsException is ignored', async () => {
    await startServer();
    server.putScript = [{ status: 400, body: { __type: 'ResourceNotFoundException', message: 'The specified log stream does not exist.' } }];
    const records = buildStream(3);
    const m = mirror();
    m.publish(records);
    await m.flush();
    expect(server.targets).toEqual([
      'Logs_20140328.PutLogEvents', 'Logs_20140328.CreateLogStream', 'Logs_20140328.PutLogEvents',
    ]);
    expectVerifiedLines(server.messages(), records);
    expect(errors).toEqual([]);
  });

  it('the log group does not exist either: reported once, not looped on', async () => {
    await startServer([]);
    // CreateLogStream in a missing group: the fake creates it, so make Put keep failing instead.
    server.putScript = Array.from({ length: 10 }, () => ({ status: 400, body: { __type: 'ResourceNotFoundException', message: 'The specified log group does not exist.' } }));
    const m = mirror({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    m.publish(buildStream(2));
    await m.flush();
    expect(server.puts.length).toBeLessThanOrEqual(4);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'send_failed', events: 2 });
  });

  it('a full queue drops the OLDEST events, counts them and reports it; the newest are sent', async () => {
    await startServer();
    const records = buildStream(10);
    const m = mirror({ queueEventsMax: 4 });
    for (const r of records) m.publish([r]); // all before the loop's first turn
    expect(m.stats()).toMatchObject({ queued: 4, dropped: 6 });
    await m.flush();
    expect(server.messages()).toEqual(records.slice(6).map(recordLine));
    const drops = errors.filter((e) => e instanceof CloudWatchMirrorError && e.kind === 'dropped');
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ events: 6 });
    expect(m.stats()).toMatchObject({ sent: 4, dropped: 6 });
  });

  it('while a request is in flight the queue stays bounded, dropping the oldest of what waits', async () => {
    await startServer();
    const records = buildStream(30);
    const m = mirror({ queueEventsMax: 5, lingerMs: 0 });
    server.hold();
    m.publish(records.slice(0, 3)); // goes out, held by the server
    await expect.poll(() => server.puts.length, { timeout: 5_000, interval: 2 }).toBe(1);
    for (const r of records.slice(3)) m.publish([r]); // 27 wait; only the newest 5 are kept
    expect(m.stats()).toMatchObject({ queued: 5, dropped: 22 });
    server.release();
    await m.flush();
    expect(server.messages()).toEqual([...records.slice(0, 3), ...records.slice(25)].map(recordLine));
    const drops = errors.filter((e): e is CloudWatchMirrorError => e instanceof CloudWatchMirrorError && e.kind === 'dropped');
    expect(drops.reduce((n, e) => n + e.events, 0)).toBe(22);
  });

  it('close() flushes everything still lingering, then stops: later records are reported, not sent', async () => {
    await startServer();
    const records = buildStream(25);
    const m = mirror({ lingerMs: 60_000 });
    m.publish(records.slice(0, 10));
    m.publish(records.slice(10));
    // Still lingering: everything queued, no request made.
    expect(m.stats()).toMatchObject({ queued: 25, requests: 0 });
    expect(server.puts).toHaveLength(0);
    await m.close();
    expectVerifiedLines(server.messages(), records);
    m.publish(buildStream(1));
    await m.flush();
    expect(server.messages()).toHaveLength(25);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'closed', events: 1 });
  });

  it('events go out oldest first even when published out of order', async () => {
    await startServer();
    const records = buildStream(6);
    const m = mirror();
    m.publish([records[3], records[4], records[5]] as AuditRecord[]);
    m.publish([records[0], records[1], records[2]] as AuditRecord[]);
    await m.flush();
    expect(server.violations).toEqual([]);
    expectVerifiedLines(server.messages(), records);
  });

  it('keeps no timer holding the process open while idle or lingering', async () => {
    await startServer();
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const m = mirror({ lingerMs: 60_000 });
    m.publish(buildStream(2));
    expect(timers()).toBe(before); // the linger timer is unref'd
    await m.close();
  });

  it('classifies errors: throttling, 5xx, no HTTP answer → retry; other 4xx → give up', () => {
    expect(isRetryableError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(isRetryableError({ name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isRetryableError({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isRetryableError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableError({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isRetryableError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(isRetryableError('nope')).toBe(false);
  });
});
