import { userInfo } from 'node:os';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { headLine, headOfLine } from '../../src/core/signed-head.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditRecord, GENESIS_PREV, type RecordType, sealRecord } from '../../src/core/audit-record.js';
import { checkpointOrigin, signCheckpoint } from '../../src/core/checkpoint.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';
import { DEMO_CARDS } from '../../src/runtimes/cli/commands/demo.js';
import { commandLine } from '../support/cli.js';
import { startServerProcess, stopProcess } from '../support/process.js';

/** The paylog command line as a user runs it: the built bin, a fresh data dir per test. */

let dataDir: string;
let env: Record<string, string>;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-cli-'));
  env = { PAYLOG_DATA_DIR: dataDir };
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const { run: paylog, ok } = commandLine(() => env);

const SECRET = /^sk_test_[A-Za-z0-9_-]{43}$/;

function createKey(merchant = 'acme', name = 'ci'): string {
  const stdout = ok(['keys', 'create', '--merchant', merchant, '--name', name]);
  const lines = stdout.split('\n').filter((l) => l !== '');
  return lines[lines.length - 1] as string;
}

interface ListedKey {
  id: string;
  merchantId: string;
  name: string | null;
  createdAt: string;
  revokedAt: string | null;
}

function listedKeys(): ListedKey[] {
  return JSON.parse(ok(['keys', 'list', '--json'])) as ListedKey[];
}

/** The records of an export (its head lines left out), without the streams of earlier exports (each records itself as audit.read). */
function exported(args: string[] = []): AuditRecord[] {
  const records = ok(['export', ...args]).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown).filter((v) => headOfLine(v) === null) as AuditRecord[];
  const exports = new Set(records.filter((r) => r.type === 'journal.started' && r.data.role === 'export').map((r) => r.stream));
  return records.filter((r) => !exports.has(r.stream));
}

/** Every file the data dir holds (database, WAL, key file), as one string. */
function dataDirBytes(): string {
  return readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f)).toString('latin1')).join('\n');
}

describe('paylog keys', () => {
  it('create prints the secret alone on the last line of stdout, and only its hash is stored', () => {
    const result = paylog(['keys', 'create', '--merchant', 'acme', '--name', 'ci']);
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[lines.length - 1]).toBe(''); // ends with a newline
    const last = lines[lines.length - 2] as string;
    expect(last).toMatch(SECRET);
    expect(result.stdout.trim()).toBe(last);
    expect(result.stderr).not.toContain(last);
    expect(result.stderr).toMatch(/key_[0-9a-z]{26}/);

    const [key] = listedKeys();
    const stored = dataDirBytes();
    expect(stored).toContain(key?.id); // the key is in there…
    expect(stored).toContain(createHash('sha256').update(last).digest('hex')); // …with the hash of its secret…
    expect(stored).not.toContain(last); // …but never the secret
    expect(stored).not.toContain(last.slice('sk_test_'.length));
  });

  it('list shows the key ID, role, merchant and name but no secret', () => {
    const secret = createKey('acme', 'ci');
    const [key] = listedKeys();
    const stdout = ok(['keys', 'list']);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+MERCHANT\s+NAME\s+CREATED\s+STATUS$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${key?.id}\\s+merchant\\s+acme\\s+ci\\s+\\S+Z\\s+active$`));
    expect(stdout).not.toContain(secret);
    expect(stdout).not.toContain(createHash('sha256').update(secret).digest('hex'));
  });

  it('list --json gives every key without secret or hash', () => {
    const a = createKey('acme', 'ci');
    const b = createKey('globex', 'deploy');
    const stdout = ok(['keys', 'list', '--json']);
    const keys = JSON.parse(stdout) as ListedKey[];
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'merchantId', 'name', 'revokedAt', 'role']);
      expect(key.id).toMatch(/^key_[0-9a-z]{26}$/);
      expect(key.revokedAt).toBeNull();
      expect(new Date(key.createdAt).toISOString()).toBe(key.createdAt);
    }
    expect(keys.map((k) => [k.merchantId, k.name]).sort()).toEqual([['acme', 'ci'], ['globex', 'deploy']]);
    for (const secret of [a, b]) expect(stdout).not.toContain(secret);
    expect(stdout).not.toMatch(/sk_test_|secret/i);
  });

  it('creating and revoking a key are journaled: key.created and key.revoked name the key, its merchant and who acted, and the journal verifies', () => {
    const secret = createKey('acme', 'till-1');
    const [key] = listedKeys();
    ok(['keys', 'revoke', key?.id as string]);
    const records = exported().filter((r) => r.type.startsWith('key.'));
    expect(records.map((r) => [r.type, r.resource, r.outcome])).toEqual([['key.created', key?.id, 'success'], ['key.revoked', key?.id, 'success']]);
    for (const r of records) {
      expect(r.actor).toBe('system:cli');
      expect(r.data).toMatchObject({ merchantId: 'acme', osUser: userInfo().username });
      expect(new Date(r.ts).toISOString()).toBe(r.ts);
    }
    expect(JSON.stringify(records)).not.toContain(secret);
    ok(['verify', '--key', ok(['keys', 'public']).trim()]);
  });

  it('revoke marks the key revoked in the list; an unknown key exits non-zero with one clear line', () => {
    createKey();
    const [key] = listedKeys();
    const revoked = ok(['keys', 'revoke', key?.id as string]);
    expect(revoked).toContain(key?.id);
    expect(listedKeys()[0]?.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(ok(['keys', 'list'])).toMatch(new RegExp(`${key?.id}.*revoked`));

    const unknown = paylog(['keys', 'revoke', 'key_01jdq2zzzzzzzzzzzzzzzzzzzz']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.status).not.toBeNull();
    const lines = unknown.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^paylog: .*key_01jdq2zzzzzzzzzzzzzzzzzzzz/);
    expect(lines[0]).not.toMatch(/\bat \S+:\d+/); // no stack trace
    expect(unknown.stdout).toBe('');
    // The real key is untouched by the failed revocation.
    expect(listedKeys()).toHaveLength(1);
  });
});

describe('bad configuration stops the process with exit 2 and one line naming the setting', () => {
  it.each([
    ['serve', { PAYLOG_PORT: 'abc' }, 'PAYLOG_PORT'],
    ['verify', { PAYLOG_STORE: 'mysql://x' }, 'PAYLOG_STORE'],
    ['migrate', { PAYLOG_LOG_LEVEL: 'loud' }, 'PAYLOG_LOG_LEVEL'],
    ['serve', { PAYLOG_LOG_LEVEL: 'loud' }, 'PAYLOG_LOG_LEVEL'],
  ])('paylog %s with %o', (command, bad, variable) => {
    const result = paylog([command], bad);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((l) => l !== '');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toContain(JSON.stringify(Object.values(bad)[0]));
  });
});

describe('paylog migrate', () => {
  it('says the schema is up to date, and running it again changes nothing', () => {
    const first = ok(['migrate']);
    expect(first).toMatch(/^Schema of sqlite:.*paylog\.db is up to date\.\n$/);
    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
    db.close();
    expect(version).toBeGreaterThanOrEqual(1);
    expect(schema.length).toBeGreaterThan(0);

    expect(ok(['migrate'])).toBe(first);
    const again = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    expect(again.pragma('user_version', { simple: true })).toBe(version);
    expect(again.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()).toEqual(schema);
    // Migrating writes no journal records.
    expect(again.prepare('SELECT count(*) AS n FROM journal').get()).toEqual({ n: 0 });
    again.close();
  });
});

describe('paylog export', () => {
  it('--since keeps only the records at or after that time', async () => {
    createKey('acme', 'early');
    const early = exported();
    expect(early.length).toBeGreaterThan(0);
    const lastEarlyMs = Math.max(...early.map((r) => Date.parse(r.ts)));
    const since = new Date(lastEarlyMs + 1).toISOString();
    // Wait (a few ms at most) until the clock is past `since`, so every later record is at or after it.
    while (Date.now() <= lastEarlyMs + 1) await new Promise((r) => setTimeout(r, 1));

    createKey('acme', 'late');
    const all = exported();
    const late = all.filter((r) => !early.some((e) => e.hash === r.hash));
    expect(late.length).toBeGreaterThan(0);
    expect(late.map((r) => r.type)).toContain('key.created');

    const filtered = exported(['--since', since]);
    expect(filtered).toEqual(late);
    for (const r of filtered) expect(r.ts >= since).toBe(true);
    expect(exported(['--since', early[0]?.ts as string])).toEqual(all);
    expect(exported(['--since', '2999-01-01T00:00:00Z'])).toEqual([]);

    const bad = paylog(['export', '--since', 'yesterday-ish']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--since/);
  });

  it('writes every record exactly as stored, one per line, stream by stream in seq order, each stream followed by its signed head', () => {
    createKey();
    createKey();
    const lines = ok(['export']).trimEnd().split('\n');
    const db = new Database(join(dataDir, 'paylog.db'), { readonly: true });
    // The export's own stream, written while it ran, is left out of it.
    const streams = db.prepare(`SELECT id, head_size AS size, head_root AS root, head_note AS note FROM streams
      WHERE id NOT IN (SELECT stream FROM journal WHERE type = 'journal.started' AND json_extract(body, '$.data.role') = 'export') ORDER BY started_at, id`).all() as { id: string; size: number; root: string; note: string }[];
    const expected = streams.flatMap((stream) => [
      ...(db.prepare('SELECT body FROM journal WHERE stream = ? ORDER BY seq').pluck().all(stream.id) as string[]),
      headLine({ stream: stream.id, size: stream.size, root: stream.root, note: stream.note }),
    ]);
    db.close();
    expect(streams).toHaveLength(2);
    expect(lines).toEqual(expected);
  });
});

describe('paylog verify --json', () => {
  it('reports streams, counts and problems as JSON: exit 0 when valid, 1 when not', () => {
    createKey();
    createKey('globex');
    const result = paylog(['verify', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      target: string; valid: boolean; streamsValid: number; records: number; checkpoints: number;
      streams: { stream: string; records: number; lastSeq: number; lastHash: string; stopped: boolean; valid: boolean }[];
      problems: { stream: string; seq: number | null; kind: string; message: string }[];
    };
    expect(report).toMatchObject({ valid: true, problems: [], streamsValid: 2, records: expect.any(Number), checkpoints: expect.any(Number) });
    expect(report.target).toMatch(/^sqlite:.*paylog\.db$/);
    expect(report.streams).toHaveLength(2);
    for (const s of report.streams) {
      expect(s).toEqual({
        stream: expect.stringMatching(/^str_/), records: expect.any(Number), lastSeq: s.records, lastHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        stopped: true, end: 'stopped', checkpoints: expect.any(Number), uncovered: 0, valid: true,
      });
    }
    expect(report.records).toBe(report.streams.reduce((n, s) => n + s.records, 0));

    // Remove one record behind the append-only trigger: the same shape, now naming the problem.
    const victim = report.streams[0]?.stream as string;
    const db = new Database(join(dataDir, 'paylog.db'));
    db.exec('DROP TRIGGER journal_no_delete');
    db.prepare('DELETE FROM journal WHERE stream = ? AND seq = 2').run(victim);
    db.close();
    const broken = paylog(['verify', '--json']);
    expect(broken.status).toBe(1);
    const invalid = JSON.parse(broken.stdout) as typeof report;
    expect(invalid).toMatchObject({ valid: false, streamsValid: 1 });
    expect(invalid.problems).toContainEqual({ stream: victim, seq: 2, kind: 'missing', message: expect.any(String) });
    expect(invalid.streams.find((s) => s.stream === victim)?.valid).toBe(false);
  });
});

describe('paylog verify --max-clock-skew', () => {
  /**
   * A one-stream export whose records and signatures are dated `aheadMs` after now, signed by
   * a fresh key: what a writer whose clock runs ahead writes (or someone dating records ahead).
   */
  function exportDatedAhead(aheadMs: number): { file: string; vkey: string } {
    const signer = signerFromPrivateKey('paylog-local', generateKeyPairSync('ed25519').privateKey);
    const stream = 'str_01jdq2aheadaheadaheadahead';
    const ts = rfc3339(Date.now() + aheadMs);
    const records: AuditRecord[] = [];
    const push = (type: RecordType, data: AuditRecord['data'] = {}): void => {
      const prev = records[records.length - 1]?.hash ?? GENESIS_PREV;
      records.push(sealRecord({ type, actor: 'system:cli', origin: { requestId: null, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data }, {
        journal: 'paylog-local', stream, seq: records.length + 1, prev, ts,
      }));
    };
    const sign = (size: number): { size: number; root: string; note: string } => {
      const frontier = new MerkleFrontier();
      for (const r of records.slice(0, size)) frontier.push(Buffer.from(r.hash, 'hex'));
      const root = frontier.root().toString('hex');
      return { size, root, note: signCheckpoint({ origin: checkpointOrigin('paylog-local', stream), size, root, time: ts }, [signer]) };
    };
    push('journal.started');
    push('journal.stopped');
    push('journal.checkpoint', sign(records.length));
    const file = join(dataDir, 'ahead.jsonl');
    writeFileSync(file, [...records.map((r) => JSON.stringify(r)), headLine({ stream, ...sign(records.length) })].join('\n') + '\n');
    return { file, vkey: verifierKeyOf(signer) };
  }

  it('records and signatures dated ahead of now are fine within the skew (default 5 min), time_invalid beyond it', () => {
    const { file, vkey } = exportDatedAhead(3 * 60_000);
    expect(paylog(['verify', '--file', file, '--key', vkey]).status).toBe(0);
    expect(paylog(['verify', '--file', file, '--key', vkey, '--max-clock-skew', '10m']).status).toBe(0);
    const strict = paylog(['verify', '--file', file, '--key', vkey, '--max-clock-skew', '1m', '--json']);
    expect(strict.status, strict.stderr).toBe(1);
    const report = JSON.parse(strict.stdout) as { problems: { seq: number | null; kind: string; message: string }[] };
    expect(report.problems.map((p) => [p.seq, p.kind])).toEqual([[1, 'time_invalid'], [3, 'time_invalid'], [3, 'time_invalid']]);
    expect(report.problems[0]?.message).toMatch(/^3 records from seq 1 on \(ts .*\) are dated more than 60 s after the time of verification$/);
    const text = paylog(['verify', '--file', file, '--key', vkey, '--max-clock-skew', '60s']);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/^INVALID: stream str_01jdq2aheadaheadaheadahead seq 1: time invalid — 3 records from seq 1 on/m);
  });

  it('a value that is not a duration stops verify with exit 2 and one line naming the flag', () => {
    const { file, vkey } = exportDatedAhead(0);
    const bad = paylog(['verify', '--file', file, '--key', vkey, '--max-clock-skew', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual(['paylog: --max-clock-skew: expected a duration such as 90s, 5m or 2h, got "soon"']);
  });
});

describe('paylog --help', () => {
  it('lists every command of SPEC §5 that this version has', () => {
    const help = ok(['--help']);
    for (const command of ['serve', 'keys', 'verify', 'export', 'reconcile', 'migrate', 'demo']) {
      expect(help).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
    const keys = ok(['keys', '--help']);
    for (const command of ['create', 'list', 'revoke']) expect(keys).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    const serve = ok(['serve', '--help']);
    for (const flag of ['--port <value>', '--host <value>', '--store <value>']) expect(serve).toContain(flag);
  });
});

/** SPEC §2: the HTTP status and payment status each test card ends in. */
const EXPECTED: Record<string, [number, string]> = {
  '4242424242424242': [201, 'succeeded'], '5555555555554444': [201, 'succeeded'], '2223003122003222': [201, 'succeeded'],
  '378282246310005': [201, 'succeeded'], '6011111111111117': [201, 'succeeded'], '3566002020360505': [201, 'succeeded'],
  '36227206271667': [201, 'succeeded'], '6200000000000005': [201, 'succeeded'],
  '4000000000000002': [402, 'declined'], '4000000000009995': [402, 'declined'], '4000000000009987': [402, 'declined'],
  '4000000000009979': [402, 'declined'], '4000000000000069': [402, 'declined'], '4000000000000127': [402, 'declined'],
  '4000000000000119': [402, 'declined'], '4100000000000019': [402, 'declined'], '4242424242424241': [402, 'declined'],
  '4000000005030004': [201, 'succeeded'], '4000000005039997': [503, 'failed'], '4000000004290005': [201, 'succeeded'],
  '4000000005000007': [201, 'succeeded'], '4000000004080000': [201, 'succeeded'], '4000000004089993': [202, 'processing'],
  '4000000005020005': [202, 'processing'],
};

describe('paylog demo', () => {
  it('against a running paylog serve: one row per case, statuses as SPEC §2 says, exit 0', async () => {
    const server = await startServerProcess({ ...env, PAYLOG_RECONCILE_INTERVAL_MS: '0' });
    let result: ReturnType<typeof paylog>;
    try {
      // No --key: demo creates one for merchant "demo" in the same data dir, as `npx paylog demo` does.
      result = paylog(['demo', '--url', server.url]);
    } finally {
      expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    }
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const header = (lines[0] as string).split(/\s{2,}/);
    expect(header).toEqual(['CASE', 'CARD', 'HTTP', 'STATUS', 'ATTEMPTS', 'ERROR', 'PAYMENT']);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows).toHaveLength(DEMO_CARDS.length);
    expect(DEMO_CARDS.length).toBeGreaterThanOrEqual(10);
    const ids = new Set<string>();
    DEMO_CARDS.forEach((card, i) => {
      const row = rows[i] as string[];
      const expected = EXPECTED[card.number];
      expect(expected, `card ${card.number} is not a SPEC §2 test card`).toBeDefined();
      expect(row[0]).toBe(card.label);
      expect(row[1]).toBe(`…${card.number.slice(-4)}`);
      expect([Number(row[2]), row[3]], card.label).toEqual(expected);
      expect(row[6]).toMatch(/^txn_[0-9a-z]{26}$/);
      ids.add(row[6] as string);
    });
    expect(ids.size).toBe(DEMO_CARDS.length);
    // Every case got to the server: one payment.received per row, and the journal verifies.
    const received = exported().filter((r) => r.type === 'payment.received').map((r) => r.resource);
    expect(new Set(received)).toEqual(ids);
    expect(paylog(['verify']).status).toBe(0);
  });
});
