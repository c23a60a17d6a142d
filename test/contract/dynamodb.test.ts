import { afterAll, beforeAll, describe } from 'vitest';
import { createTables, openDynamoStore } from '../../src/adapters/store/dynamodb/index.js';
import { type DynaliteServer, freshPrefix, startDynalite } from '../support/dynalite.js';
import { storeContracts } from './all.js';

let dynalite: DynaliteServer;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite?.close();
});

describe('dynamodb store (dynalite)', () => {
  // A fresh set of tables per test on one server: creating them takes milliseconds on dynalite.
  storeContracts(async () => {
    const url = `dynamodb://${freshPrefix('contract')}?endpoint=${dynalite.endpoint}`;
    await createTables({ url });
    const store = await openDynamoStore({ url });
    return { store, cleanup: () => store.close() };
  });
});
