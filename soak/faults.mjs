// The soak's faults. Each runs to its end and leaves the system able to serve again: a killed
// or stopped instance is started again, PostgreSQL is started again, the disk is freed. What
// each did goes into the report.
import { execFile } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FILL_CHUNK_BYTES = 1024 * 1024;
/** The simulated gateway's answer time while "slow": past the attempt timeout, so every attempt times out. */
export const SLOW_GATEWAY_LATENCY_MS = 1_500;

export const FAULT_KINDS = ['kill9', 'sigterm', 'postgresRestart', 'diskFull', 'slowGateway'];

/** Mounts a tmpfs of `sizeMiB` at `dir` (as root); fails with a clear message when that is not permitted. */
export async function mountTmpfs(dir, sizeMiB) {
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    throw new Error(`the full-disk fault needs a small tmpfs for the SQLite store, and mount -t tmpfs failed (run the soak as root, or in a container allowed to mount): ${String(err.stderr || err.message).trim()}`);
  }
  return { dir, unmount: () => run('umount', [dir]).catch(() => run('umount', ['-l', dir])) };
}

/** Writes a filler file until the file system is full; returns the bytes written. */
function fill(path) {
  const chunk = Buffer.alloc(FILL_CHUNK_BYTES, 0x55);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if (err.code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

/**
 * @param {{ rng: object, postgres: object, tmpfs: { dir: string }, victims: () => import('./instance.mjs').Instance[], heal: (instances: import('./instance.mjs').Instance[]) => Promise<string[]> }} context
 */
export function faultRunner({ rng, postgres, tmpfs, victims, heal, instances }) {
  const hold = (minMs, maxMs) => new Promise((r) => setTimeout(r, rng.int(minMs, maxMs)));
  const during = async (list, work) => {
    for (const i of list) i.busy = true;
    try { return await work(); } finally { for (const i of list) i.busy = false; }
  };
  return {
    async kill9() {
      const victim = rng.pick(victims());
      return during([victim], async () => {
        await victim.stop('SIGKILL');
        await victim.start();
        return { victim: victim.name };
      });
    },
    async sigterm() {
      const victim = rng.pick(victims());
      return during([victim], async () => {
        const code = await victim.stop('SIGTERM');
        await victim.start();
        return { victim: victim.name, exitCode: code };
      });
    },
    async postgresRestart() {
      const pgInstances = instances.filter((i) => i.store === 'postgres');
      return during(pgInstances, async () => {
        await postgres.stop();
        await hold(1_000, 4_000);
        await postgres.start();
        return { restarted: await heal(pgInstances) };
      });
    },
    async diskFull() {
      const sqlite = instances.filter((i) => i.store === 'sqlite');
      return during(sqlite, async () => {
        const filler = join(tmpfs.dir, 'filler');
        const bytes = fill(filler);
        await hold(2_000, 5_000);
        rmSync(filler, { force: true });
        return { fillerMiB: Math.round(bytes / 1024 / 1024), restarted: await heal(sqlite) };
      });
    },
    async slowGateway() {
      const victim = rng.pick(victims());
      return during([victim], async () => {
        await victim.stop('SIGTERM');
        await victim.start({ PAYLOG_GATEWAY_LATENCY_MS: String(SLOW_GATEWAY_LATENCY_MS) });
        await hold(5_000, 10_000);
        const code = await victim.stop('SIGTERM');
        await victim.start();
        return { victim: victim.name, exitCodeWhileSlow: code };
      });
    },
  };
}
