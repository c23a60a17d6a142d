// The soak's PostgreSQL: bench/postgres-cluster.mjs's throwaway cluster, plus what the soak
// needs of it: stopping and starting it again (a fault). Debian's server binaries, run as the
// postgres user when root (PostgreSQL refuses root).
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../bench/lib.mjs';
import { postgresBinDir } from '../bench/postgres-cluster.mjs';

const run = promisify(execFile);

export async function startPostgres() {
  const { bin } = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'paylog-soak-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const pgCtl = (cmd, args) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  await pgCtl('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = () => pgCtl('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', 'start', '-o', options]);
  /** A fast stop: open connections are cut, as when the database server restarts. */
  const stop = () => pgCtl('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
  await start();
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
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
