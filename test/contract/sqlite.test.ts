import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { storeContracts } from './all.js';

describe('sqlite store', () => {
  storeContracts(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paylog-contract-'));
    const store = openSqliteStore({ path: join(dir, 'paylog.db') });
    return {
      store,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});
