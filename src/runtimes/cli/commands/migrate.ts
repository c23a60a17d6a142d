import type { Command } from 'commander';
import { openStore } from '../../../compose/open-store.js';
import { redactStoreUrl } from '../../../config/store-url.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

export function registerMigrate(program: Command): void {
  withSettings(program.command('migrate').description("create or upgrade the store's schema"), STORE_FLAGS)
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const store = await openStore(config);
      await store.close();
      process.stdout.write(`Schema of ${redactStoreUrl(config.storeUrl)} is up to date.\n`);
    });
}
