import {
  DescribeTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient, type TableDescription, type TimeToLiveDescription,
} from '@aws-sdk/client-dynamodb';
import { setMaxListeners } from 'node:events';
import { StoreUnavailableError } from '../../../ports/store.js';
import { type CallFailure, classifyFailure, isEndpointFailure } from './call-failure.js';
import { type ClientOptions, createClient } from './connection.js';
import { type TableInspection, type TablesInspection, tableFindings } from './table-findings.js';
import { summaryLine } from './table-messages.js';
import { TABLES, type TableName, tableName } from './tables.js';
import { type DynamoLocation, parseDynamoUrl } from './url.js';

/** The whole check (two calls per table, all at once) gives up after this. */
export const TABLE_CHECK_DEADLINE_MS = 10_000;

/**
 * One retry for a blip; a short connect timeout, since an endpoint that does not accept in
 * 2 s will not serve. The request timeout sits past the deadline, so the deadline's abort is
 * what ends a call that never gets an answer, and the message can say so.
 */
const CHECK_CLIENT_OPTIONS: ClientOptions = { maxAttempts: 2, connectionTimeoutMs: 2_000, requestTimeoutMs: TABLE_CHECK_DEADLINE_MS + 1_000 };

/**
 * The tables do not match their definitions, or cannot be reached or described: the store
 * cannot be used. The message is one line, with the fix.
 */
export class DynamoTableError extends StoreUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'DynamoTableError';
    // The message is the whole story. Lambda prints the stack of an init error, and frames of
    // this module would only bury the line; the SDK's error is not kept as a cause either,
    // since its message can quote ARNs and account IDs.
    this.stack = `${this.name}: ${message}`;
  }
}

/** DescribeTable and DescribeTimeToLive. */
const CALLS_PER_TABLE = 2;
/** Attempts the SDK makes per call, at most, with any client paylog builds. */
const ATTEMPTS_PER_CALL_MAX = 5;

export interface InspectOptions {
  /** A client to use (and leave open): createTables passes its own, tests one with middleware. */
  client?: DynamoDBClient;
  /** Default TABLE_CHECK_DEADLINE_MS. */
  deadlineMs?: number;
}

type Outcome<T> = { value: T } | { failure: CallFailure };

/**
 * Describes every table of the prefix and its TTL, all in parallel, and compares them with
 * TABLES. Never throws for what DynamoDB answers: every failure is part of the result.
 */
export async function inspectTables(location: DynamoLocation, options: InspectOptions = {}): Promise<TablesInspection> {
  const { client } = options;
  const deadlineMs = options.deadlineMs ?? TABLE_CHECK_DEADLINE_MS;
  const sdk = client ?? createClient(location, CHECK_CLIENT_OPTIONS);
  const deadline = new AbortController();
  // Every attempt of every call listens on the one signal: more than Node's default of 10
  // (a client passed in may make more attempts than the check's own).
  setMaxListeners(CALLS_PER_TABLE * Object.keys(TABLES).length * ATTEMPTS_PER_CALL_MAX, deadline.signal);
  const timer = setTimeout(() => deadline.abort(), deadlineMs);
  timer.unref();
  const call = async <T>(action: string, work: (abortSignal: AbortSignal) => Promise<T>): Promise<Outcome<T>> => {
    try {
      return { value: await work(deadline.signal) };
    } catch (err) {
      const failure = classifyFailure(action, err);
      return { failure: deadline.signal.aborted && failure.kind === 'unreachable' ? { ...failure, code: `no answer within ${deadlineMs} ms` } : failure };
    }
  };
  try {
    const seen = await Promise.all((Object.keys(TABLES) as TableName[]).map(async (table) => {
      const name = tableName(location.prefix, table);
      const [described, ttl] = await Promise.all([
        call('DescribeTable', async (abortSignal) => (await sdk.send(new DescribeTableCommand({ TableName: name }), { abortSignal })).Table ?? null),
        call('DescribeTimeToLive', async (abortSignal) => (await sdk.send(new DescribeTimeToLiveCommand({ TableName: name }), { abortSignal })).TimeToLiveDescription ?? null),
      ]);
      return inspection(table, name, described, ttl);
    }));
    const endpointFailure = seen.flatMap((s) => s.failures).find(isEndpointFailure) ?? null;
    return { location, endpointFailure, tables: seen.map((s) => s.table) };
  } finally {
    clearTimeout(timer);
    if (client === undefined) sdk.destroy();
  }
}

function inspection(
  table: TableName, name: string, described: Outcome<TableDescription | null>, ttl: Outcome<TimeToLiveDescription | null>,
): { table: TableInspection; failures: CallFailure[] } {
  const failures = [described, ttl].flatMap((o) => ('failure' in o ? [o.failure] : []));
  const definition = TABLES[table];
  if ('failure' in described) {
    if (described.failure.kind === 'missing') return { table: { table, name, findings: tableFindings(definition, null, null), failure: null }, failures };
    return { table: { table, name, findings: [], failure: described.failure }, failures };
  }
  // An endpoint without TTL (or a table deleted between the two calls) leaves TTL unjudged.
  const ttlFailure = 'failure' in ttl && ttl.failure.kind !== 'unsupported' && ttl.failure.kind !== 'missing' ? ttl.failure : null;
  const ttlSeen = 'value' in ttl ? ttl.value ?? { TimeToLiveStatus: 'DISABLED' } : null;
  return { table: { table, name, findings: tableFindings(definition, described.value, ttlSeen), failure: ttlFailure }, failures };
}

/**
 * The start-up check of `serve`, `migrate`, a Lambda cold start and every other command:
 * throws a one-line DynamoTableError unless every table is as defined.
 */
export async function checkTables(url: string): Promise<void> {
  const line = summaryLine(await inspectTables(parseDynamoUrl(url)));
  if (line !== null) throw new DynamoTableError(line);
}
