import type Database from 'better-sqlite3';
import { expect } from 'vitest';

/**
 * Drops the append-only triggers of a SQLite paylog file, as an attacker with the file would,
 * so a test can change, delete or insert what the service itself never could. Only the
 * journal's by default; `table: null` drops every trigger of the file. Fails the test if
 * there was none to drop (the guard it means to get around is missing).
 */
export function dropTriggers(db: Database.Database, table: string | null = 'journal'): void {
  const names = (table === null
    ? db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all()
    : db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?").pluck().all(table)) as string[];
  expect(names.length, `triggers on ${table ?? 'any table'}`).toBeGreaterThan(0);
  for (const name of names) db.exec(`DROP TRIGGER "${name}"`);
}
