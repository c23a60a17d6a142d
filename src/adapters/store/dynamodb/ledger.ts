import { randomBytes } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { GatewayLedger, LedgerCall, LedgerEntry, RecordedCall, Settlement } from '../../../ports/gateway-ledger.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import { toAttributeMap } from './attribute-values.js';
import { isConditionFailed, oldItemOf, rawItemValues } from './errors.js';

/** Random bytes of a call token. */
const CALL_TOKEN_BYTES = 16;

/**
 * The simulated gateway's ledger: one item per gateway key, changed only by conditional
 * UpdateItems that count the call (ADD calls) and settle the outcome in the same request, so
 * calls from any number of processes settle one outcome.
 *
 * Every write carries the call's random `callToken`. The SDK retries a write whose answer was
 * lost; if the first attempt had landed, the retry fails its condition against our own item,
 * and the token tells that the call was already counted (and settled).
 */
export class DynamoGatewayLedger implements GatewayLedger {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('gatewayLedger');
  }

  async get(gatewayKey: string): Promise<LedgerEntry | null> {
    const item = await this.read(gatewayKey);
    return item ? toEntry(item) : null;
  }

  async recordCall(call: LedgerCall): Promise<RecordedCall> {
    const token = randomBytes(CALL_TOKEN_BYTES).toString('hex');
    const { settle } = call;
    // The usual call, the first under its key: one request counts and settles it.
    if (settle !== null && call.settleFromCall === 1) {
      const first = await this.update(call, token, settle, true);
      if (first.won) return { entry: first.entry, settled: true };
      // Settled already (a settled outcome never changes): only count this call.
    }
    const counted = (await this.update(call, token, null, true)).entry;
    if (settle === null || counted.outcome !== null || counted.calls < call.settleFromCall) return { entry: counted, settled: false };
    // A call that may settle only from its second call on: the count said this is one.
    const second = await this.update(call, token, settle, false);
    return { entry: second.entry, settled: second.won };
  }

  /**
   * One UpdateItem that creates the item if new, optionally counts the call, and with a
   * settlement sets it on condition that none is set yet (legacy items hold a NULL outcome).
   * `won` says whether the condition held, for this call or for its own lost earlier attempt;
   * `entry` is the item after the write, or as it was when the condition failed.
   */
  private async update(call: LedgerCall, token: string, settle: Settlement | null, count: boolean): Promise<{ entry: LedgerEntry; won: boolean }> {
    const names = ['updatedAt', 'callToken', 'amount', 'currency', 'createdAt'];
    const values: Item = { ':at': call.at, ':token': token, ':amount': call.amount, ':currency': call.currency };
    let expression = 'SET #updatedAt = :at, #callToken = :token, #amount = if_not_exists(#amount, :amount), '
      + '#currency = if_not_exists(#currency, :currency), #createdAt = if_not_exists(#createdAt, :at)';
    let condition = 'attribute_not_exists(#callToken) OR #callToken <> :token';
    if (settle !== null) {
      expression += ', #outcome = :outcome, #code = :code, #declineCode = :declineCode, #authorizationCode = :authorizationCode';
      names.push('outcome', 'code', 'declineCode', 'authorizationCode');
      Object.assign(values, {
        ':outcome': settle.outcome, ':code': settle.code, ':declineCode': settle.declineCode,
        ':authorizationCode': settle.authorizationCode, ':nullType': 'NULL',
      });
      condition = 'attribute_not_exists(#outcome) OR attribute_type(#outcome, :nullType)';
    }
    if (count) {
      expression += ' ADD #calls :one';
      names.push('calls');
      values[':one'] = 1;
    }
    try {
      // Every payment's gateway call makes it: through the low-level client (DynamoConnection.send).
      const { Attributes: item } = await this.conn.send((client) => client.send(new UpdateItemCommand({
        TableName: this.table,
        Key: toAttributeMap({ gatewayKey: call.gatewayKey }),
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeNames: attributeNames(...names),
        ExpressionAttributeValues: toAttributeMap(values),
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return { entry: toEntry(rawItemValues(item) as Item), won: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      // A failed condition means the item exists; an endpoint that does not hand it back gets it read.
      const item = oldItemOf(err) ?? ((await this.read(call.gatewayKey)) as Item);
      return { entry: toEntry(item), won: item.callToken === token };
    }
  }

  private async read(gatewayKey: string): Promise<Item | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { gatewayKey }, ConsistentRead: true })));
    return item ?? null;
  }
}

/** Absent and NULL attributes both read as null. */
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
