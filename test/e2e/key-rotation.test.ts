import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit-record.js';
import { paymentBody } from '../support/harness.js';
import { commandLine } from '../support/cli.js';
import { startServerProcess, stopProcess } from '../support/process.js';

/** Checkpoint signing keys as an operator handles them: the local key, a rotation, trust windows, bad config. */

const JOURNAL = 'paylog-local';
const VKEY = /^paylog-local\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43}[A-Za-z0-9+/=]$/;

let dataDir: string;
let env: Record<string, string>;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'paylog-keys-'));
  env = { PAYLOG_DATA_DIR: dataDir, PAYLOG_RECONCILE_INTERVAL_MS: '0' };
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const { run: paylog, ok } = commandLine(() => env);

/** The C2SP verifier key of a PEM private key, computed here from the spec, not by paylog's code. */
function expectedVkey(pem: string): string {
  const jwk = createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([0x01]), Buffer.from(jwk.x as string, 'base64url')]);
  const id = createHash('sha256').update(`${JOURNAL}\n`).update(raw).digest().subarray(0, 4).toString('hex');
  return `${JOURNAL}+${id}+${raw.toString('base64')}`;
}

function newKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

function writeKey(name: string, pem: string): string {
  const path = join(dataDir, name);
  writeFileSync(path, pem, { mode: 0o600 });
  return path;
}

/** Every way the secret part of a PEM key could leak: the PEM's base64 body, the raw seed in hex, base64 and base64url. */
function secretForms(pem: string): string[] {
  const body = pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----')).join('');
  const seed = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d as string, 'base64url');
  return [body, seed.toString('hex'), seed.toString('base64').replace(/=+$/, ''), seed.toString('base64url')];
}

function expectNoSecret(where: string, text: string, pem: string): void {
  expect(text.length).toBeGreaterThan(0);
  for (const form of secretForms(pem)) expect(text.includes(form), `${where} contains the private key`).toBe(false);
}

interface StreamRow {
  id: string;
  started_at: string;
}

function db<T>(query: (d: Database.Database) => T): T {
  const d = new Database(join(dataDir, 'paylog.db'), { readonly: true });
  try {
    return query(d);
  } finally {
    d.close();
  }
}

function streams(): StreamRow[] {
  return db((d) => d.prepare('SELECT id, started_at FROM streams ORDER BY started_at, id').all() as StreamRow[]);
}

function records(stream: string): AuditRecord[] {
  return db((d) => (d.prepare('SELECT body FROM journal WHERE stream = ? ORDER BY seq').pluck().all(stream) as string[]).map((b) => JSON.parse(b) as AuditRecord));
}

/** The signature lines of a signed note: `— <name> <base64(key id ‖ signature)>`. */
function signatureKeyIds(note: string): string[] {
  return note.slice(note.lastIndexOf('\n\n') + 2).split('\n').filter((l) => l !== '').map((line) => {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    expect(match, `signature line "${line}"`).not.toBeNull();
    expect(match?.[1]).toBe(JOURNAL);
    return Buffer.from(match?.[2] as string, 'base64').subarray(0, 4).toString('hex');
  });
}

const keyIdOf = (vkey: string): string => vkey.split('+')[1] as string;

interface Report {
  valid: boolean;
  streams: { stream: string; valid: boolean; checkpoints: number }[];
  problems: { stream: string; seq: number | null; kind: string; message: string }[];
}

/** `paylog verify --json`, and with `text` the human-readable run too (same exit status). */
function verify(args: string[], text = false): { status: number | null; report: Report; text: string } {
  const json = paylog(['verify', '--json', ...args]);
  expect(json.stderr).toBe('');
  const plain = text ? paylog(['verify', ...args]) : null;
  if (plain) expect(plain.status, plain.stderr).toBe(json.status);
  return { status: json.status, report: JSON.parse(json.stdout) as Report, text: plain?.stdout ?? '' };
}

async function sleepPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((r) => setTimeout(r, 2));
}

describe('the local signing key', () => {
  it('is generated once into the data dir (mode 0600); `keys public` prints its verifier key, the same every time', async () => {
    const printed = ok(['keys', 'public']).trim();
    expect(printed).toMatch(VKEY);
    const keyPath = join(dataDir, 'signing-key.pem');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const pem = readFileSync(keyPath, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(printed).toBe(expectedVkey(pem));

    const secret = ok(['keys', 'create', '--merchant', 'acme']).trim().split('\n').pop() as string;
    // A server with verbose logging takes a payment; its stream announces the same key.
    const server = await startServerProcess({ ...env, PAYLOG_LOG_LEVEL: 'trace' });
    let logs: string;
    try {
      const res = await fetch(`${server.url}/v1/payments`, {
        method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(paymentBody()),
      });
      expect(res.status).toBe(201);
    } finally {
      expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
      logs = server.output();
    }
    expect(ok(['keys', 'public']).trim()).toBe(printed);
    expect(readFileSync(keyPath, 'utf8')).toBe(pem);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);

    const all = streams();
    expect(all).toHaveLength(2);
    for (const { id } of all) expect(records(id)[0]?.data.signingKey).toBe(printed);

    // The private key is nowhere but its own file: not in the export, the database, the logs, any output.
    const exported = ok(['export']);
    expect(exported.split('\n').filter((l) => l !== '').length).toBeGreaterThan(5);
    expectNoSecret('the export', exported, pem);
    expectNoSecret('the server log', logs, pem);
    expect(logs).toMatch(/"level":/);
    const pub = paylog(['keys', 'public']);
    expectNoSecret('keys public', pub.stdout + pub.stderr, pem);
    const verified = paylog(['verify', '--key', printed]);
    expect(verified.status, verified.stdout).toBe(0);
    expectNoSecret('verify', verified.stdout + verified.stderr, pem);
    for (const file of readdirSync(dataDir).filter((f) => f !== 'signing-key.pem')) {
      expectNoSecret(file, readFileSync(join(dataDir, file)).toString('latin1'), pem);
    }
  });

  it('given as PAYLOG_SIGNING_KEY text, it is used and never logged', async () => {
    const pem = newKeyPem();
    const server = await startServerProcess({ ...env, PAYLOG_LOG_LEVEL: 'trace', PAYLOG_SIGNING_KEY: pem });
    expect(await stopProcess(server.child, 'SIGTERM')).toBe(0);
    expectNoSecret('the server log', server.output(), pem);
    const vkey = ok(['keys', 'public'], { PAYLOG_SIGNING_KEY: pem }).trim();
    expect(vkey).toBe(expectedVkey(pem));
    const [stream] = streams();
    expect(records(stream?.id as string)[0]?.data.signingKey).toBe(vkey);
    expect(paylog(['verify', '--key', vkey]).status).toBe(0);
    // Nothing was generated into the data dir.
    expect(readdirSync(dataDir)).not.toContain('signing-key.pem');
  });
});

describe('rotating the signing key', () => {
  it('announces the rotation, double-signs its checkpoints, and verifies under validity windows', async () => {
    // Before: the locally generated key signs.
    ok(['keys', 'create', '--merchant', 'acme']);
    const oldPath = join(dataDir, 'signing-key.pem');
    const oldPem = readFileSync(oldPath, 'utf8');
    const oldKey = ok(['keys', 'public']).trim();
    const newPem = newKeyPem();
    const newPath = writeKey('new-signing-key.pem', newPem);
    const rotating = { PAYLOG_SIGNING_KEY_FILE: newPath, PAYLOG_PREVIOUS_SIGNING_KEY_FILE: oldPath };

    const pub = paylog(['keys', 'public'], rotating);
    expect(pub.status, pub.stderr).toBe(0);
    const newKey = pub.stdout.trim();
    expect(newKey).toBe(expectedVkey(newPem));
    expect(newKey).not.toBe(oldKey);
    expect(pub.stderr).toContain(oldKey);

    // The moment of the switch: every old-key checkpoint is at or before it, every later one after.
    const switchMs = Date.now();
    const switchAt = new Date(switchMs).toISOString();
    await sleepPast(switchMs);
    // During the overlap: a writer with both keys.
    ok(['keys', 'create', '--merchant', 'beta'], rotating);
    // After: the new key alone.
    ok(['keys', 'create', '--merchant', 'gamma'], { PAYLOG_SIGNING_KEY_FILE: newPath });

    const [before, overlap, after] = streams().map((s) => s.id);
    expect(streams()).toHaveLength(3);

    const overlapRecords = records(overlap as string);
    expect(overlapRecords[0]).toMatchObject({ type: 'journal.started', data: { signingKey: newKey } });
    const rotated = overlapRecords.filter((r) => r.type === 'journal.key_rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.data).toMatchObject({ previous: oldKey, next: newKey });
    // The announcement is covered by the very next checkpoint, which the old key signs too.
    expect(overlapRecords[(rotated[0]?.seq as number)]?.type).toBe('journal.checkpoint');
    const overlapNotes = overlapRecords.filter((r) => r.type === 'journal.checkpoint').map((r) => String(r.data.note));
    expect(overlapNotes.length).toBeGreaterThanOrEqual(2);
    for (const note of overlapNotes) expect(signatureKeyIds(note).sort()).toEqual([keyIdOf(oldKey), keyIdOf(newKey)].sort());
    for (const r of records(before as string).filter((x) => x.type === 'journal.checkpoint')) expect(signatureKeyIds(String(r.data.note))).toEqual([keyIdOf(oldKey)]);
    for (const r of records(after as string).filter((x) => x.type === 'journal.checkpoint')) expect(signatureKeyIds(String(r.data.note))).toEqual([keyIdOf(newKey)]);
    expect(records(after as string).some((r) => r.type === 'journal.key_rotated')).toBe(false);
    for (const stream of [before, overlap, after]) {
      for (const r of records(stream as string)) for (const form of [...secretForms(oldPem), ...secretForms(newPem)]) expect(JSON.stringify(r)).not.toContain(form);
    }

    // Whole journal: a keys file with the old key until the switch and the new one from then.
    const windows = writeKey('trusted.keys', `# old key, retired at the switch\n${oldKey} until=${switchAt}\n${newKey} from=${switchAt}\n`);
    const windowed = verify(['--keys', windows], true);
    expect(windowed.status, windowed.text).toBe(0);
    expect(windowed.report.problems).toEqual([]);
    expect(windowed.text).toMatch(/3\/3 streams valid/);

    // Trusting only the old key, retired at the switch: the overlap's checkpoints are signed by it too late.
    const oldOnly = writeKey('old-only.keys', `${oldKey} until=${switchAt}\n`);
    const expired = verify(['--keys', oldOnly], true);
    expect(expired.status, expired.text).toBe(1);
    expect(expired.report.streams.find((s) => s.stream === before)).toMatchObject({ valid: true });
    const overlapInvalid = expired.report.problems.filter((p) => p.stream === overlap && p.kind === 'checkpoint_invalid');
    const overlapCheckpointSeqs = overlapRecords.filter((r) => r.type === 'journal.checkpoint').map((r) => r.seq);
    // Every checkpoint of the overlap, and the stream's signed head (double-signed too), which the last one's seq names.
    expect([...new Set(overlapInvalid.map((p) => p.seq).filter((seq) => seq !== null))]).toEqual(overlapCheckpointSeqs);
    expect(overlapInvalid.filter((p) => p.message.startsWith('signed head of size'))).toHaveLength(1);
    for (const p of overlapInvalid) expect(p.message).toMatch(/expired key/);
    expect(expired.text).toMatch(new RegExp(`INVALID: stream ${overlap}( seq \\d+)?: checkpoint invalid — .*expired key`));

    // A key nobody signed with: nothing is trusted.
    const stranger = expectedVkey(newKeyPem());
    const unknown = verify(['--key', stranger], true);
    expect(unknown.status, unknown.text).toBe(1);
    const unknownInvalid = unknown.report.problems.filter((p) => p.kind === 'checkpoint_invalid');
    expect(unknownInvalid.length).toBeGreaterThanOrEqual(3);
    for (const p of unknownInvalid) expect(p.message).toMatch(/unknown key/);
    // The journal tree is signed by the same keys: with none of them trusted, it is vouched for by nothing either.
    expect(new Set(unknownInvalid.map((p) => p.stream))).toEqual(new Set([before, overlap, after, '(journal tree)']));
    expect(unknown.report.streams.every((s) => !s.valid)).toBe(true);
    expect(unknown.text).toMatch(/checkpoint invalid — .*unknown key/);

    // Over the whole store, each key alone vouches for the overlap stream but not for the stream signed by the other key alone.
    const newOnly = verify(['--key', newKey]);
    expect(newOnly.status).toBe(1);
    expect([...new Set(newOnly.report.problems.map((p) => p.stream))].sort()).toEqual(['(journal tree)', before].sort());
    const oldAlone = verify(['--key', oldKey]);
    expect(oldAlone.status).toBe(1);
    expect([...new Set(oldAlone.report.problems.map((p) => p.stream))].sort()).toEqual(['(journal tree)', after].sort());

    // The overlap stream verifies with either key alone. Last: an export is a writer too (audit.read), with a stream of its own.
    const overlapFile = join(dataDir, 'overlap.jsonl');
    writeFileSync(overlapFile, ok(['export']).split('\n').filter((l) => l.includes(`"stream":"${overlap}"`)).map((l) => `${l}\n`).join(''));
    for (const key of [oldKey, newKey]) {
      const alone = paylog(['verify', '--file', overlapFile, '--key', key]);
      expect(alone.status, `${key}\n${alone.stdout}`).toBe(0);
      expect(alone.stdout).toMatch(/1\/1 streams valid/);
    }
  });
});

describe('bad signing-key configuration stops the process with one line naming the setting', () => {
  const garbage = 'not-a-key-5ecr3t-VALUE';
  const pemShaped = '-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZS01ZWNyM3Q=\n-----END PRIVATE KEY-----\n';
  const rsaPem = (): string => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

  function expectConfigError(args: string[], extra: Record<string, string>, setting: string, secret: string): void {
    const result = paylog(args, extra);
    expect(result.status, result.stderr).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^paylog: ${setting}\\b`));
    for (const part of secret.split('\n').filter((l) => l.length > 8)) expect(result.stderr + result.stdout).not.toContain(part);
  }

  it.each([
    ['garbage', garbage],
    ['PEM-shaped garbage', pemShaped],
  ])('PAYLOG_SIGNING_KEY set to %s → exit 2 for serve, keys create and keys public', (_what, value) => {
    for (const args of [['serve'], ['keys', 'create', '--merchant', 'acme'], ['keys', 'public']]) {
      expectConfigError(args, { PAYLOG_SIGNING_KEY: value }, 'PAYLOG_SIGNING_KEY', value);
    }
  });

  it('an RSA key is refused as not Ed25519, without echoing it', () => {
    const pem = rsaPem();
    expectConfigError(['keys', 'public'], { PAYLOG_SIGNING_KEY: pem }, 'PAYLOG_SIGNING_KEY', pem);
    expect(paylog(['keys', 'public'], { PAYLOG_SIGNING_KEY: pem }).stderr).toMatch(/Ed25519/);
  });

  it('key files: unreadable or garbage → exit 2 naming the _FILE setting', () => {
    const missing = join(dataDir, 'no-such-key.pem');
    expectConfigError(['keys', 'public'], { PAYLOG_SIGNING_KEY_FILE: missing }, 'PAYLOG_SIGNING_KEY_FILE', garbage);
    const bad = writeKey('bad.pem', pemShaped);
    expectConfigError(['keys', 'create', '--merchant', 'acme'], { PAYLOG_SIGNING_KEY_FILE: bad }, 'PAYLOG_SIGNING_KEY_FILE', pemShaped);
    const good = writeKey('good.pem', newKeyPem());
    expectConfigError(['keys', 'create', '--merchant', 'acme'], { PAYLOG_SIGNING_KEY_FILE: good, PAYLOG_PREVIOUS_SIGNING_KEY_FILE: bad }, 'PAYLOG_PREVIOUS_SIGNING_KEY_FILE', pemShaped);
    expectConfigError(['keys', 'create', '--merchant', 'acme'], { PAYLOG_SIGNING_KEY_FILE: good, PAYLOG_PREVIOUS_SIGNING_KEY: garbage }, 'PAYLOG_PREVIOUS_SIGNING_KEY', garbage);
  });
});
