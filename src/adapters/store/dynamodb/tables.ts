/**
 * The DynamoDB tables, defined once: the store code reads and writes by these names and
 * keys, `paylog migrate` creates tables from them, and the CDK stack in infra/ builds its
 * tables from the very same objects (a test checks the synthesized template agrees), so a
 * "missing the key" error from a table that does not match the code cannot happen.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  name: string;
  type: AttributeType;
}

export interface IndexDefinition {
  name: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /**
   * Which attributes the index copies: ALL (the default), or KEYS_ONLY for an index whose
   * table item changes often in attributes no query of the index needs (every change to a
   * projected attribute is a write to the index too).
   */
  projection?: 'ALL' | 'KEYS_ONLY';
}

export interface TableDefinition {
  /** Appended to the deployment's table prefix: `${prefix}-${suffix}`. */
  suffix: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  indexes: IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry (DynamoDB TTL), if the table expires items. */
  ttlAttribute?: string;
}

export const TABLES = {
  streams: {
    suffix: 'streams',
    partitionKey: { name: 'id', type: 'S' },
    // Sparse: only open streams carry `open`, so a writer starting up finds the streams whose
    // lease has lapsed with one bounded query, however many streams ever existed. Keys only:
    // every commit moves the stream's head, which the index need not follow.
    indexes: [{ name: 'byOpenLease', partitionKey: { name: 'open', type: 'S' }, sortKey: { name: 'leaseExpiresAt', type: 'S' }, projection: 'KEYS_ONLY' }],
  },
  journal: {
    suffix: 'journal',
    partitionKey: { name: 'stream', type: 'S' },
    sortKey: { name: 'seq', type: 'N' },
    // A transaction's records across streams, in time order.
    indexes: [{ name: 'byResource', partitionKey: { name: 'resource', type: 'S' }, sortKey: { name: 'tsKey', type: 'S' } }],
  },
  journalTree: {
    // The journal tree's leaves (idx ≥ 0) and, at idx -1, its head.
    suffix: 'journal-tree',
    partitionKey: { name: 'journal', type: 'S' },
    sortKey: { name: 'idx', type: 'N' },
    indexes: [],
  },
  checkpoints: {
    suffix: 'checkpoints',
    partitionKey: { name: 'stream', type: 'S' },
    sortKey: { name: 'size', type: 'N' },
    indexes: [],
  },
  payments: {
    suffix: 'payments',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [
      // Newest first per merchant (TypeIDs are time-ordered).
      { name: 'byMerchant', partitionKey: { name: 'merchantId', type: 'S' }, sortKey: { name: 'id', type: 'S' } },
      // The same, per merchant and status ("acme#declined"), for filtered lists.
      { name: 'byMerchantStatus', partitionKey: { name: 'merchantStatus', type: 'S' }, sortKey: { name: 'id', type: 'S' } },
      // Payments still processing, oldest change first, for reconciliation.
      { name: 'byStatus', partitionKey: { name: 'status', type: 'S' }, sortKey: { name: 'updatedAt', type: 'S' } },
      // Per merchant and reference ("acme#order_1234"), newest first. Sparse: a payment without
      // a reference has no key attribute, so it takes no room in the index.
      { name: 'byMerchantReference', partitionKey: { name: 'merchantReference', type: 'S' }, sortKey: { name: 'id', type: 'S' } },
    ],
  },
  idempotency: {
    suffix: 'idempotency',
    partitionKey: { name: 'pk', type: 'S' },
    indexes: [],
    ttlAttribute: 'expiresAtEpoch',
  },
  apiKeys: {
    suffix: 'api-keys',
    partitionKey: { name: 'id', type: 'S' },
    indexes: [{ name: 'bySecretHash', partitionKey: { name: 'secretHash', type: 'S' } }],
  },
  gatewayLedger: {
    suffix: 'gateway-ledger',
    partitionKey: { name: 'gatewayKey', type: 'S' },
    indexes: [],
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export function tableName(prefix: string, table: TableName): string {
  return `${prefix}-${TABLES[table].suffix}`;
}
