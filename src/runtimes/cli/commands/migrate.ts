import type { Command } from 'commander';
import { openStore, prepareStore } from '../../../compose/open-store.js';
import { redactStoreUrl } from '../../../config/store-url.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

export function registerMigrate(program: Command): void {
  withSettings(program.command('migrate').description("create or upgrade the store's schema"), STORE_FLAGS)
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      // DynamoDB tables are created here; SQLite and PostgreSQL migrate when they open.
      const tables = await prepareStore(config);
      const store = await openStore(config);
      try {
        if (tables.length > 0) await store.ping();
      } finally {
        await store.close();
      }
      const where = redactStoreUrl(config.storeUrl);
      if (tables.length > 0) process.stdout.write(`Tables of ${where} exist and are active: ${tables.join(', ')}.\n`);
      process.stdout.write(`Schema of ${where} is up to date.\n`);
    });
}
