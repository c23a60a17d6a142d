import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_KEY_ROLE, type KeyRole, isKeyRole } from '../../../core/key-role.js';
import type { ApiKey, KeyStore } from '../../../ports/key-store.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import { isConditionFailed, oldItemOf } from './errors.js';

const DUPLICATE = 'an API key with this id or secret hash already exists';
/** API keys one listing returns at most. */
export const KEYS_LISTED_MAX = 10_000;

/** API keys; null fields are left out of the item, so `if_not_exists(revokedAt)` sees an unrevoked key as such. */
export class DynamoKeyStore implements KeyStore {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('apiKeys');
  }

  async create(key: ApiKey): Promise<void> {
    // Best effort (the index is eventually consistent): secrets are 256 random bits, so a clash means a bug.
    if (await this.findByHash(key.secretHash)) throw new Error(DUPLICATE);
    const item: Item = { id: key.id, merchantId: key.merchantId, role: key.role, secretHash: key.secretHash, createdAt: key.createdAt };
    if (key.name !== null) item.name = key.name;
    if (key.revokedAt !== null) item.revokedAt = key.revokedAt;
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.table, Item: item,
        ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: attributeNames('id'),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
    } catch (err) {
      // A retry of our own create whose answer was lost finds our own item: not a duplicate.
      if (isConditionFailed(err) && oldItemOf(err)?.secretHash !== key.secretHash) throw new Error(DUPLICATE);
      if (!isConditionFailed(err)) throw err;
    }
  }

  /**
   * Through the bySecretHash index, which in real DynamoDB is eventually consistent: a key
   * created a moment ago may authenticate only a moment later, and a revocation likewise
   * shows after a moment. Keys are created by an operator, well before first use.
   */
  async findByHash(secretHash: string): Promise<ApiKey | null> {
    const { Items: items } = await this.conn.run((doc) => doc.send(new QueryCommand({
      TableName: this.table,
      IndexName: 'bySecretHash',
      KeyConditionExpression: '#secretHash = :hash',
      ExpressionAttributeNames: attributeNames('secretHash'),
      ExpressionAttributeValues: { ':hash': secretHash },
      Limit: 1,
    })));
    const item = items?.[0];
    return item ? toApiKey(item) : null;
  }

  async get(id: string): Promise<ApiKey | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true })));
    return item ? toApiKey(item) : null;
  }

  /** A scan: operators hold a handful of keys. */
  async list(): Promise<ApiKey[]> {
    const items = await this.conn.scanEvery({ TableName: this.table, ConsistentRead: true }, KEYS_LISTED_MAX, 'API keys');
    return items.map(toApiKey).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async revoke(id: string, at: string): Promise<ApiKey | null> {
    try {
      const { Attributes: item } = await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.table,
        Key: { id },
        // if_not_exists keeps the first revocation time; ALL_NEW gives the key back without a second read.
        UpdateExpression: 'SET #revokedAt = if_not_exists(#revokedAt, :at)',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: attributeNames('revokedAt', 'id'),
        ExpressionAttributeValues: { ':at': at },
        ReturnValues: 'ALL_NEW',
      })));
      return item ? toApiKey(item) : null;
    } catch (err) {
      if (isConditionFailed(err)) return null;
      throw err;
    }
  }
}

function toApiKey(item: Item): ApiKey {
  return {
    id: item.id as string,
    merchantId: item.merchantId as string,
    role: roleOf(item),
    name: (item.name as string | undefined) ?? null,
    secretHash: item.secretHash as string,
    createdAt: item.createdAt as string,
    revokedAt: (item.revokedAt as string | undefined) ?? null,
  };
}

/** Keys created before roles existed carry no role: merchant keys. A role this paylog does not know grants nothing. */
function roleOf(item: Item): KeyRole {
  if (item.role === undefined) return DEFAULT_KEY_ROLE;
  if (isKeyRole(item.role)) return item.role;
  throw new Error(`API key ${String(item.id)} has an unknown role`);
}
