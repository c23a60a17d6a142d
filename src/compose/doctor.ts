import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import { redactStoreUrl } from '../config/store-url.js';
import { type CheckResult, ok } from '../core/check-result.js';

export interface DoctorReport {
  /** The store as it may be printed (no password). */
  target: string;
  checks: CheckResult[];
}

/**
 * `paylog doctor`: the checks of the configured store, loading only that store's adapter.
 * It opens nothing the way the service does (no migration, no journal stream, no file
 * created); a configuration it cannot act on throws ConfigError (exit 2).
 */
export async function runDoctor(config: Config): Promise<DoctorReport> {
  const location = config.store;
  const target = redactStoreUrl(config.storeUrl);
  switch (location.kind) {
    case 'sqlite': {
      const { sqliteDoctor } = await import('../adapters/store/sqlite/doctor.js');
      return { target, checks: sqliteDoctor(location.path) };
    }
    case 'postgres': {
      const { postgresDoctor } = await import('../adapters/store/postgres/doctor.js');
      return { target, checks: await postgresDoctor(location.url, target) };
    }
    case 'dynamodb': {
      const [{ DynamoUrlError }, { dynamoDoctor }] = await Promise.all([
        import('../adapters/store/dynamodb/url.js'),
        import('../adapters/store/dynamodb/doctor.js'),
      ]);
      try {
        return { target, checks: await dynamoDoctor(location.url) };
      } catch (err) {
        throw err instanceof DynamoUrlError ? new ConfigError(`PAYLOG_STORE (--store): ${err.message}`) : err;
      }
    }
    case 'memory':
      return { target, checks: [ok('store', 'memory: lives inside each process and is gone when it ends; nothing to check')] };
  }
}
