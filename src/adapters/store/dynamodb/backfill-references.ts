import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Payment } from '../../../core/payment.js';
import { type Item, PAGE_ITEMS_MAX, attributeNames } from './connection.js';
import { isConditionFailed } from './errors.js';
import { merchantReferenceKey } from './payments.js';

/** Updates in flight at once while backfilling: enough to overlap round trips, few enough not to throttle an on-demand table. */
const BACKFILL_UPDATES_PARALLEL = 16;

/**
 * Payment items written before the byMerchantReference index existed carry no
 * `merchantReference` attribute, so the index cannot find them. `paylog migrate` gives each
 * such item with a reference its key, taken from the body: a scan of the items lacking the
 * attribute, page by page (PAGE_ITEMS_MAX items read per request), then one conditional
 * update each. A journal commit racing it writes the same value (a payment's reference never
 * changes), and the condition keeps it from recreating an item. Returns how many it updated.
 */
export async function backfillMerchantReferences(client: DynamoDBClient, table: string, sdk: <T>(action: string, work: () => Promise<T>) => Promise<T>): Promise<number> {
  const doc = DynamoDBDocumentClient.from(client);
  let updated = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await sdk('Scan', () => doc.send(new ScanCommand({
      TableName: table,
      FilterExpression: 'attribute_not_exists(#merchantReference)',
      ProjectionExpression: '#id, #merchantId, #body',
      ExpressionAttributeNames: attributeNames('merchantReference', 'id', 'merchantId', 'body'),
      Limit: PAGE_ITEMS_MAX,
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    })));
    const pending = ((page.Items ?? []) as Item[]).flatMap((item) => {
      const reference = (JSON.parse(item.body as string) as Payment).merchantReference;
      return reference ? [{ id: item.id as string, key: merchantReferenceKey(item.merchantId as string, reference) }] : [];
    });
    for (let i = 0; i < pending.length; i += BACKFILL_UPDATES_PARALLEL) {
      await Promise.all(pending.slice(i, i + BACKFILL_UPDATES_PARALLEL).map(async ({ id, key }) => {
        const done = await sdk('UpdateItem', async () => {
          try {
            await doc.send(new UpdateCommand({
              TableName: table, Key: { id },
              UpdateExpression: 'SET #merchantReference = :key',
              ConditionExpression: 'attribute_exists(#id)',
              ExpressionAttributeNames: attributeNames('merchantReference', 'id'),
              ExpressionAttributeValues: { ':key': key },
            }));
            return true;
          } catch (err) {
            // The item is gone: nothing to index.
            if (isConditionFailed(err)) return false;
            throw err;
          }
        });
        if (done) updated++;
      }));
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return updated;
}
