import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient, type QueryCommandInput, type QueryCommandOutput, type ScanCommandInput, type ScanCommandOutput,
  QueryCommand, ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../../../ports/store.js';
import { isConditionFailed, translateError } from './errors.js';
import { retryTransientCancellations } from './retry.js';
import { TABLES, type TableName, tableName } from './tables.js';
import type { DynamoLocation } from './url.js';

/** Client tuning; the defaults suit a request path that must answer well inside API Gateway's 29 s. */
export interface ClientOptions {
  /** Attempts per call, the first included (SDK standard retry mode, with backoff). Default 3. */
  maxAttempts?: number;
  /** How long to wait for a TCP/TLS connection. Default 3000. */
  connectionTimeoutMs?: number;
  /** How long to wait for a response once connected. Default 5000. */
  requestTimeoutMs?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

export type Item = Record<string, unknown>;

/** Items one Query or Scan request asks for at most. */
export const PAGE_ITEMS_MAX = 1_000;

/**
 * Builds the low-level client; createTables uses it bare, the store wraps it in a document
 * client. `cacheMiddleware` resolves each command class's middleware stack once instead of on
 * every call: only for the store's low-level client (DynamoConnection.send), because a document
 * client command's resolved stack holds that command, and a cached one would send it again.
 */
export function createClient(location: DynamoLocation, options: ClientOptions = {}, cacheMiddleware = false): DynamoDBClient {
  const client = new DynamoDBClient({
    region: location.region,
    cacheMiddleware,
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without it the SDK only logs a warning when requestTimeout passes, and a call to an
      // endpoint that accepted the connection but never answers would wait forever.
      throwOnRequestTimeout: true,
    },
  });
  retryTransientCancellations(client);
  return client;
}

/** A read that would have to answer part of what it was asked for: refused, never truncated silently. */
function overBound(items: Item[], bound: number, what: string): Item[] {
  if (items.length > bound) throw new StoreUnavailableError(`DynamoDB store: more than ${bound} ${what}, the most one read returns`);
  return items;
}

/**
 * The one client of a store (created once: it holds the connection pool and the resolved
 * credentials) plus the closed flag. Every port call goes through `run`.
 */
export class DynamoConnection {
  readonly doc: DynamoDBDocumentClient;
  private readonly names: Record<TableName, string>;
  private closed = false;

  /**
   * `low`, a client made with cacheMiddleware, sends the writes every payment makes (the
   * journal's transactions, the gateway ledger's update) with items marshalled by
   * attribute-values.ts: their middleware stacks are resolved once, and no document
   * marshalling runs. Everything else goes through the document client of `client`.
   */
  constructor(private readonly client: DynamoDBClient, readonly location: DynamoLocation, private readonly low: DynamoDBClient = client) {
    this.doc = DynamoDBDocumentClient.from(client, {
      // Optional fields are left out rather than stored; class instances would be a bug, so refuse them.
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
    this.names = {} as Record<TableName, string>;
    for (const table of Object.keys(TABLES) as TableName[]) {
      this.names[table] = tableName(location.prefix, table);
    }
  }

  table(name: TableName): string {
    return this.names[name];
  }

  /**
   * Runs SDK work, refusing once closed and translating failures. A failed condition is
   * passed through untouched: each caller knows what it means (a conflict, a lost race).
   */
  run<T>(work: (doc: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
    return this.guarded(() => work(this.doc));
  }

  /** As run, through the low-level client (see the constructor): items in DynamoDB's low-level form. */
  send<T>(work: (client: DynamoDBClient) => Promise<T>): Promise<T> {
    return this.guarded(() => work(this.low));
  }

  private async guarded<T>(call: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await call();
    } catch (err) {
      if (isConditionFailed(err)) throw err;
      throw this.closed ? new StoreUnavailableError('DynamoDB store is closed', { cause: err }) : translateError(err);
    }
  }

  assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('DynamoDB store is closed');
  }

  /**
   * Up to `max` items of a query, following LastEvaluatedKey. Every page asks for at most
   * PAGE_ITEMS_MAX items, so no request reads an unbounded amount.
   */
  async queryAll(input: QueryCommandInput, max: number): Promise<Item[]> {
    this.assertOpen();
    const items: Item[] = [];
    if (max <= 0) return items;
    let start: QueryCommandInput['ExclusiveStartKey'];
    do {
      const page: QueryCommandOutput = await this.run((doc) => doc.send(new QueryCommand({
        ...input,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        Limit: Math.min(max - items.length, PAGE_ITEMS_MAX),
      })));
      items.push(...((page.Items ?? []) as Item[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && items.length < max);
    return items;
  }

  /** Every item of a query, failing rather than answering part of them when there are more than `bound`. */
  async queryEvery(input: QueryCommandInput, bound: number, what: string): Promise<Item[]> {
    return overBound(await this.queryAll(input, bound + 1), bound, what);
  }

  /**
   * Up to `max` matching items of a scan. A page's Limit counts the items it reads, not those
   * a filter keeps, so the scan also stops after reading `readMax` items.
   */
  async scanAll(input: ScanCommandInput, max: number, readMax = max): Promise<Item[]> {
    this.assertOpen();
    const items: Item[] = [];
    if (max <= 0 || readMax <= 0) return items;
    let read = 0;
    let start: ScanCommandInput['ExclusiveStartKey'];
    do {
      const limit = Math.min(readMax - read, PAGE_ITEMS_MAX);
      const page: ScanCommandOutput = await this.run((doc) => doc.send(new ScanCommand({
        ...input,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        Limit: limit,
      })));
      items.push(...((page.Items ?? []) as Item[]));
      read += page.ScannedCount ?? limit;
      start = page.LastEvaluatedKey;
    } while (start !== undefined && items.length < max && read < readMax);
    return items.slice(0, max);
  }

  /** Every item of a scan, failing rather than answering part of them when there are more than `bound`. */
  async scanEvery(input: ScanCommandInput, bound: number, what: string): Promise<Item[]> {
    return overBound(await this.scanAll(input, bound + 1), bound, what);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The document client's destroy() is a no-op; the pool lives in the base client.
    this.client.destroy();
    if (this.low !== this.client) this.low.destroy();
  }
}

/** `#name` placeholders for every attribute an expression mentions: many (status, data, size, name, key…) are reserved words. */
export function attributeNames(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
}
