import { GetCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Payment } from '../../../core/payment.js';
import type { ListQuery, PaymentPage, PaymentStore } from '../../../ports/payment-store.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';

/**
 * The payments read model: `body` is the payment as JSON; the other attributes are copies
 * that key the indexes. Lists go through GSIs, which in real DynamoDB are eventually
 * consistent: a payment committed a moment ago may be missing from a list for a moment
 * (a get by ID is strongly consistent).
 */
export class DynamoPaymentStore implements PaymentStore {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('payments');
  }

  async get(merchantId: string, id: string): Promise<Payment | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({
      TableName: this.table, Key: { id }, ConsistentRead: true,
      ProjectionExpression: '#merchantId, #body', ExpressionAttributeNames: attributeNames('merchantId', 'body'),
    })));
    // Another merchant's payment is reported exactly like a missing one.
    if (!item || item.merchantId !== merchantId) return null;
    return JSON.parse(item.body as string) as Payment;
  }

  /**
   * Newest first (TypeIDs are time-ordered, so descending ID). The cursor is a key condition
   * (`id < :startingAfter`), not an ExclusiveStartKey, so any payment ID works as a cursor;
   * one item beyond the page tells whether another page exists.
   */
  async list(query: ListQuery): Promise<PaymentPage> {
    if (query.merchantReference !== undefined) return this.listByReference(query, query.merchantReference);
    const byStatus = query.status !== undefined;
    const partition = byStatus ? 'merchantStatus' : 'merchantId';
    const after = query.startingAfter !== undefined;
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: byStatus ? 'byMerchantStatus' : 'byMerchant',
      KeyConditionExpression: `#${partition} = :partition${after ? ' AND #id < :after' : ''}`,
      ExpressionAttributeNames: attributeNames(partition, 'body', ...(after ? ['id'] : [])),
      ExpressionAttributeValues: {
        ':partition': byStatus ? merchantStatus(query.merchantId, query.status as string) : query.merchantId,
        ...(after ? { ':after': query.startingAfter } : {}),
      },
      ProjectionExpression: '#body',
      ScanIndexForward: false,
    };
    const items = await this.conn.queryAll(input, query.limit + 1);
    return {
      data: items.slice(0, query.limit).map((item) => JSON.parse(item.body as string) as Payment),
      hasMore: items.length > query.limit,
    };
  }

  /**
   * Through byMerchantReference, newest first. A status is a filter on what the query reads:
   * Limit then counts items read, not items kept, so queryAll reads page after page until it
   * holds one item beyond the page or the partition ends. The partition is one merchant's
   * payments under one reference, so the reads stay within that bound.
   */
  private async listByReference(query: ListQuery, reference: string): Promise<PaymentPage> {
    const after = query.startingAfter !== undefined;
    const status = query.status !== undefined;
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: 'byMerchantReference',
      KeyConditionExpression: `#merchantReference = :partition${after ? ' AND #id < :after' : ''}`,
      ...(status ? { FilterExpression: '#status = :status' } : {}),
      ExpressionAttributeNames: attributeNames('merchantReference', 'body', ...(after ? ['id'] : []), ...(status ? ['status'] : [])),
      ExpressionAttributeValues: {
        ':partition': merchantReferenceKey(query.merchantId, reference),
        ...(after ? { ':after': query.startingAfter } : {}),
        ...(status ? { ':status': query.status } : {}),
      },
      ProjectionExpression: '#body',
      ScanIndexForward: false,
    };
    const items = await this.conn.queryAll(input, query.limit + 1);
    return {
      data: items.slice(0, query.limit).map((item) => JSON.parse(item.body as string) as Payment),
      hasMore: items.length > query.limit,
    };
  }

  /**
   * Oldest change first through byStatus. Equal updatedAt values come back in no defined
   * order from an index, so the page is sorted by (updatedAt, id) like the other stores;
   * which of several payments tied at a page's edge falls on it is not defined.
   */
  async listProcessing(updatedBefore: string, limit: number): Promise<Payment[]> {
    if (limit <= 0) {
      this.conn.assertOpen();
      return [];
    }
    const items = await this.conn.queryAll({
      TableName: this.table,
      IndexName: 'byStatus',
      KeyConditionExpression: '#status = :processing AND #updatedAt < :before',
      ExpressionAttributeNames: attributeNames('status', 'updatedAt', 'body'),
      ExpressionAttributeValues: { ':processing': 'processing', ':before': updatedBefore },
      ProjectionExpression: '#body',
    }, limit);
    return items
      .map((item) => JSON.parse(item.body as string) as Payment)
      .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** A payment's item, written whole by a journal commit, so every index key follows the new status. */
export function paymentItem(payment: Payment): Item {
  return {
    id: payment.id, merchantId: payment.merchantId, status: payment.status, updatedAt: payment.updatedAt,
    merchantStatus: merchantStatus(payment.merchantId, payment.status),
    // Only with a reference: DynamoDB refuses an empty key attribute, and the index stays sparse.
    ...(payment.merchantReference ? { merchantReference: merchantReferenceKey(payment.merchantId, payment.merchantReference) } : {}),
    body: JSON.stringify(payment),
  };
}

/** The byMerchantReference key. Merchant IDs never contain '#' (MERCHANT_ID_PATTERN), so the first '#' splits it. */
export function merchantReferenceKey(merchantId: string, reference: string): string {
  return `${merchantId}#${reference}`;
}

/** The byMerchantStatus key. Statuses never contain '#', so the last '#' splits it unambiguously. */
function merchantStatus(merchantId: string, status: string): string {
  return `${merchantId}#${status}`;
}
