// A throwaway PostgreSQL cluster for the postgres scenario: a minimal copy of
// test/support/postgres.ts (initdb/pg_ctl from /usr/lib/postgresql/<v>/bin, run as the
// postgres user when root; a temp dir, a free loopback port, fsync and synchronous_commit on).
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './lib.mjs';

const run = promisify(execFile);

export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  return { bin: join(root, versions[0], 'bin'), version: versions[0] };
}

/**
 * Starts a cluster; `start` and `stop` start it again and stop it fast (open connections cut, as
 * when the database server restarts: the chaos soak's fault), `destroy` stops it and removes it.
 */
export async function startPostgresCluster({ prefix = 'paylog-bench-pg-' } = {}) {
  const { bin, version } = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  const port = await freePort();
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
  }
  const pgRun = (cmd, args) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = () => pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', 'start', '-o', options]);
  const stop = () => pgRun('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
  await start();
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    version,
    url,
    start,
    stop,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try { await client.query(`CREATE DATABASE "${name}"`); } finally { await client.end(); }
      return url(name);
    },
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
