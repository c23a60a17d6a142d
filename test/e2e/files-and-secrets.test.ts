import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { DEMO_CARDS } from '../../src/runtimes/cli/commands/demo.js';
import { FAST_GATEWAY_ENV } from '../support/harness.js';
import { PAYLOG_BIN, freePort, jsonLines, runPaylog, startServerProcess, stopProcess, waitForReady } from '../support/process.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13, files and secrets: what paylog writes is its owner's alone whatever the umask, a
 * key file others may read stops it, and no secret ever sits on a command line — its own or its
 * workers'. Real processes, real files, run under `umask 022` by a shell as an init script would.
 */

const mode = (path: string): number => statSync(path).mode & 0o777;
const octal = (m: number): string => `0${m.toString(8)}`;
const pem = (): string => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

/** Every process a test started, so that afterAll can kill what a failed test left running. */
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'paylog-files-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const UMASK_022 = 'umask 022; exec "$0" "$@"';

/** Runs a paylog command to completion under umask 022. */
function runUnderUmask(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('/bin/sh', ['-c', UMASK_022, process.execPath, PAYLOG_BIN, ...args], {
    env: { ...process.env, ...FAST_GATEWAY_ENV, ...env }, encoding: 'utf8', timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts `paylog serve` under umask 022 and waits until it answers /readyz. */
async function serveUnderUmask(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn('/bin/sh', ['-c', UMASK_022, process.execPath, PAYLOG_BIN, 'serve'], {
    env: { ...process.env, ...FAST_GATEWAY_ENV, ...env, PAYLOG_PORT: String(port), PAYLOG_HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.add(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(child, url, () => stderr);
  return { child, url };
}

/** The one line a refused start prints, and its exit code 2. */
function refusedWith(result: { status: number | null; stdout: string; stderr: string }): string {
  expect(result.status, result.stdout + result.stderr).toBe(2);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] as string;
}

describe('file modes under umask 022', () => {
  it('serve: the data dir is 0700; paylog.db, its -wal and -shm and both generated keys are 0600', async () => {
    const dataDir = join(base, 'data');
    const server = await serveUnderUmask({ PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' });
    try {
      const db = join(dataDir, 'paylog.db');
      // Files paylog did not create itself (SQLite's -wal and -shm) follow the database file's mode.
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(existsSync(file), file).toBe(true);
      expect(octal(mode(dataDir))).toBe('0700');
      for (const file of [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'signing-key.pem'), join(dataDir, 'fingerprint.key')]) {
        expect(octal(mode(file)), file).toBe('0600');
      }
    } finally {
      expect(await stopProcess(server.child)).toBe(0);
    }
  });

  it('keys create: the same, also for a store outside the data dir, whose directories paylog creates 0700', () => {
    const dataDir = join(base, 'keys');
    const db = join(base, 'db', 'nested', 'paylog.db');
    const created = runUnderUmask(['keys', 'create', '--merchant', 'acme', '--store', `sqlite:${db}`], { PAYLOG_DATA_DIR: dataDir });
    expect(created.status, created.stderr).toBe(0);
    for (const dir of [dataDir, join(base, 'db'), join(base, 'db', 'nested')]) expect(octal(mode(dir)), dir).toBe('0700');
    for (const file of [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'signing-key.pem'), join(dataDir, 'fingerprint.key')]) {
      if (file.endsWith('-wal') || file.endsWith('-shm')) {
        // A clean close checkpoints and may remove them; when they are left, they are private too.
        if (!existsSync(file)) continue;
      }
      expect(octal(mode(file)), file).toBe('0600');
    }
  });

  it('a database, WAL and SHM an older paylog left 0644 are tightened to 0600 when opened', () => {
    const dataDir = join(base, 'data');
    expect(runUnderUmask(['migrate'], { PAYLOG_DATA_DIR: dataDir }).status).toBe(0);
    const db = join(dataDir, 'paylog.db');
    chmodSync(db, 0o644);
    // A reader holding the file open keeps -wal and -shm, which SQLite makes with the database's mode.
    const reader = new Database(db);
    try {
      reader.prepare('SELECT count(*) FROM sqlite_master').get();
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(octal(mode(file)), file).toBe('0644');
      const created = runUnderUmask(['keys', 'create', '--merchant', 'acme'], { PAYLOG_DATA_DIR: dataDir });
      expect(created.status, created.stderr).toBe(0);
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect(octal(mode(file)), file).toBe('0600');
    } finally {
      reader.close();
    }
  });

  it('an existing data dir open to group or others is refused, naming it and the chmod to run', () => {
    const dataDir = join(base, 'shared');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const line = refusedWith(runPaylog(['keys', 'create', '--merchant', 'acme'], { PAYLOG_DATA_DIR: dataDir }));
    expect(line).toBe(`paylog: PAYLOG_DATA_DIR: the directory ${dataDir} has mode 0755, open to group or others; it holds the database and keys: run chmod 700 ${dataDir}`);
    expect(existsSync(join(dataDir, 'signing-key.pem'))).toBe(false);
    expect(existsSync(join(dataDir, 'paylog.db'))).toBe(false);
    // The directory of a SQLite store given apart from the data dir is held to the same rule.
    const dbDir = join(base, 'db');
    mkdirSync(dbDir, { mode: 0o750 });
    chmodSync(dbDir, 0o750);
    const store = refusedWith(runPaylog(['migrate', '--store', `sqlite:${join(dbDir, 'paylog.db')}`], { PAYLOG_DATA_DIR: join(base, 'keys') }));
    expect(store).toBe(`paylog: PAYLOG_STORE: the directory ${dbDir} has mode 0750, open to group or others; it holds the database and keys: run chmod 700 ${dbDir}`);
  });

  it('the witness: its data dir 0700, witness.db, -wal, -shm and witness-key.pem 0600', async () => {
    const dataDir = join(base, 'witness');
    const log = signerFromPrivateKey('log.test', createPrivateKey(pem()));
    const port = await freePort();
    const child = spawn('/bin/sh', ['-c', UMASK_022, process.execPath, PAYLOG_BIN, 'witness', 'serve', '--data-dir', dataDir, '--port', String(port), '--log', verifierKeyOf(log)], {
      env: { ...process.env, PAYLOG_WITNESS_LOG_LEVEL: 'silent' }, stdio: 'ignore',
    });
    started.add(child);
    await waitFor('paylog witness serve to answer', async () => {
      if (child.exitCode !== null) throw new Error(`paylog witness serve exited with ${child.exitCode}`);
      return existsSync(join(dataDir, 'witness.db-shm')) && await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    });
    try {
      expect(octal(mode(dataDir))).toBe('0700');
      const db = join(dataDir, 'witness.db');
      for (const file of [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'witness-key.pem')]) expect(octal(mode(file)), file).toBe('0600');
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('a key file group or others may read stops the process (exit 2, one line)', () => {
  const unprotected = (setting: string, path: string, m: number): string =>
    `paylog: ${setting}: UNPROTECTED PRIVATE KEY FILE ${path} has mode ${octal(m)}, readable by group or others; run chmod 600 ${path} (and rotate the key if anyone else could read it)`;

  it('PAYLOG_SIGNING_KEY_FILE and PAYLOG_PREVIOUS_SIGNING_KEY_FILE, without printing the key', () => {
    const key = join(base, 'signing.pem');
    const text = pem();
    writeFileSync(key, text, { mode: 0o644 });
    chmodSync(key, 0o644);
    const result = runPaylog(['keys', 'public'], { PAYLOG_DATA_DIR: join(base, 'data'), PAYLOG_SIGNING_KEY_FILE: key });
    expect(refusedWith(result)).toBe(unprotected('PAYLOG_SIGNING_KEY_FILE', key, 0o644));
    expect(result.stderr).not.toContain('PRIVATE KEY-----');
    // The owner-only modes are accepted, read-only included.
    for (const ok of [0o600, 0o400]) {
      chmodSync(key, ok);
      expect(runPaylog(['keys', 'public'], { PAYLOG_DATA_DIR: join(base, 'data'), PAYLOG_SIGNING_KEY_FILE: key }).status).toBe(0);
    }
    const previous = join(base, 'previous.pem');
    writeFileSync(previous, pem());
    chmodSync(previous, 0o640);
    expect(refusedWith(runPaylog(['keys', 'public'], { PAYLOG_DATA_DIR: join(base, 'data'), PAYLOG_SIGNING_KEY_FILE: key, PAYLOG_PREVIOUS_SIGNING_KEY_FILE: previous })))
      .toBe(unprotected('PAYLOG_PREVIOUS_SIGNING_KEY_FILE', previous, 0o640));
  });

  it('the generated signing-key.pem and fingerprint.key in the data dir, once loosened', () => {
    const dataDir = join(base, 'data');
    expect(runPaylog(['keys', 'create', '--merchant', 'acme'], { PAYLOG_DATA_DIR: dataDir }).status).toBe(0);
    const signing = join(dataDir, 'signing-key.pem');
    chmodSync(signing, 0o604);
    expect(refusedWith(runPaylog(['keys', 'create', '--merchant', 'acme'], { PAYLOG_DATA_DIR: dataDir }))).toBe(unprotected('PAYLOG_DATA_DIR', signing, 0o604));
    chmodSync(signing, 0o600);
    const fingerprint = join(dataDir, 'fingerprint.key');
    chmodSync(fingerprint, 0o644);
    expect(refusedWith(runPaylog(['serve'], { PAYLOG_DATA_DIR: dataDir }))).toBe(unprotected('PAYLOG_DATA_DIR', fingerprint, 0o644));
  });

  it('PAYLOG_FINGERPRINT_KEY_FILE: refused loose, used when private', () => {
    const file = join(base, 'fingerprint.key');
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`);
    chmodSync(file, 0o644);
    const env = { PAYLOG_DATA_DIR: join(base, 'data'), PAYLOG_FINGERPRINT_KEY_FILE: file };
    expect(refusedWith(runPaylog(['keys', 'create', '--merchant', 'acme'], env))).toBe(unprotected('PAYLOG_FINGERPRINT_KEY_FILE', file, 0o644));
    chmodSync(file, 0o600);
    expect(runPaylog(['keys', 'create', '--merchant', 'acme'], env).status).toBe(0);
    expect(existsSync(join(base, 'data', 'fingerprint.key'))).toBe(false);
  });

  it("the witness's key: PAYLOG_WITNESS_SIGNING_KEY_FILE and its generated witness-key.pem", () => {
    const file = join(base, 'witness.pem');
    writeFileSync(file, pem());
    chmodSync(file, 0o644);
    expect(refusedWith(runPaylog(['witness', 'key', '--signing-key-file', file], {}))).toBe(unprotected('PAYLOG_WITNESS_SIGNING_KEY_FILE', file, 0o644));
    const dataDir = join(base, 'witness');
    expect(runPaylog(['witness', 'key', '--data-dir', dataDir], {}).status).toBe(0);
    const generated = join(dataDir, 'witness-key.pem');
    expect(octal(mode(generated))).toBe('0600');
    chmodSync(generated, 0o644);
    expect(refusedWith(runPaylog(['witness', 'key', '--data-dir', dataDir], {}))).toBe(unprotected('PAYLOG_WITNESS_DATA_DIR', generated, 0o644));
  });
});

describe('secrets on the command line are refused, naming the alternative', () => {
  const refusal = (env: string, flag: string, instead: string): string =>
    `paylog: ${env} (--${flag}): refused on the command line, where every user of this machine can read it (ps); use ${instead}`;

  it('--signing-key, --previous-signing-key, --fingerprint-key: before anything is created, without echoing the value', () => {
    const dataDir = join(base, 'data');
    const key = pem();
    const fingerprint = randomBytes(32).toString('base64');
    const cases: [string[], string][] = [
      [['serve', '--signing-key', key], refusal('PAYLOG_SIGNING_KEY', 'signing-key', 'PAYLOG_SIGNING_KEY or --signing-key-file')],
      [['keys', 'public', '--signing-key', key], refusal('PAYLOG_SIGNING_KEY', 'signing-key', 'PAYLOG_SIGNING_KEY or --signing-key-file')],
      [['serve', '--previous-signing-key', key], refusal('PAYLOG_PREVIOUS_SIGNING_KEY', 'previous-signing-key', 'PAYLOG_PREVIOUS_SIGNING_KEY or --previous-signing-key-file')],
      [['serve', '--fingerprint-key', fingerprint], refusal('PAYLOG_FINGERPRINT_KEY', 'fingerprint-key', 'PAYLOG_FINGERPRINT_KEY or --fingerprint-key-file')],
      [['serve', '--workers', '2', '--fingerprint-key', fingerprint], refusal('PAYLOG_FINGERPRINT_KEY', 'fingerprint-key', 'PAYLOG_FINGERPRINT_KEY or --fingerprint-key-file')],
    ];
    for (const [args, expected] of cases) {
      const result = runPaylog(args, { PAYLOG_DATA_DIR: dataDir });
      expect(refusedWith(result), args.join(' ')).toBe(expected);
      expect(result.stderr).not.toContain(fingerprint);
      expect(result.stderr).not.toContain('PRIVATE KEY-----');
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it("witness serve --signing-key, demo --key and checkpoints fetch --key", () => {
    expect(refusedWith(runPaylog(['witness', 'serve', '--signing-key', pem()], { PAYLOG_WITNESS_DATA_DIR: join(base, 'w') })))
      .toBe(refusal('PAYLOG_WITNESS_SIGNING_KEY', 'signing-key', 'PAYLOG_WITNESS_SIGNING_KEY or --signing-key-file'));
    expect(refusedWith(runPaylog(['demo', '--url', 'http://127.0.0.1:9', '--key', 'sk_test_secret'], { PAYLOG_DATA_DIR: join(base, 'data') })))
      .toBe(refusal('PAYLOG_API_KEY', 'key', 'PAYLOG_API_KEY'));
    expect(refusedWith(runPaylog(['checkpoints', 'fetch', '--url', 'http://127.0.0.1:9', '--key', 'sk_test_secret'], {})))
      .toBe(refusal('PAYLOG_API_KEY', 'key', 'PAYLOG_API_KEY'));
    expect(existsSync(join(base, 'data'))).toBe(false);
  });

  it('a PostgreSQL password in --store', () => {
    const result = runPaylog(['doctor', '--store', 'postgres://paylog:s3cret-pass@127.0.0.1:9/paylog'], { PAYLOG_DATA_DIR: join(base, 'data') });
    expect(refusedWith(result)).toBe(refusal('PAYLOG_STORE', 'store', 'PAYLOG_STORE for a URL with a password, or PGPASSWORD'));
    expect(result.stderr).not.toContain('s3cret-pass');
  });

  it('demo takes its API key from PAYLOG_API_KEY and then never opens the local store', async () => {
    const dataDir = join(base, 'data');
    const server = await startServerProcess({ PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' });
    try {
      const created = runPaylog(['keys', 'create', '--merchant', 'acme'], { PAYLOG_DATA_DIR: dataDir });
      expect(created.status, created.stderr).toBe(0);
      const secret = created.stdout.trimEnd().split('\n').at(-1) as string;
      const elsewhere = join(base, 'demo-data');
      const demo = runPaylog(['demo', '--url', server.url], { PAYLOG_API_KEY: secret, PAYLOG_DATA_DIR: elsewhere });
      expect(demo.status, demo.stdout + demo.stderr).toBe(0);
      expect(demo.stderr).not.toContain('Created API key');
      expect(existsSync(elsewhere)).toBe(false);
      const rows = demo.stdout.trimEnd().split('\n').slice(1);
      expect(rows).toHaveLength(DEMO_CARDS.length);
      const id = rows.map((r) => r.split(/\s{2,}/).at(-1)).find((c) => c?.startsWith('txn_')) as string;
      const payment = await fetch(`${server.url}/v1/payments/${id}`, { headers: { authorization: `Bearer ${secret}` } });
      expect(payment.status).toBe(200);
      expect(((await payment.json()) as { merchantId: string }).merchantId).toBe('acme');
    } finally {
      expect(await stopProcess(server.child)).toBe(0);
    }
  });

  it("serve --workers 2: the workers' command lines hold no setting, their environment carries the flags and keys", async () => {
    const key = pem();
    const fingerprint = randomBytes(32).toString('base64');
    const db = join(base, 'db', 'cluster.db');
    const child = spawn(process.execPath, [PAYLOG_BIN, 'serve', '--workers', '2', '--port', '0', '--host', '127.0.0.1', '--store', `sqlite:${db}`, '--journal', 'files-test', '--log-level', 'info'], {
      env: { ...process.env, ...FAST_GATEWAY_ENV, PAYLOG_SIGNING_KEY: key, PAYLOG_FINGERPRINT_KEY: fingerprint, PAYLOG_DATA_DIR: join(base, 'data'), PAYLOG_RECONCILE_INTERVAL_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    const logs = (): { msg?: string; role?: string; url?: string; workerPid?: number }[] => jsonLines(stdout);
    await waitFor(() => `the workers to serve: ${stderr}`, () => {
      if (child.exitCode !== null) throw new Error(`paylog serve --workers exited with ${child.exitCode}: ${stderr}`);
      return logs().some((l) => l.role === 'primary' && l.msg === 'paylog workers serving');
    });
    await waitForReady(child, logs().find((l) => l.msg === 'paylog workers serving')?.url as string, () => stderr);
    try {
      const workerPids = logs().filter((l) => l.role === 'primary' && l.msg === 'worker listening').map((l) => l.workerPid as number);
      expect(workerPids).toHaveLength(2);
      const secrets = [key, fingerprint, key.split('\n')[1] as string];
      for (const pid of [child.pid as number, ...workerPids]) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        for (const secret of secrets) expect(cmdline, `pid ${pid}`).not.toContain(secret);
      }
      for (const pid of workerPids) {
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '')).toEqual([process.execPath, PAYLOG_BIN, 'serve']);
      }
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code, stderr).toBe(0);
    }
    // The workers ran with the primary's flags (its store, its journal name) and the key from its
    // environment: the journal they wrote verifies with that key's verifier key.
    const vkey = verifierKeyOf(signerFromPrivateKey('files-test', createPrivateKey(key)));
    const verified = runPaylog(['verify', '--store', `sqlite:${db}`, '--journal', 'files-test', '--key', vkey, '--json'], { PAYLOG_DATA_DIR: join(base, 'data') });
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(existsSync(join(base, 'data'))).toBe(false);
  });
});
