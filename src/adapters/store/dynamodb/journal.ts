/**
 * The journal on DynamoDB. Every commit is one TransactWriteItems (or, for a batch over
 * DynamoDB's transaction limits, several in order: see commit-plan.ts): the records, the
 * payments they settle, the idempotency keys they claim or the responses they store, their
 * checkpoints, and the stream's head, all or nothing. The head moves only if the stream is still open and still
 * where the batch continues, so a seal (or another writer) and a commit never interleave.
 *
 * A stream item holds the stream's state, lease and head (`headSeq`, `headHash`); while open
 * it also carries `open`, which puts it in the sparse index byOpenLease, so a starting writer
 * finds lapsed streams with one bounded query.
 */
import { type AuditRecord, GENESIS_PREV } from '../../../core/audit-record.js';
import { byLeaseExpiry, isLapsed } from '../../../core/stream-lease.js';
import type {
  CommitUnit, JournalStore, ResourcePage, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { toTransactWriteItem } from './attribute-values.js';
import { explainCancellation, refusedPaymentRows } from './cancellation.js';
import { type PlannedTransaction, type TableNames, planCommit } from './commit-plan.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import { isConditionFailed, oldItemOf } from './errors.js';
import { toCheckpoint, toStreamStatus, tsKeyOf } from './journal-items.js';
import { TABLES, type TableName } from './tables.js';

/** The value of `open` on an open stream: the partition of byOpenLease. */
const OPEN = 'open';
/** Streams one listing returns at most; past that it fails rather than leave any out (verify would not see them). */
export const STREAMS_LISTED_MAX = 1_000_000;
/** Records about one resource (a transaction) one read returns at most. */
export const RECORDS_PER_RESOURCE_MAX = 10_000;
/** Keys one BatchGetItem request may name. */
const BATCH_GET_KEYS_MAX = 100;

export class DynamoJournalStore implements JournalStore {
  private readonly tables: TableNames;

  constructor(private readonly conn: DynamoConnection) {
    this.tables = Object.fromEntries((Object.keys(TABLES) as TableName[]).map((t) => [t, conn.table(t)])) as TableNames;
  }

  /**
   * A stream starts open at head 0. Should the SDK retry a create whose answer was lost, the
   * retry finds our own item: recognised by its writer and start time, it is no conflict.
   */
  async createStream(info: StreamInfo): Promise<void> {
    const item: Item = {
      id: info.id, journal: info.journal, startedAt: info.startedAt, writer: info.writer,
      leaseExpiresAt: info.leaseExpiresAt, state: 'open', open: OPEN, headSeq: 0, headHash: GENESIS_PREV,
    };
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.tables.streams, Item: item,
        ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: attributeNames('id'),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const old = oldItemOf(err);
      if (old?.writer === info.writer && old.startedAt === info.startedAt && old.journal === info.journal) return;
      throw new StreamConflictError(`stream ${info.id} already exists`);
    }
  }

  async commit(units: CommitUnit[]): Promise<void> {
    this.conn.assertOpen(); // a closed store refuses even an empty batch
    const plans = planCommit(units, this.tables, new Date().toISOString());
    // Only the first transaction holds claims, so only it can fail with ClaimsTakenError, which says nothing was written.
    for (const plan of plans) if (plan.items.length > 0) await this.transact(plan);
  }

  /** The last record of the stream, read from the journal itself (strongly consistent). */
  async head(streamId: string): Promise<StreamHead | null> {
    const [item] = await this.conn.queryAll({
      TableName: this.tables.journal,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: attributeNames('stream', 'seq', 'hash'),
      ExpressionAttributeValues: { ':stream': streamId },
      ProjectionExpression: '#seq, #hash',
      ScanIndexForward: false,
      ConsistentRead: true,
    }, 1);
    return item ? { seq: item.seq as number, hash: item.hash as string } : null;
  }

  /** A scan: for verify and export, which read every stream anyway. */
  async listStreams(): Promise<StreamStatus[]> {
    const items = await this.conn.scanEvery({ TableName: this.tables.streams, ConsistentRead: true }, STREAMS_LISTED_MAX, 'streams');
    return items.map(toStreamStatus).sort((a, b) => compare(a.startedAt, b.startedAt) || compare(a.id, b.id));
  }

  async streamStatus(streamId: string): Promise<StreamStatus | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.tables.streams, Key: { id: streamId }, ConsistentRead: true })));
    return item ? toStreamStatus(item) : null;
  }

  /**
   * One query of the sparse byOpenLease index (open streams only, by lease expiry), then a
   * strongly consistent read of each: an index lags its table, and a stream it lists may
   * have been renewed or closed a moment ago.
   */
  async listLapsedStreams(now: string, limit: number): Promise<StreamStatus[]> {
    const keys = await this.conn.queryAll({
      TableName: this.tables.streams,
      IndexName: 'byOpenLease',
      KeyConditionExpression: '#open = :open AND #leaseExpiresAt <= :now',
      ExpressionAttributeNames: attributeNames('open', 'leaseExpiresAt'),
      ExpressionAttributeValues: { ':open': OPEN, ':now': now },
    }, Math.min(limit, BATCH_GET_KEYS_MAX));
    if (keys.length === 0) return [];
    const { Responses: responses } = await this.conn.run((doc) => doc.send(new BatchGetCommand({
      RequestItems: { [this.tables.streams]: { Keys: keys.map((k) => ({ id: k.id })), ConsistentRead: true } },
    })));
    // A stream left unread (UnprocessedKeys, under throttling) waits for the next writer to start.
    return (responses?.[this.tables.streams] ?? []).map(toStreamStatus).filter((s) => isLapsed(s, now)).sort(byLeaseExpiry);
  }

  renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    return this.updateIfOpen(streamId, 'SET #leaseExpiresAt = :lease', { ':lease': leaseExpiresAt }, ['leaseExpiresAt'], () => false);
  }

  /**
   * Closing removes `open`, taking the stream out of byOpenLease. If the SDK retried a close
   * whose answer was lost, the retry finds the stream closed exactly as we closed it: ours.
   */
  closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    return this.updateIfOpen(
      streamId, 'SET #state = :state, #closedBy = :by, #closedAt = :at REMOVE #open',
      { ':state': state, ':by': by, ':at': at }, ['closedBy', 'closedAt', 'open'],
      (old) => old?.state === state && old.closedBy === by && old.closedAt === at,
    );
  }

  async readHashes(streamId: string, fromSeq: number, limit: number): Promise<string[]> {
    const items = await this.readRange(streamId, fromSeq, limit, 'hash');
    return items.map((item) => item.hash as string);
  }

  async readStream(streamId: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const items = await this.readRange(streamId, fromSeq, limit, 'body');
    return items.map((item) => JSON.parse(item.body as string) as AuditRecord);
  }

  /**
   * Through the byResource index, which in real DynamoDB is eventually consistent (a GSI
   * cannot be read strongly): a record committed a moment ago may be missing for a moment.
   */
  async readByResource(resource: string, page?: ResourcePage): Promise<AuditRecord[]> {
    const query = {
      TableName: this.tables.journal,
      IndexName: 'byResource',
      KeyConditionExpression: page?.after ? '#resource = :resource AND #tsKey > :after' : '#resource = :resource',
      ExpressionAttributeNames: attributeNames('resource', 'body', ...(page?.after ? ['tsKey'] : [])),
      ExpressionAttributeValues: { ':resource': resource, ...(page?.after && { ':after': tsKeyOf(page.after) }) },
      ProjectionExpression: '#body',
    };
    const items = page
      ? await this.conn.queryAll(query, page.limit)
      : await this.conn.queryEvery(query, RECORDS_PER_RESOURCE_MAX, `records about ${resource}`);
    return items.map((item) => JSON.parse(item.body as string) as AuditRecord);
  }

  /** One query per stream: for verify and the checkpoints endpoint. */
  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    const streams = await this.conn.scanEvery({
      TableName: this.tables.streams, ProjectionExpression: '#id', ExpressionAttributeNames: attributeNames('id'), ConsistentRead: true,
    }, STREAMS_LISTED_MAX, 'streams');
    const ids = streams.map((s) => s.id as string).sort(compare);
    const latest = await Promise.all(ids.map((id) => this.latestCheckpoint(id)));
    return latest.filter((c): c is StoredCheckpoint => c !== null);
  }

  async latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null> {
    const [item] = await this.conn.queryAll({
      TableName: this.tables.checkpoints,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: attributeNames('stream'),
      ExpressionAttributeValues: { ':stream': streamId },
      ScanIndexForward: false,
      ConsistentRead: true,
    }, 1);
    return item ? toCheckpoint(item) : null;
  }

  /**
   * One transaction. The SDK retries what is worth retrying (network failures, 5xx,
   * throttling, conflicts with other transactions; see retry.ts) under the same
   * ClientRequestToken, so a retry after a lost answer is applied once. A cancellation is
   * turned into a conflict or an outage here; either way nothing of this transaction landed.
   */
  private async transact(plan: PlannedTransaction): Promise<void> {
    // A payment row refused by its forward-only condition (its status is already final) is left
    // as it is, the rest of the commit goes ahead: the transaction is sent again without it. Each
    // round drops at least one row, so there are at most as many rounds as payment rows.
    let current = plan;
    for (;;) {
      const items = current.items.map(toTransactWriteItem);
      const refused = await this.conn.send((client) => client.send(new TransactWriteItemsCommand({ TransactItems: items }))
        .then(() => null, (err: unknown) => {
          const rows = refusedPaymentRows(err, current.roles);
          if (rows === null) throw explainCancellation(err, current.roles);
          return rows;
        }));
      if (refused === null) return;
      const keep = current.items.map((_, i) => !refused.has(i));
      current = { ...current, items: current.items.filter((_, i) => keep[i]), roles: current.roles.filter((_, i) => keep[i]) };
      if (current.items.length === 0) return;
    }
  }

  private readRange(streamId: string, fromSeq: number, limit: number, attribute: 'hash' | 'body'): Promise<Item[]> {
    return this.conn.queryAll({
      TableName: this.tables.journal,
      KeyConditionExpression: '#stream = :stream AND #seq >= :from',
      ExpressionAttributeNames: attributeNames('stream', 'seq', attribute),
      ExpressionAttributeValues: { ':stream': streamId, ':from': fromSeq },
      ProjectionExpression: `#${attribute}`,
      ConsistentRead: true,
    }, limit);
  }

  /**
   * A conditional update on `state = 'open'`: of racing writers exactly one sees its condition
   * hold. When it fails, `ours` looks at the stream as the condition saw it.
   */
  private async updateIfOpen(
    streamId: string, update: string, values: Item, attributes: string[], ours: (old: Record<string, string | number> | null) => boolean,
  ): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.tables.streams,
        Key: { id: streamId },
        UpdateExpression: update,
        ConditionExpression: '#state = :open',
        ExpressionAttributeNames: attributeNames('state', ...attributes),
        ExpressionAttributeValues: { ...values, ':open': 'open' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return ours(oldItemOf(err));
      throw err;
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
