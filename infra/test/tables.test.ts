import { describe, expect, it } from 'vitest';
import { TABLES, type TableDefinition, type TableName, tableName } from '../../src/adapters/store/dynamodb/tables.js';
import { TEST_PREFIX, synth } from './support.js';

// Built from TABLES, checked against TABLES: the store code and the stack cannot drift apart.
const { template } = synth();

interface CfnTable {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: {
    TableName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
    GlobalSecondaryIndexes?: { IndexName: string; KeySchema: { AttributeName: string; KeyType: string }[]; Projection: { ProjectionType: string } }[];
    LocalSecondaryIndexes?: unknown;
    TimeToLiveSpecification?: { AttributeName: string; Enabled: boolean };
    PointInTimeRecoverySpecification?: { PointInTimeRecoveryEnabled: boolean };
    DeletionProtectionEnabled?: boolean;
    BillingMode?: string;
    ProvisionedThroughput?: unknown;
  };
}

const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as CfnTable[];
const byName = new Map(tables.map((t) => [t.Properties.TableName, t]));
const entries = Object.entries(TABLES) as [TableName, TableDefinition][];

function keySchema(partitionKey: { name: string }, sortKey?: { name: string }) {
  return [{ AttributeName: partitionKey.name, KeyType: 'HASH' }, ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' }] : [])];
}

describe('DynamoDB tables', () => {
  it('are exactly the tables TABLES defines, named prefix-suffix', () => {
    expect([...byName.keys()].sort()).toEqual(entries.map(([key]) => tableName(TEST_PREFIX, key)).sort());
  });

  describe.each(entries)('%s', (key, definition) => {
    const table = (): CfnTable => {
      const found = byName.get(tableName(TEST_PREFIX, key));
      if (!found) throw new Error(`no table ${tableName(TEST_PREFIX, key)}`);
      return found;
    };

    it('has the key schema TABLES defines', () => {
      expect(table().Properties.KeySchema).toEqual(keySchema(definition.partitionKey, definition.sortKey));
    });

    it('defines exactly the key attributes of the table and its indexes, with their types', () => {
      const wanted = new Map<string, string>();
      for (const k of [definition.partitionKey, definition.sortKey, ...definition.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
        if (k) wanted.set(k.name, k.type);
      }
      const actual = table().Properties.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType]);
      expect(actual.sort()).toEqual([...wanted.entries()].sort());
    });

    it('has exactly the global secondary indexes TABLES defines, each projecting what it says', () => {
      const wanted = definition.indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: keySchema(i.partitionKey, i.sortKey),
        Projection: { ProjectionType: 'projection' in i ? i.projection : 'ALL' },
      }));
      const actual = table().Properties.GlobalSecondaryIndexes ?? [];
      expect(actual).toEqual(wanted);
      expect(table().Properties.LocalSecondaryIndexes).toBeUndefined();
    });

    it(definition.ttlAttribute ? `expires items by ${definition.ttlAttribute}` : 'has no TTL', () => {
      expect(table().Properties.TimeToLiveSpecification).toEqual(
        definition.ttlAttribute ? { AttributeName: definition.ttlAttribute, Enabled: true } : undefined,
      );
    });

    it('is on-demand, with point-in-time recovery and deletion protection', () => {
      const p = table().Properties;
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.ProvisionedThroughput).toBeUndefined();
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(p.DeletionProtectionEnabled).toBe(true);
    });

    it('is retained when the stack is deleted or the resource replaced', () => {
      expect(table().DeletionPolicy).toBe('Retain');
      expect(table().UpdateReplacePolicy).toBe('Retain');
    });
  });
});
