import { type Stats, accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type CheckResult, fail, ok, shellWord, skip } from '../../../core/check-result.js';
import { SCHEMA_VERSION } from './schema.js';

/** The triggers that keep the journal, its checkpoints and its tree append-only (schema.ts). */
const APPEND_ONLY_TRIGGERS = [
  { name: 'journal_no_update', event: 'UPDATE', table: 'journal', what: 'journal is' },
  { name: 'journal_no_delete', event: 'DELETE', table: 'journal', what: 'journal is' },
  { name: 'checkpoints_no_update', event: 'UPDATE', table: 'checkpoints', what: 'checkpoints are' },
  { name: 'checkpoints_no_delete', event: 'DELETE', table: 'checkpoints', what: 'checkpoints are' },
  { name: 'journal_tree_no_update', event: 'UPDATE', table: 'journal_tree', what: 'the journal tree is' },
  { name: 'journal_tree_no_delete', event: 'DELETE', table: 'journal_tree', what: 'the journal tree is' },
] as const;

/** How long the read-only look waits for a writer's lock. */
const READ_BUSY_TIMEOUT_MS = 5_000;

/**
 * `paylog doctor` on SQLite: the file and its directory (rights of the user running this),
 * then, read-only, the journal mode, the schema version and the append-only triggers. It
 * never creates the database file: a missing one is a failed check with the command that
 * creates it.
 */
export function sqliteDoctor(path: string): CheckResult[] {
  const migrate = `paylog migrate --store ${shellWord(`sqlite:${path}`)}`;
  const dir = dirname(path);
  const user = currentUser();
  const later = (why: string): CheckResult[] => ['journal mode', 'schema version', 'append-only triggers'].map((name) => skip(name, `not checked: ${why}`));

  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = codeOf(err);
    if (code !== 'ENOENT') return [fail('file', `cannot look at ${path} (${code})`), ...later('the file cannot be looked at')];
    const dirProblem = accessProblem(dir, constants.W_OK | constants.X_OK);
    const where = dirProblem === 'ENOENT'
      ? `nor does its directory ${dir}; ${migrate} creates both`
      : dirProblem === null
        ? `its directory ${dir} can hold it; create it with: ${migrate} (or start the server: paylog serve)`
        : `and ${user} cannot create files in its directory ${dir} (${dirProblem}); make ${dir} writable for ${user}, then run ${migrate}`;
    return [fail('file', `${path} does not exist, ${where}`), ...later('there is no file')];
  }
  if (!stats.isFile()) return [fail('file', `${path} is not a regular file, expected the SQLite database; point --store at the file`), ...later('there is no file')];

  const results: CheckResult[] = [ok('file', `${path} (${size(stats.size)})`)];
  const unusable = [path, `${path}-wal`, `${path}-shm`].flatMap((file) => {
    const problem = accessProblem(file, constants.R_OK | constants.W_OK);
    return problem === null || (problem === 'ENOENT' && file !== path) ? [] : [`${file} (${problem})`];
  });
  results.push(unusable.length === 0
    ? ok('file access', `readable and writable by ${user}`)
    : fail('file access', `${user} cannot read and write ${unusable.join(', ')}; paylog writes every request there: give ${user} read and write access (chown, or chmod u+rw)`));

  const dirProblem = accessProblem(dir, constants.W_OK | constants.X_OK);
  results.push(dirProblem === null
    ? ok('directory', `${dir} is writable by ${user}, as SQLite's -wal and -shm files need`)
    : fail('directory', `${user} cannot create files in ${dir} (${dirProblem}); SQLite needs ${path}-wal and ${path}-shm beside the database: make ${dir} writable for ${user}`));

  return [...results, ...readOnlyChecks(path, migrate)];
}

/** What only a look inside the file tells; opened read-only, so nothing is migrated or changed. */
function readOnlyChecks(path: string, migrate: string): CheckResult[] {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: READ_BUSY_TIMEOUT_MS });
  } catch (err) {
    return [fail('journal mode', `cannot open ${path} read-only (${codeOf(err)})`), skip('schema version', 'not checked: the file cannot be opened'), skip('append-only triggers', 'not checked: the file cannot be opened')];
  }
  try {
    let mode: string;
    let version: number;
    try {
      mode = String(db.pragma('journal_mode', { simple: true }));
      version = Number(db.pragma('user_version', { simple: true }));
    } catch (err) {
      const why = codeOf(err) === 'SQLITE_NOTADB' ? `${path} is not a SQLite database (SQLITE_NOTADB)` : `cannot read ${path} (${codeOf(err)})`;
      return [fail('journal mode', `${why}; point --store at paylog's database file`), skip('schema version', 'not checked: the file cannot be read'), skip('append-only triggers', 'not checked: the file cannot be read')];
    }
    const results: CheckResult[] = [mode === 'wal'
      ? ok('journal mode', 'wal')
      : fail('journal mode', `journal_mode is ${mode}, expected wal (readers beside the writer, one fsync per group commit); paylog sets it when it opens the file: ${migrate}`)];

    if (version === SCHEMA_VERSION) {
      results.push(ok('schema version', `${version}, current`));
    } else if (version > SCHEMA_VERSION) {
      results.push(fail('schema version', `${version}, newer than this paylog's ${SCHEMA_VERSION}; upgrade paylog`));
    } else {
      const found = version === 0 ? 'no paylog schema (version 0)' : `schema version ${version}`;
      results.push(fail('schema version', `${found}, expected ${SCHEMA_VERSION}; ${version === 0 ? 'create' : 'upgrade'} it with: ${migrate}`));
    }
    if (version !== SCHEMA_VERSION) {
      results.push(skip('append-only triggers', 'not checked: the schema is not current'));
      return results;
    }
    const present = new Map((db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'").all() as { name: string; sql: string | null }[])
      .map((t) => [t.name, t.sql ?? '']));
    // A trigger of the right name that no longer raises guards nothing.
    const wrong = APPEND_ONLY_TRIGGERS.filter((t) => !/RAISE\s*\(\s*ABORT/i.test(present.get(t.name) ?? ''));
    results.push(wrong.length === 0
      ? ok('append-only triggers', `${APPEND_ONLY_TRIGGERS.map((t) => t.name).join(', ')}`)
      : fail('append-only triggers', `${wrong.map((t) => t.name).join(', ')} ${wrong.length === 1 ? 'is' : 'are'} missing or raise nothing, expected all ${APPEND_ONLY_TRIGGERS.length} (they refuse UPDATE and DELETE on the journal, its checkpoints and its tree); check the journal with paylog verify, then recreate ${wrong.length === 1 ? 'it' : 'them'}: sqlite3 ${shellWord(path)} ${shellWord(wrong.map(triggerSql).join(' '))}`));
    return results;
  } finally {
    db.close();
  }
}

function triggerSql(t: (typeof APPEND_ONLY_TRIGGERS)[number]): string {
  return `DROP TRIGGER IF EXISTS ${t.name}; CREATE TRIGGER ${t.name} BEFORE ${t.event} ON ${t.table} BEGIN SELECT RAISE(ABORT, '${t.what} append-only'); END;`;
}

/** Null when this user has the access, else the reason's code (ENOENT, EACCES, EROFS, EPERM…). Root passes mode bits but not a read-only mount. */
function accessProblem(path: string, mode: number): string | null {
  try {
    accessSync(path, mode);
    return null;
  } catch (err) {
    return codeOf(err);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error';
}

/** The user whose rights were checked: its name, or its uid when it has none (a container's arbitrary uid). */
function currentUser(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
