import { describe } from 'vitest';
import { createTables, openDynamoStore } from '../../src/adapters/store/dynamodb/index.js';
import { dynamoUrl, freshPrefix } from '../support/dynamodb.js';
import { storeContracts } from './all.js';

describe('dynamodb store (DynamoDB Local)', () => {
  // A fresh set of tables per test, on the run's one DynamoDB Local.
  storeContracts(async () => {
    const url = dynamoUrl(freshPrefix('contract'));
    await createTables({ url });
    const store = await openDynamoStore({ url });
    return { store, cleanup: () => store.close() };
  });
});
