import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { JournalLeaf, JournalTreeHead, JournalTreeStore } from '../../../ports/journal-tree-store.js';
import { checkTreeAppend, mergeCosignatures } from '../shared/journal-tree-rules.js';
import { type DynamoConnection, attributeNames } from './connection.js';
import { isConditionFailed } from './errors.js';

/** The head's sort key: below every leaf's. */
const HEAD_IDX = -1;
/** Leaves one append may carry: DynamoDB's 100 items per transaction, less the head, two items a leaf. */
export const TREE_APPEND_LEAVES_MAX = 49;

/**
 * A journal tree in one table: leaves at idx 0, 1, … and the head at idx -1. An append is one
 * transaction of the new leaves (each only if absent) and the head (only if still at the
 * expected size), so of two writers appending from one size exactly one wins. Each leaf also
 * gets a look-up item, `<journal> <leaf hash>` at its idx, to find where a checkpoint sits.
 */
export class DynamoJournalTreeStore implements JournalTreeStore {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('journalTree');
  }

  async head(journal: string): Promise<JournalTreeHead | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { journal, idx: HEAD_IDX }, ConsistentRead: true })));
    if (!item) return null;
    return {
      journal, size: item.size as number, root: item.root as string, note: item.note as string,
      frontier: item.frontier as string[], cosignatures: (item.cosignatures as string[] | undefined) ?? [],
    };
  }

  async append(journal: string, expectedSize: number, leaves: JournalLeaf[], next: Omit<JournalTreeHead, 'journal' | 'cosignatures'>): Promise<boolean> {
    checkTreeAppend(expectedSize, leaves, next.size);
    if (leaves.length > TREE_APPEND_LEAVES_MAX) throw new RangeError(`a journal tree append carries at most ${TREE_APPEND_LEAVES_MAX} leaves`);
    const outcome = await this.conn.run((doc) => doc.send(new TransactWriteCommand({
      TransactItems: [
        ...leaves.map((leaf) => ({
          Put: {
            TableName: this.table, Item: { journal, idx: leaf.index, note: leaf.note, hash: leaf.hash },
            ConditionExpression: 'attribute_not_exists(#idx)', ExpressionAttributeNames: attributeNames('idx'),
          },
        })),
        // One look-up item per distinct hash (a transaction names an item once).
        ...[...new Map(leaves.map((leaf) => [leaf.hash, leaf] as const)).values()].map((leaf) => ({
          Put: { TableName: this.table, Item: { journal: lookupKey(journal, leaf.hash), idx: leaf.index } },
        })),
        {
          Put: {
            TableName: this.table,
            Item: { journal, idx: HEAD_IDX, size: next.size, root: next.root, note: next.note, frontier: next.frontier, cosignatures: [] },
            ...(expectedSize === 0
              ? { ConditionExpression: 'attribute_not_exists(#idx)', ExpressionAttributeNames: attributeNames('idx') }
              : { ConditionExpression: '#size = :expected', ExpressionAttributeNames: attributeNames('size'), ExpressionAttributeValues: { ':expected': expectedSize } }),
          },
        },
      ],
    })).then(() => 'appended' as const, (err: unknown) => {
      // A failed condition: another writer's leaf or head got there first.
      if (lostRace(err)) return 'lost' as const;
      throw err;
    }));
    return outcome === 'appended';
  }

  async findLeaf(journal: string, hash: string): Promise<number | null> {
    const [item] = await this.conn.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#journal = :key',
      ExpressionAttributeNames: attributeNames('journal'),
      ExpressionAttributeValues: { ':key': lookupKey(journal, hash) },
    }, 1);
    return item ? (item.idx as number) : null;
  }

  async readLeaves(journal: string, fromIndex: number, limit: number): Promise<JournalLeaf[]> {
    const items = await this.conn.queryAll({
      TableName: this.table,
      KeyConditionExpression: '#journal = :journal AND #idx >= :from',
      ExpressionAttributeNames: attributeNames('journal', 'idx'),
      ExpressionAttributeValues: { ':journal': journal, ':from': Math.max(fromIndex, 0) },
      ConsistentRead: true,
    }, limit);
    return items.map((item) => ({ index: item.idx as number, note: item.note as string, hash: item.hash as string }));
  }

  async addCosignatures(journal: string, size: number, lines: string[]): Promise<boolean> {
    const head = await this.head(journal);
    if (!head || head.size !== size) return false;
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.table, Key: { journal, idx: HEAD_IDX },
        UpdateExpression: 'SET #cosignatures = :merged',
        // Only on the head it read: a newer head starts with no cosignatures of its own.
        ConditionExpression: '#size = :size',
        ExpressionAttributeNames: attributeNames('cosignatures', 'size'),
        ExpressionAttributeValues: { ':merged': mergeCosignatures(head.cosignatures, lines), ':size': size },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}

/** A transaction cancelled by a failed condition: another writer's leaf or head got there first. */
function lostRace(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return false;
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
}

/** The partition of a leaf hash's look-up item: journal names hold no spaces, so it is no journal's. */
function lookupKey(journal: string, hash: string): string {
  return `${journal} ${hash}`;
}
