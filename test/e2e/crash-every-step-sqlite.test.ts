import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteReader } from '../support/faults/crash-scenario.js';
import { describeCrashMatrix } from '../support/faults/matrix.js';

/** Issue 15, item 2, on SQLite: one database file for every scenario (docs/testing.md). */
describeCrashMatrix('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paylog-crash-sqlite-'));
  const reader = sqliteReader(join(dir, 'paylog.db'));
  return {
    env: { PAYLOG_DATA_DIR: dir },
    reader,
    async close() {
      await reader.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
