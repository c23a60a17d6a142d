import type { KeySchemaElement, TableDescription, TimeToLiveDescription } from '@aws-sdk/client-dynamodb';
import type { CallFailure } from './call-failure.js';
import type { KeyAttribute, TableDefinition, TableName } from './tables.js';
import type { DynamoLocation } from './url.js';

/**
 * What can be wrong with one existing table, compared with its definition in TABLES. Keys
 * and indexes are written `(stream S HASH, seq N RANGE)`: name, attribute type, key role.
 */
export type TableFinding =
  | { kind: 'table_missing' }
  | { kind: 'table_not_active'; status: string }
  | { kind: 'key_mismatch'; found: string; expected: string }
  | { kind: 'index_missing'; index: string; expected: string }
  | { kind: 'index_mismatch'; index: string; found: string; expected: string }
  | { kind: 'index_not_active'; index: string; status: string }
  /** TTL is off (DISABLED, or DISABLING) where the definition expires items. */
  | { kind: 'ttl_off'; attribute: string; status: string }
  /** TTL is on, but on another attribute than the definition's. */
  | { kind: 'ttl_other_attribute'; attribute: string; found: string }
  /** TTL is on where the definition expires nothing: DynamoDB would delete items paylog keeps, journal records included. */
  | { kind: 'ttl_unexpected'; found: string };

/** Table states in which reads and writes work (UPDATING: e.g. while an index is being added). */
const USABLE_TABLE_STATES = new Set(['ACTIVE', 'UPDATING']);
const USABLE_INDEX_STATES = new Set(['ACTIVE', 'UPDATING']);
const TTL_ON_STATES = new Set(['ENABLED', 'ENABLING']);

/**
 * Compares a table's definition with what DescribeTable and DescribeTimeToLive answered.
 * `table` null: the table does not exist. `ttl` null: the endpoint has no TTL (some local
 * emulators), so TTL is not judged. Returns every finding, the table's key first.
 */
export function tableFindings(definition: TableDefinition, table: TableDescription | null, ttl: TimeToLiveDescription | null): TableFinding[] {
  if (table === null) return [{ kind: 'table_missing' }];
  const findings: TableFinding[] = [];
  const status = table.TableStatus ?? 'UNKNOWN';
  if (!USABLE_TABLE_STATES.has(status)) findings.push({ kind: 'table_not_active', status });

  const types = new Map((table.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const found = (schema: KeySchemaElement[] | undefined): string =>
    `(${(schema ?? []).map((k) => `${k.AttributeName} ${types.get(k.AttributeName) ?? '?'} ${k.KeyType}`).join(', ')})`;

  const key = found(table.KeySchema);
  const keyExpected = keyText(definition.partitionKey, definition.sortKey);
  if (key !== keyExpected) findings.push({ kind: 'key_mismatch', found: key, expected: keyExpected });

  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
  for (const index of definition.indexes) {
    const expected = `${keyText(index.partitionKey, index.sortKey)} projecting ${index.projection ?? 'ALL'}`;
    const actual = indexes.get(index.name);
    if (actual === undefined) {
      findings.push({ kind: 'index_missing', index: index.name, expected });
      continue;
    }
    const shape = `${found(actual.KeySchema)} projecting ${actual.Projection?.ProjectionType ?? '?'}`;
    if (shape !== expected) findings.push({ kind: 'index_mismatch', index: index.name, found: shape, expected });
    const indexStatus = actual.IndexStatus ?? 'UNKNOWN';
    if (!USABLE_INDEX_STATES.has(indexStatus)) findings.push({ kind: 'index_not_active', index: index.name, status: indexStatus });
  }

  if (ttl !== null) {
    const ttlStatus = ttl.TimeToLiveStatus ?? 'DISABLED';
    const on = TTL_ON_STATES.has(ttlStatus);
    const onAttribute = ttl.AttributeName ?? '?';
    if (definition.ttlAttribute === undefined) {
      if (on) findings.push({ kind: 'ttl_unexpected', found: onAttribute });
    } else if (!on) {
      findings.push({ kind: 'ttl_off', attribute: definition.ttlAttribute, status: ttlStatus });
    } else if (onAttribute !== definition.ttlAttribute) {
      findings.push({ kind: 'ttl_other_attribute', attribute: definition.ttlAttribute, found: onAttribute });
    }
  }
  return findings;
}

/** `paylog migrate` can mend these in place; every other finding needs a person. */
export function migrateFixes(finding: TableFinding): boolean {
  return finding.kind === 'table_missing' || finding.kind === 'index_missing' || (finding.kind === 'ttl_off' && finding.status === 'DISABLED');
}

function keyText(partitionKey: KeyAttribute, sortKey: KeyAttribute | undefined): string {
  return `(${[partitionKey, sortKey].filter((k): k is KeyAttribute => k !== undefined)
    .map((k, i) => `${k.name} ${k.type} ${i === 0 ? 'HASH' : 'RANGE'}`).join(', ')})`;
}

/** One table as the check saw it. */
export interface TableInspection {
  table: TableName;
  /** `${prefix}-${suffix}`. */
  name: string;
  findings: TableFinding[];
  /** A call about this table that failed for another reason than the table being missing. */
  failure: CallFailure | null;
}

/** Every table of a prefix, or why none could be looked at. */
export interface TablesInspection {
  location: DynamoLocation;
  /** The endpoint did not answer, or refused the credentials: no table was looked at. */
  endpointFailure: CallFailure | null;
  tables: TableInspection[];
}
