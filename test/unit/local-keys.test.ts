import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadFingerprintKey } from '../../src/compose/local-keys.js';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import { loadConfig } from '../../src/config/config.js';
import { verifierKeyOf } from '../../src/core/signed-note.js';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-keys-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const configFor = () => loadConfig({}, { PAYLOG_DATA_DIR: dataDir });

describe('keys generated into the data directory', () => {
  it('are created once, mode 0600, and read back the same', () => {
    const fingerprint = loadFingerprintKey(configFor());
    const signing = verifierKeyOf(loadSigningKeys(configFor()).current);
    expect(fingerprint).toHaveLength(32);
    expect(loadFingerprintKey(configFor()).equals(fingerprint)).toBe(true);
    expect(verifierKeyOf(loadSigningKeys(configFor()).current)).toBe(signing);
    for (const file of ['fingerprint.key', 'signing-key.pem']) expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a fingerprint key file that holds less than 32 bytes, without echoing it', () => {
    writeFileSync(join(dataDir, 'fingerprint.key'), 'c2hvcnQ=\n', { mode: 0o600 });
    expect(() => loadFingerprintKey(configFor())).toThrow(/does not hold a base64 key of at least 32 bytes/);
    expect(() => loadFingerprintKey(configFor())).not.toThrow(/c2hvcnQ/);
  });

  it('refuses a key file group or others may read, naming it, its mode and the chmod, without echoing it', () => {
    const fingerprint = loadFingerprintKey(configFor()).toString('base64');
    const path = join(dataDir, 'fingerprint.key');
    chmodSync(path, 0o640);
    expect(() => loadFingerprintKey(configFor())).toThrow(`PAYLOG_DATA_DIR: UNPROTECTED PRIVATE KEY FILE ${path} has mode 0640, readable by group or others; run chmod 600 ${path}`);
    expect(() => loadFingerprintKey(configFor())).not.toThrow(fingerprint);
    loadSigningKeys(configFor());
    chmodSync(join(dataDir, 'signing-key.pem'), 0o644);
    expect(() => loadSigningKeys(configFor())).toThrow(/UNPROTECTED PRIVATE KEY FILE .*signing-key\.pem has mode 0644/);
  });

  it('refuses a data directory open to group or others, and creates a missing one 0700', () => {
    chmodSync(dataDir, 0o755);
    expect(() => loadSigningKeys(configFor())).toThrow(`PAYLOG_DATA_DIR: the directory ${dataDir} has mode 0755, open to group or others; it holds the database and keys: run chmod 700 ${dataDir}`);
    expect(readdirSync(dataDir)).toEqual([]);
    const fresh = join(dataDir, 'a', 'b');
    loadFingerprintKey(loadConfig({}, { PAYLOG_DATA_DIR: fresh }));
    expect(statSync(join(dataDir, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
  });

  it('reads a configured fingerprint key file only its owner may read', () => {
    const path = join(dataDir, 'configured.key');
    const key = Buffer.alloc(32, 7);
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o400 });
    expect(loadFingerprintKey(loadConfig({}, { PAYLOG_DATA_DIR: dataDir, PAYLOG_FINGERPRINT_KEY_FILE: path })).equals(key)).toBe(true);
    expect(readdirSync(dataDir)).toEqual(['configured.key']);
    chmodSync(path, 0o444);
    expect(() => loadFingerprintKey(loadConfig({}, { PAYLOG_DATA_DIR: dataDir, PAYLOG_FINGERPRINT_KEY_FILE: path }))).toThrow(/^PAYLOG_FINGERPRINT_KEY_FILE: UNPROTECTED PRIVATE KEY FILE .* has mode 0444/);
  });

  it('are the same for every one of 12 processes starting at once on a fresh directory', async () => {
    // The built modules, as `paylog serve` runs them (npm test builds first).
    const dist = (file: string) => JSON.stringify(pathToFileURL(join(process.cwd(), 'dist', file)).href);
    const script = `
      const { loadConfig } = await import(${dist('config/config.js')});
      const { loadFingerprintKey } = await import(${dist('compose/local-keys.js')});
      const { loadSigningKeys } = await import(${dist('compose/signing-keys.js')});
      const { verifierKeyOf } = await import(${dist('core/signed-note.js')});
      const config = loadConfig({}, { PAYLOG_DATA_DIR: ${JSON.stringify(dataDir)} });
      process.stdout.write(loadFingerprintKey(config).toString('base64') + ' ' + verifierKeyOf(loadSigningKeys(config).current));`;
    const run = () => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    const results = await Promise.all(Array.from({ length: 12 }, run));
    for (const r of results) expect(r.code, r.err).toBe(0);
    expect(new Set(results.map((r) => r.out)).size).toBe(1);
    expect(results[0]?.out).toMatch(/^\S{44} paylog-local\+/);
    expect(readdirSync(dataDir).sort()).toEqual(['fingerprint.key', 'signing-key.pem']);
  });
});
