import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPaylog } from '../support/process.js';

/** `paylog keys create --role`: auditor keys for the audit trail; a bad role or merchant is a usage error (exit 2) naming the flag. */

let dataDir: string;
let env: Record<string, string>;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-roles-'));
  env = { PAYLOG_DATA_DIR: dataDir };
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const SECRET = /^sk_test_[A-Za-z0-9_-]{43}$/;

interface ListedKey { id: string; merchantId: string; role: string; name: string | null }

function listed(): ListedKey[] {
  const result = runPaylog(['keys', 'list', '--json'], env);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListedKey[];
}

describe('paylog keys create --role', () => {
  it('--role auditor makes a key of no merchant; without --role a key is a merchant key', () => {
    const auditor = runPaylog(['keys', 'create', '--role', 'auditor', '--name', 'audit firm'], env);
    expect(auditor.status, auditor.stderr).toBe(0);
    expect(auditor.stdout.trim().split('\n').pop()).toMatch(SECRET);
    expect(auditor.stderr).toMatch(/^Created key_[0-9a-z]{26} for an auditor \(reads \/v1\/audit\/\*, no payments\)/);
    const merchant = runPaylog(['keys', 'create', '--merchant', 'acme'], env);
    expect(merchant.status, merchant.stderr).toBe(0);
    expect(merchant.stderr).toMatch(/for merchant acme\./);

    expect(listed().map(({ merchantId, role, name }) => ({ merchantId, role, name }))).toEqual([
      { merchantId: '', role: 'auditor', name: 'audit firm' },
      { merchantId: 'acme', role: 'merchant', name: null },
    ]);
    const table = runPaylog(['keys', 'list'], env).stdout;
    expect(table.split('\n')[0]).toMatch(/^ID\s+ROLE\s+MERCHANT\s+NAME\s+CREATED\s+STATUS$/);
    expect(table).toMatch(/key_\S+\s+auditor\s+audit firm/);
  });

  it('an unknown role: exit 2, naming --role and the roles there are, and no key made', () => {
    const result = runPaylog(['keys', 'create', '--merchant', 'acme', '--role', 'admin'], env);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--role/);
    expect(result.stderr).toMatch(/merchant, auditor/);
    expect(result.stdout).toBe('');
    expect(listed()).toEqual([]);
  });

  it('--merchant with an auditor key, or a merchant key without one: exit 2 naming --merchant, and no key made', () => {
    for (const args of [['--role', 'auditor', '--merchant', 'acme'], ['--role', 'merchant'], []]) {
      const result = runPaylog(['keys', 'create', ...args], env);
      expect(result.status, args.join(' ')).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^paylog: --merchant: /);
      expect(result.stdout).toBe('');
    }
    expect(listed()).toEqual([]);
  });
});
