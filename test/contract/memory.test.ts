import { describe } from 'vitest';
import { createMemoryStore } from '../../src/adapters/store/memory/index.js';
import { storeContracts } from './all.js';

describe('memory store', () => {
  storeContracts(async () => {
    const store = createMemoryStore();
    return { store, cleanup: () => store.close() };
  });
});
