import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './process.js';

const run = promisify(execFile);

export interface PostgresCluster {
  /** A connection URL for a database of this cluster (default: postgres). */
  url(database?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and removes its files. */
  destroy(): Promise<void>;
}

/** Debian's versioned PostgreSQL binaries (not on PATH), highest version first. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's postgresql package (.ci/run does)");
  return join(root, versions[0] as string, 'bin');
}

/**
 * A throwaway PostgreSQL cluster in a temp dir on a free loopback port. PostgreSQL refuses
 * to run as root, so as root (CI) its commands run as the postgres user.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'paylog-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
    // Every parent of the cluster's directory must be traversable by the postgres user.
    await run('runuser', ['-u', 'postgres', '--', 'test', '-w', dir]).catch(() => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the postgres user cannot reach ${dir}: point TMPDIR at a directory every user can traverse (e.g. /tmp)`);
    });
  }
  const pgRun = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const log = join(dir, 'log');
  const start = async (): Promise<void> => {
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`;
    await pgRun('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', 'start', '-o', options]).catch((err: unknown) => {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
      throw new Error(`PostgreSQL did not start on port ${port}: ${(err as Error).message}\n${tail}`);
    });
  };
  const stop = async (): Promise<void> => {
    await pgRun('pg_ctl', ['-D', data, '-w', '-t', '30', '-m', 'fast', 'stop']).catch(() => undefined);
  };
  await start();
  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/[^a-z0-9_]/gi, '_')}"`);
      } finally {
        await client.end();
      }
      return url(name.replace(/[^a-z0-9_]/gi, '_'));
    },
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let databases = 0;

/** Creates a fresh database in the cluster behind `baseUrl` and returns its URL. */
export async function freshDatabase(baseUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return baseUrl.replace(/\/[^/]*$/, `/${name}`);
}
