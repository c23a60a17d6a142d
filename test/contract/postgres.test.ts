import { describe, inject } from 'vitest';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.js';
import { freshDatabase } from '../support/postgres.js';
import { storeContracts } from './all.js';

describe('postgres store', () => {
  storeContracts(async () => {
    const store = await openPostgresStore({ url: await freshDatabase(inject('postgresUrl'), 'contract'), poolMax: 4 });
    return { store, cleanup: () => store.close() };
  });
});
