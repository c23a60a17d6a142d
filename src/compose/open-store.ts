import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import type { Store } from '../ports/store.js';

/** Opens the configured store, loading only that backend's adapter. */
export async function openStore(config: Config): Promise<Store> {
  const location = config.store;
  switch (location.kind) {
    case 'sqlite': {
      mkdirSync(dirname(location.path), { recursive: true });
      const { openSqliteStore } = await import('../adapters/store/sqlite/index.js');
      return openSqliteStore({ path: location.path });
    }
    case 'memory': {
      const { createMemoryStore } = await import('../adapters/store/memory/index.js');
      return createMemoryStore();
    }
    default:
      throw new ConfigError(`PAYLOG_STORE (--store): ${location.kind} stores are not available in this version`);
  }
}
