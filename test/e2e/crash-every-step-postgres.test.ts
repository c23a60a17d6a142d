import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { postgresReader } from '../support/faults/crash-scenario.js';
import { describeCrashMatrix } from '../support/faults/matrix.js';
import { freshDatabase } from '../support/postgres.js';

/** Issue 15, item 2, on PostgreSQL: one database of the run's cluster for every scenario (docs/testing.md). */
describeCrashMatrix('PostgreSQL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paylog-crash-postgres-'));
  const url = await freshDatabase(inject('postgresUrl'), 'crash');
  const reader = postgresReader(url);
  return {
    env: { PAYLOG_STORE: url, PAYLOG_DATA_DIR: dir },
    reader,
    async close() {
      await reader.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
