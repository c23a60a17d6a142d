import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { GatewayLedger, LedgerEntry } from '../../../ports/gateway-ledger.js';
import type { DynamoConnection, Item } from './connection.js';

/** The simulated gateway's ledger: one item per gateway key, replaced whole on every put. */
export class DynamoGatewayLedger implements GatewayLedger {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('gatewayLedger');
  }

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { gatewayKey }, ConsistentRead: true })));
    return item ? toEntry(item) : null;
  }

  async put(entry: LedgerEntry): Promise<void> {
    // Field by field, so nothing but the port's fields is stored; nulls become DynamoDB NULLs (only the key is indexed).
    const item: Item = {
      gatewayKey: entry.gatewayKey, calls: entry.calls, outcome: entry.outcome, code: entry.code,
      declineCode: entry.declineCode, authorizationCode: entry.authorizationCode, amount: entry.amount,
      currency: entry.currency, createdAt: entry.createdAt, updatedAt: entry.updatedAt,
    };
    await this.conn.run((doc) => doc.send(new PutCommand({ TableName: this.table, Item: item })));
  }
}

function toEntry(item: Item): LedgerEntry {
  return {
    gatewayKey: item.gatewayKey as string,
    calls: item.calls as number,
    outcome: (item.outcome as LedgerEntry['outcome'] | undefined) ?? null,
    code: (item.code as string | undefined) ?? null,
    declineCode: (item.declineCode as string | undefined) ?? null,
    authorizationCode: (item.authorizationCode as string | undefined) ?? null,
    amount: item.amount as number,
    currency: item.currency as string,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}
