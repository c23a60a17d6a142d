import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { TransactItem } from './commit-plan.js';
import type { Item } from './connection.js';

/**
 * Items in DynamoDB's low-level form, for the writes sent through the low-level client
 * (DynamoConnection.send): what the document client's marshalling does, for the values paylog
 * writes (strings, finite numbers, booleans, null, and lists and maps of them). Undefined
 * members are left out, as the document client is told to (removeUndefinedValues).
 */
export function toAttributeValue(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`DynamoDB store: ${value} is not a number DynamoDB holds`);
      return { N: String(value) };
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
      if (Object.getPrototypeOf(value) !== Object.prototype) throw new TypeError('DynamoDB store: only plain objects are written');
      return { M: toAttributeMap(value as Item) };
    default:
      throw new TypeError(`DynamoDB store: a ${typeof value} cannot be written`);
  }
}

export function toAttributeMap(item: Item): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) if (value !== undefined) map[name] = toAttributeValue(value);
  return map;
}

/** One element of TransactItems, from the document client's form to the low-level one. */
export function toTransactWriteItem(item: TransactItem): TransactWriteItem {
  if ('Put' in item) {
    const { Item: body, ExpressionAttributeValues: values, ...put } = item.Put;
    return { Put: { ...put, Item: toAttributeMap(body), ...(values && { ExpressionAttributeValues: toAttributeMap(values) }) } };
  }
  if ('Update' in item) {
    const { Key: key, ExpressionAttributeValues: values, ...update } = item.Update;
    return { Update: { ...update, Key: toAttributeMap(key), ExpressionAttributeValues: toAttributeMap(values) } };
  }
  const { Key: key, ...check } = item.ConditionCheck;
  return { ConditionCheck: { ...check, Key: toAttributeMap(key) } };
}
