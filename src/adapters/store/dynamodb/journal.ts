/**
 * The journal on DynamoDB, without transactions (dynalite, used for local runs and tests,
 * has none), so a commit is NOT atomic. It runs in three phases:
 *
 *   1. Check, writing nothing: every stream exists (and is open, for records), every record
 *      continues its stream's head (read strongly consistent) without gaps, no checkpoint is
 *      a duplicate. Whatever a lone writer could get wrong fails here, and then nothing of
 *      the batch is written.
 *   2. Records, one conditional PutItem (`attribute_not_exists(seq)`) at a time, in seq order.
 *      A failure stops the batch: nothing later is written, so a stream never has a gap, only
 *      possibly a shorter tail than the batch meant to add.
 *   3. The read model: payment upserts, idempotency updates, checkpoints.
 *
 * Records come first because they are the truth. A crash (or an error) after phase 2 leaves
 * the read model behind the journal: a payment may still read `processing` or an idempotency
 * key may lack its response although the records say more. That is what reconciliation is
 * for — it settles `processing` payments from the gateway — and the journal, not the payments
 * table, is the evidence. The caller is told the commit failed, so no response claims more
 * than is durable, and the writer rewinds to the stored head.
 */
import { type AuditRecord, recordLine } from '../../../core/audit-record.js';
import type { Payment } from '../../../core/payment.js';
import type { IdempotencyUpdate } from '../../../ports/idempotency-store.js';
import type {
  CommitUnit, JournalStore, StoredCheckpoint, StreamHead, StreamInfo, StreamStatus,
} from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkContinues } from '../continuity.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import { isConditionFailed } from './errors.js';
import { type DynamoIdempotencyStore, idempotencyPk } from './idempotency.js';
import type { DynamoPaymentStore } from './payments.js';

/** Digits of the seq in `tsKey`: Number.MAX_SAFE_INTEGER has 16, so string order is numeric order. */
const SEQ_DIGITS = 16;
/** Read-model writes of one commit in flight at once. */
const READ_MODEL_WRITES_PARALLEL_MAX = 16;

export class DynamoJournalStore implements JournalStore {
  private readonly streamsTable: string;
  private readonly journalTable: string;
  private readonly checkpointsTable: string;

  constructor(
    private readonly conn: DynamoConnection,
    private readonly payments: DynamoPaymentStore,
    private readonly idempotency: DynamoIdempotencyStore,
  ) {
    this.streamsTable = conn.table('streams');
    this.journalTable = conn.table('journal');
    this.checkpointsTable = conn.table('checkpoints');
  }

  async createStream(info: StreamInfo): Promise<void> {
    const item: Item = {
      id: info.id, journal: info.journal, startedAt: info.startedAt, writer: info.writer,
      leaseExpiresAt: info.leaseExpiresAt, state: 'open',
    };
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.streamsTable, Item: item,
        ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: attributeNames('id'),
      })));
    } catch (err) {
      if (isConditionFailed(err)) throw new StreamConflictError(`stream ${info.id} already exists`);
      throw err;
    }
  }

  async commit(units: CommitUnit[]): Promise<void> {
    this.conn.assertOpen(); // a closed store refuses even an empty batch
    const records = units.flatMap((u) => u.records);
    const checkpoints = units.flatMap((u) => (u.checkpoint ? [u.checkpoint] : []));
    await this.check(records, checkpoints);
    for (const record of records) await this.putRecord(record);
    await this.applyReadModel(units);
  }

  async head(streamId: string): Promise<StreamHead | null> {
    const [item] = await this.conn.queryAll({
      TableName: this.journalTable,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: attributeNames('stream', 'seq', 'hash'),
      ExpressionAttributeValues: { ':stream': streamId },
      ProjectionExpression: '#seq, #hash',
      ScanIndexForward: false,
      ConsistentRead: true,
    }, 1);
    return item ? { seq: item.seq as number, hash: item.hash as string } : null;
  }

  async listStreams(): Promise<StreamStatus[]> {
    const items = await this.conn.scanAll({ TableName: this.streamsTable, ConsistentRead: true });
    return items.map(toStreamStatus).sort((a, b) => compare(a.startedAt, b.startedAt) || compare(a.id, b.id));
  }

  renewLease(streamId: string, leaseExpiresAt: string): Promise<boolean> {
    return this.updateIfOpen(streamId, 'SET #leaseExpiresAt = :lease', { ':lease': leaseExpiresAt }, ['leaseExpiresAt']);
  }

  closeStream(streamId: string, state: 'stopped' | 'sealed', by: string, at: string): Promise<boolean> {
    return this.updateIfOpen(
      streamId, 'SET #state = :state, #closedBy = :by, #closedAt = :at',
      { ':state': state, ':by': by, ':at': at }, ['closedBy', 'closedAt'],
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
  async readByResource(resource: string): Promise<AuditRecord[]> {
    const items = await this.conn.queryAll({
      TableName: this.journalTable,
      IndexName: 'byResource',
      KeyConditionExpression: '#resource = :resource',
      ExpressionAttributeNames: attributeNames('resource', 'body'),
      ExpressionAttributeValues: { ':resource': resource },
      ProjectionExpression: '#body',
    });
    return items.map((item) => JSON.parse(item.body as string) as AuditRecord);
  }

  /** One query per stream: the streams table is small (one row per writer process ever started). */
  async latestCheckpoints(): Promise<StoredCheckpoint[]> {
    const streams = await this.conn.scanAll({
      TableName: this.streamsTable, ProjectionExpression: '#id', ExpressionAttributeNames: attributeNames('id'), ConsistentRead: true,
    });
    const ids = streams.map((s) => s.id as string).sort(compare);
    const latest = await Promise.all(ids.map((id) => this.latestCheckpoint(id)));
    return latest.filter((c): c is StoredCheckpoint => c !== null);
  }

  async latestCheckpoint(streamId: string): Promise<StoredCheckpoint | null> {
    const [item] = await this.conn.queryAll({
      TableName: this.checkpointsTable,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: attributeNames('stream'),
      ExpressionAttributeValues: { ':stream': streamId },
      ScanIndexForward: false,
      ConsistentRead: true,
    }, 1);
    return item ? toCheckpoint(item) : null;
  }

  private readRange(streamId: string, fromSeq: number, limit: number, attribute: 'hash' | 'body'): Promise<Item[]> {
    if (limit <= 0) return Promise.resolve([]);
    return this.conn.queryAll({
      TableName: this.journalTable,
      KeyConditionExpression: '#stream = :stream AND #seq >= :from',
      ExpressionAttributeNames: attributeNames('stream', 'seq', attribute),
      ExpressionAttributeValues: { ':stream': streamId, ':from': fromSeq },
      ProjectionExpression: `#${attribute}`,
      ConsistentRead: true,
    }, limit);
  }

  /** A conditional update on `state = 'open'`: of racing writers exactly one sees its condition hold. */
  private async updateIfOpen(streamId: string, update: string, values: Item, attributes: string[]): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.streamsTable,
        Key: { id: streamId },
        UpdateExpression: update,
        ConditionExpression: '#state = :open',
        ExpressionAttributeNames: attributeNames('state', ...attributes),
        ExpressionAttributeValues: { ...values, ':open': 'open' },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Phase 1: everything that can be checked before writing, so a refused batch writes nothing. */
  private async check(records: AuditRecord[], checkpoints: StoredCheckpoint[]): Promise<void> {
    const streams = [...new Set([...records.map((r) => r.stream), ...checkpoints.map((c) => c.stream)])];
    const recordStreams = new Set(records.map((r) => r.stream));
    const [states, heads, taken] = await Promise.all([
      Promise.all(streams.map((id) => this.streamState(id))),
      Promise.all(streams.map((id) => (recordStreams.has(id) ? this.head(id) : null))),
      Promise.all(checkpoints.map((c) => this.checkpointExists(c.stream, c.size))),
    ]);
    streams.forEach((id, i) => {
      const state = states[i] ?? null;
      // Records of an unregistered stream would be invisible to listStreams, hence to verify and export.
      if (state === null) throw new StreamConflictError(`stream ${id} does not exist`);
      // A stream stopped, or sealed by another writer (its lease lapsed), takes no more records;
      // checkpoints it still takes (sealing saves one for the stream it seals).
      if (recordStreams.has(id) && state !== 'open') throw new StreamConflictError(`stream ${id} is ${state}`);
    });

    const head = new Map(streams.map((id, i) => [id, heads[i] ?? null]));
    for (const record of records) {
      checkContinues(record, head.get(record.stream) ?? null);
      head.set(record.stream, { seq: record.seq, hash: record.hash });
    }
    const seen = new Set<string>();
    checkpoints.forEach((c, i) => {
      const key = `${c.stream}#${c.size}`;
      if (taken[i] || seen.has(key)) throw new StreamConflictError(`stream ${c.stream} already has a checkpoint of size ${c.size}`);
      seen.add(key);
    });
  }

  /**
   * Read on every commit: another writer may seal the stream at any moment. Without a
   * transaction a seal can still land between this read and the record puts (SQLite closes
   * that window by checking in the commit's transaction); the records then sit after the
   * sealing checkpoint, and verify reports them as appended after the seal. Only a writer
   * whose lease already lapsed (so presumed dead) can be in that window.
   */
  private async streamState(streamId: string): Promise<StreamStatus['state'] | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({
      TableName: this.streamsTable, Key: { id: streamId }, ProjectionExpression: '#state',
      ExpressionAttributeNames: attributeNames('state'), ConsistentRead: true,
    })));
    return item ? (item.state as StreamStatus['state']) : null;
  }

  private async checkpointExists(streamId: string, size: number): Promise<boolean> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({
      TableName: this.checkpointsTable, Key: { stream: streamId, size }, ProjectionExpression: '#stream',
      ExpressionAttributeNames: attributeNames('stream'), ConsistentRead: true,
    })));
    return item !== undefined;
  }

  /** Phase 2, one record. The condition turns a concurrent writer's record into a conflict, never an overwrite. */
  private async putRecord(record: AuditRecord): Promise<void> {
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.journalTable,
        Item: toJournalItem(record),
        ConditionExpression: 'attribute_not_exists(#seq)',
        ExpressionAttributeNames: attributeNames('seq'),
      })));
    } catch (err) {
      if (isConditionFailed(err)) throw new StreamConflictError(`stream ${record.stream} already has seq ${record.seq}`);
      throw err;
    }
  }

  /**
   * Phase 3. Several units of one batch may change the same payment or key; folding them
   * first (the last payment wins, key changes merge) gives the state applying them in order
   * would, and lets the writes to distinct items go out in parallel.
   */
  private async applyReadModel(units: CommitUnit[]): Promise<void> {
    const payments = new Map<string, Payment>();
    const keys = new Map<string, IdempotencyUpdate>();
    const checkpoints: StoredCheckpoint[] = [];
    for (const unit of units) {
      if (unit.payment) payments.set(unit.payment.id, unit.payment);
      const change = unit.idempotency;
      if (change) {
        const id = idempotencyPk(change.merchantId, change.key);
        const before = keys.get(id);
        keys.set(id, {
          merchantId: change.merchantId, key: change.key,
          paymentId: change.paymentId ?? before?.paymentId, response: change.response ?? before?.response,
        });
      }
      if (unit.checkpoint) checkpoints.push(unit.checkpoint);
    }
    const writes: Array<() => Promise<void>> = [
      ...[...payments.values()].map((p) => () => this.payments.upsert(p)),
      ...[...keys.values()].map((u) => () => this.idempotency.apply(u)),
      ...checkpoints.map((c) => () => this.putCheckpoint(c)),
    ];
    await runBounded(writes, READ_MODEL_WRITES_PARALLEL_MAX);
  }

  private async putCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.checkpointsTable,
        Item: {
          stream: checkpoint.stream, size: checkpoint.size, root: checkpoint.root,
          note: checkpoint.note, createdAt: checkpoint.createdAt,
        },
        ConditionExpression: 'attribute_not_exists(#size)',
        ExpressionAttributeNames: attributeNames('size'),
      })));
    } catch (err) {
      if (isConditionFailed(err)) throw new StreamConflictError(`stream ${checkpoint.stream} already has a checkpoint of size ${checkpoint.size}`);
      throw err;
    }
  }
}

/**
 * `body` is the record exactly as recordLine wrote it, so exports reproduce it byte for byte;
 * the other attributes are copies kept to key, index and check it. `resource` and `tsKey` are
 * left out for records about nothing: an index key cannot be null, and such records need no
 * entry in byResource.
 */
export function toJournalItem(record: AuditRecord): Item {
  const item: Item = {
    stream: record.stream, seq: record.seq, hash: record.hash, type: record.type, ts: record.ts, body: recordLine(record),
  };
  if (record.resource !== null) {
    item.resource = record.resource;
    // Time order, then stream and seq for equal times; '#' sorts below every ID character.
    item.tsKey = `${record.ts}#${record.stream}#${String(record.seq).padStart(SEQ_DIGITS, '0')}`;
  }
  return item;
}

function toStreamStatus(item: Item): StreamStatus {
  return {
    id: item.id as string,
    journal: item.journal as string,
    startedAt: item.startedAt as string,
    writer: item.writer as string,
    leaseExpiresAt: item.leaseExpiresAt as string,
    state: item.state as StreamStatus['state'],
    closedBy: (item.closedBy as string | undefined) ?? null,
    closedAt: (item.closedAt as string | undefined) ?? null,
  };
}

function toCheckpoint(item: Item): StoredCheckpoint {
  return {
    stream: item.stream as string, size: item.size as number, root: item.root as string,
    note: item.note as string, createdAt: item.createdAt as string,
  };
}

/** Runs every task, at most `parallel` at once; waits for all, then rethrows the first failure. */
async function runBounded(tasks: Array<() => Promise<void>>, parallel: number): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      try {
        await task();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
