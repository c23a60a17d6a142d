import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.js';
import { withJournalLeaves } from '../../src/app/journal-tree-receipt.js';
import { SubtreeHashes } from '../../src/app/subtree-hashes.js';
import { type AuditRecord, type RecordDraft, recordLine, sealRecord } from '../../src/core/audit-record.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { cosign, cosignerFromPrivateKey, cosignerKeyOf } from '../../src/core/cosignature.js';
import { journalLeafHash } from '../../src/core/journal-tree.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { type PublishedCheckpoint, parsePublished, publishedLine } from '../../src/core/published-checkpoints.js';
import type { ReceiptEntry } from '../../src/core/receipt.js';
import { parseNote, signerFromPrivateKey } from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';
import { paymentBody } from '../support/harness.js';
import { createKeyWithCli } from '../support/cli.js';
import { freePort, runPaylog, runPaylogAsync, startServerProcess, stopProcess } from '../support/process.js';
import { dropTriggers } from '../support/sqlite-triggers.js';

/**
 * Published checkpoints end to end: a real SQLite journal written by two `paylog serve`
 * processes in turn, an auditor's `paylog checkpoints fetch` while they run, then `paylog
 * verify --checkpoints` against copies of the journal that an operator truncated, deleted
 * from, or — holding the key — rewrote so that the journal alone verifies. Each must exit 1
 * naming the stream and the kind; the untouched journal must exit 0.
 */
const JOURNAL = 'paylog-local';

interface Problem { stream: string; seq: number | null; kind: string; message: string }
interface Report { valid: boolean; problems: Problem[]; journalTree: { leaves: number | null; headSize: number | null; published: { journal: number; streams: number; unchecked: number }; witnesses: { valid: number; required: number; checkpointSize: number | null } | null } | null }

let dir: string;
let env: Record<string, string>;
let db: string;
let published: string;
let KEY: string;
/** The streams of the two servers, in the order they ran. */
let first: string;
let second: string;
let receipt: { payment: string; proofs: ReceiptEntry[] };

const witnessOf = (name: string) => cosignerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey);
const w1 = witnessOf('witness.example/w1');
const w2 = witnessOf('witness.example/w2');
const w3 = witnessOf('elsewhere.example/w3');

async function pay(url: string, secret: string, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}`, 'idempotency-key': `${tag}-${i}` },
      body: JSON.stringify(paymentBody()),
    });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

function fetchCheckpoints(url: string, secret: string): void {
  // The API key in the environment: `--key` on a command line is refused (every local user reads those).
  const result = runPaylog(['checkpoints', 'fetch', '--url', url, '--out', published], { ...env, PAYLOG_API_KEY: secret });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stderr).toMatch(/kept the journal tree checkpoint of size \d+/);
}

/** A copy of the journal to tamper with. */
function copy(name: string): string {
  const to = join(dir, `${name}.db`);
  copyFileSync(db, to);
  if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${to}-wal`);
  return to;
}

function withDb<T>(path: string, run: (d: Database.Database) => T): T {
  const d = new Database(path);
  try {
    return run(d);
  } finally {
    d.close();
  }
}

/** What an operator who can delete does first: drop the append-only triggers. */

function verify(store: string, ...args: string[]): { status: number | null; report: Report; text: string } {
  const result = runPaylog(['verify', '--store', `sqlite:${store}`, '--key', KEY, ...args, '--json'], env);
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`verify printed no report (exit ${result.status}): ${result.stdout}${result.stderr}`);
  }
  return { status: result.status, report, text: result.stdout };
}

const kindsOf = (report: Report) => report.problems.map(({ stream, kind }) => ({ stream, kind }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paylog-published-'));
  db = join(dir, 'paylog.db');
  published = join(dir, 'published.jsonl');
  env = { PAYLOG_DATA_DIR: dir, PAYLOG_CHECKPOINT_EVERY: '4', PAYLOG_CHECKPOINT_INTERVAL_MS: '0', PAYLOG_RATE_LIMIT: '0', PAYLOG_RECONCILE_INTERVAL_MS: '0' };
  const secret = createKeyWithCli(env);
  // The audit routes answer auditor keys only: the auditor keeps the checkpoints with a key of its own.
  const audit = runPaylog(['keys', 'create', '--role', 'auditor', '--name', 'auditor'], env);
  expect(audit.status, audit.stderr).toBe(0);
  const auditor = audit.stdout.trim().split('\n').pop() as string;
  KEY = runPaylog(['keys', 'public'], env).stdout.trim();

  const one = await startServerProcess(env);
  await pay(one.url, secret, 5, 'one');
  // The checkpoints endpoint asks for an API key like every other: without one, a one-line error, exit 2.
  const refused = await runPaylogAsync(['checkpoints', 'fetch', '--url', one.url, '--out', published], env);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/^paylog: http:\/\/127\.0\.0\.1:\d+\/v1\/audit\/checkpoints answered 401 \(api_key_missing\)\n$/);
  // A merchant's key may not read every stream's checkpoints: 403, exit 2.
  const merchantKey = await runPaylogAsync(['checkpoints', 'fetch', '--url', one.url, '--out', published], { ...env, PAYLOG_API_KEY: secret });
  expect(merchantKey.status).toBe(2);
  expect(merchantKey.stderr).toMatch(/^paylog: http:\/\/127\.0\.0\.1:\d+\/v1\/audit\/checkpoints answered 403 \(forbidden_role\)\n$/);
  fetchCheckpoints(one.url, auditor);
  await pay(one.url, secret, 3, 'one-more');
  expect(await stopProcess(one.child)).toBe(0);

  const two = await startServerProcess(env);
  const ids = await pay(two.url, secret, 4, 'two');
  const proof = await fetch(`${two.url}/v1/payments/${ids[0]}/proof`, { headers: { authorization: `Bearer ${secret}` } });
  receipt = (await proof.json()) as typeof receipt;
  fetchCheckpoints(two.url, auditor);
  expect(await stopProcess(two.child)).toBe(0);

  const streams = withDb(db, (d) => d.prepare('SELECT id, writer FROM streams ORDER BY started_at, id').all() as { id: string; writer: string }[]);
  first = streams.find((s) => s.writer.endsWith(`:${one.child.pid}`))?.id as string;
  second = streams.find((s) => s.writer.endsWith(`:${two.child.pid}`))?.id as string;
  expect(first).toMatch(/^str_/);
  expect(second).toMatch(/^str_/);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The published lines, parsed. */
function publishedLines(): PublishedCheckpoint[] {
  return readFileSync(published, 'utf8').trim().split('\n').map((l) => parsePublished(JSON.parse(l)) as PublishedCheckpoint);
}

describe('paylog checkpoints fetch', () => {
  it('keeps one line per checkpoint: a journal tree line per fetch, each stream checkpoint once', () => {
    const lines = publishedLines();
    const journalLines = lines.filter((l) => l.kind === 'journal');
    expect(journalLines).toHaveLength(2);
    expect(journalLines[1]!.size).toBeGreaterThan(journalLines[0]!.size);
    expect(lines.every((l) => l.journal === JOURNAL && /^\d{4}-\d\d-\d\dT/.test(l.fetchedAt) && l.from.startsWith('http://127.0.0.1:'))).toBe(true);
    const streamKeys = lines.filter((l) => l.kind === 'stream').map((l) => `${l.stream} ${l.size}`);
    expect(new Set(streamKeys).size).toBe(streamKeys.length);
    expect(lines.some((l) => l.stream === first) && lines.some((l) => l.stream === second)).toBe(true);
  });

  it('an unreachable server, or an answer over the size bound: one line, exit 2', async () => {
    const port = await freePort();
    const unreachable = runPaylog(['checkpoints', 'fetch', '--url', `http://127.0.0.1:${port}`], env);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(new RegExp(`^paylog: cannot reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));

    const huge = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (res.write(chunk)) { /* until the socket pushes back, or the client hangs up */ }
      };
      res.on('drain', pump);
      res.on('error', () => undefined);
      pump();
    });
    huge.listen(0, '127.0.0.1');
    await once(huge, 'listening');
    const address = huge.address() as { port: number };
    try {
      const result = await runPaylogAsync(['checkpoints', 'fetch', '--url', `http://127.0.0.1:${address.port}`], env);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/answered more than 134,217,728 bytes\n$/);
    } finally {
      huge.closeAllConnections();
      huge.close();
    }
  }, 60_000);
});

describe('paylog verify --checkpoints', () => {
  it('the untouched journal contains and extends every published checkpoint: exit 0', () => {
    const { status, report, text } = verify(db, '--checkpoints', published);
    expect(status, text).toBe(0);
    expect(report.journalTree?.leaves).toBeGreaterThan(0);
    expect(report.journalTree?.headSize).toBe(report.journalTree?.leaves);
    expect(report.journalTree?.published).toMatchObject({ journal: 2, unchecked: 0 });
    expect(report.journalTree?.published.streams).toBeGreaterThanOrEqual(2);
    const plain = runPaylog(['verify', '--store', `sqlite:${db}`, '--key', KEY, '--checkpoints', published], env);
    expect(plain.stdout).toMatch(/journal tree: \d+ leaves, signed head of size \d+\npublished: 2 journal tree checkpoints and \d+ stream checkpoints held against the journal/);
  });

  it('truncation: a stream cut back with an older genuine head put back, and the journal tree dropped — the store alone verifies; the published checkpoints do not', () => {
    /** The first server's stream cut back to its first checkpoint, whose genuine note is put back as its head; the stream reopened. */
    const rollBack = (d: Database.Database): void => {
      dropTriggers(d, null);
      const keep = d.prepare('SELECT size, root, note FROM checkpoints WHERE stream = ? ORDER BY size LIMIT 1').get(first) as { size: number; root: string; note: string };
      d.prepare('DELETE FROM journal WHERE stream = ? AND seq > ?').run(first, keep.size);
      d.prepare('DELETE FROM checkpoints WHERE stream = ? AND size > ?').run(first, keep.size);
      d.prepare("UPDATE streams SET state = 'open', closed_by = NULL, closed_at = NULL, head_size = ?, head_root = ?, head_note = ? WHERE id = ?").run(keep.size, keep.root, keep.note, first);
    };
    const store = copy('truncated');
    withDb(store, (d) => {
      rollBack(d);
      d.exec('DELETE FROM journal_tree; DELETE FROM journal_tree_heads;');
    });
    expect(verify(store).status).toBe(0);
    const { status, report } = verify(store, '--checkpoints', published);
    expect(status).toBe(1);
    expect(kindsOf(report)).toEqual(expect.arrayContaining([{ stream: '(journal tree)', kind: 'truncated' }, { stream: first, kind: 'truncated' }]));
    expect(report.problems.find((p) => p.stream === first)?.message).toMatch(/the stream ends at seq \d+, but the checkpoint published on line \d+ of .*published.jsonl covers \d+ records/);
    // With the journal tree left in place, the tree alone already names the rollback.
    const keptTree = copy('truncated-tree-kept');
    withDb(keptTree, rollBack);
    const alone = verify(keptTree);
    expect(alone.status).toBe(1);
    expect(kindsOf(alone.report)).toEqual([{ stream: first, kind: 'truncated' }]);
    expect(alone.report.problems[0]?.message).toMatch(/but journal tree leaf \d+ covers \d+ records/);
  });

  it('deletion: a whole stream deleted with its checkpoints (and the journal tree) — stream_missing, naming it', () => {
    const store = copy('deleted');
    const deleteStream = (d: Database.Database): void => {
      dropTriggers(d, null);
      d.prepare('DELETE FROM journal WHERE stream = ?').run(second);
      d.prepare('DELETE FROM checkpoints WHERE stream = ?').run(second);
      d.prepare('DELETE FROM streams WHERE id = ?').run(second);
    };
    withDb(store, deleteStream);
    // The journal tree still names it.
    const alone = verify(store);
    expect(alone.status).toBe(1);
    expect(kindsOf(alone.report)).toEqual([{ stream: second, kind: 'stream_missing' }]);
    expect(alone.report.problems[0]?.message).toMatch(/the journal holds no record of this stream, but journal tree leaf \d+ covers \d+ records/);

    withDb(store, (d) => d.exec('DELETE FROM journal_tree; DELETE FROM journal_tree_heads;'));
    expect(verify(store).status).toBe(0);
    const { status, report, text } = verify(store, '--checkpoints', published);
    expect(status, text).toBe(1);
    expect(kindsOf(report)).toEqual(expect.arrayContaining([{ stream: second, kind: 'stream_missing' }, { stream: '(journal tree)', kind: 'truncated' }]));
    const plain = runPaylog(['verify', '--store', `sqlite:${store}`, '--key', KEY, '--checkpoints', published], env);
    expect(plain.status).toBe(1);
    expect(plain.stdout).toContain(`INVALID: stream ${second}: stream missing — the journal holds no record of this stream, but the checkpoint published on line`);
  });

  it('fork: the key holder rewrites a stream and rebuilds the journal tree — the store alone verifies; the published checkpoints show the fork', () => {
    const store = copy('forked');
    const signer = signerFromPrivateKey(JOURNAL, createPrivateKey(readFileSync(join(dir, 'signing-key.pem'), 'utf8')));
    withDb(store, (d) => {
      dropTriggers(d, null);
      const keep = d.prepare('SELECT size FROM checkpoints WHERE stream = ? ORDER BY size LIMIT 1').pluck().get(first) as number;
      const original = (d.prepare('SELECT body FROM journal WHERE stream = ? ORDER BY seq').pluck().all(first) as string[]).map((b) => JSON.parse(b) as AuditRecord);
      // A new history from seq keep + 1 on, longer than the old one, chained and signed with the journal's key.
      const records = original.slice(0, keep);
      const now = Date.now();
      for (let i = 0; records.length < original.length + 2; i++) {
        const prev = records[records.length - 1] as AuditRecord;
        records.push(sealRecord(inventedDraft(i), { journal: JOURNAL, stream: first, seq: prev.seq + 1, prev: prev.hash, ts: new Date(now + i).toISOString() }));
      }
      d.prepare('DELETE FROM journal WHERE stream = ? AND seq > ?').run(first, keep);
      d.prepare('DELETE FROM checkpoints WHERE stream = ? AND size > ?').run(first, keep);
      const insert = d.prepare('INSERT INTO journal (stream, seq, hash, resource, type, ts, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const r of records.slice(keep)) insert.run(r.stream, r.seq, r.hash, r.resource, r.type, r.ts, recordLine(r));
      const head = noteOver(signer, `${JOURNAL}/${first}`, records.map((r) => Buffer.from(r.hash, 'hex')), now + 1000);
      d.prepare("UPDATE streams SET state = 'open', closed_by = NULL, closed_at = NULL, head_size = ?, head_root = ?, head_note = ? WHERE id = ?").run(records.length, head.root, head.note, first);

      // The journal tree rebuilt without the old history's later checkpoints, with the new history's in their place, as long as before.
      const leaves = d.prepare('SELECT note FROM journal_tree WHERE journal = ? ORDER BY idx').pluck().all(JOURNAL) as string[];
      const isOld = (note: string): boolean => note.startsWith(`${JOURNAL}/${first}\n`) && Number(note.split('\n')[1]) > keep;
      const rebuilt = leaves.filter((n) => !isOld(n));
      for (let size = records.length; rebuilt.length < leaves.length; size--) {
        rebuilt.push(noteOver(signer, `${JOURNAL}/${first}`, records.slice(0, size).map((r) => Buffer.from(r.hash, 'hex')), now + 1000).note);
      }
      d.exec('DELETE FROM journal_tree; DELETE FROM journal_tree_heads;');
      const insertLeaf = d.prepare('INSERT INTO journal_tree (journal, idx, note, hash) VALUES (?, ?, ?, ?)');
      rebuilt.forEach((note, i) => insertLeaf.run(JOURNAL, i, note, journalLeafHash(note).toString('hex')));
      const tree = noteOver(signer, JOURNAL, rebuilt.map(journalLeafHash), now + 1000);
      d.prepare("INSERT INTO journal_tree_heads (journal, size, root, note, frontier, cosignatures) VALUES (?, ?, ?, ?, ?, '[]')")
        .run(JOURNAL, rebuilt.length, tree.root, tree.note, JSON.stringify(tree.frontier));
    });
    const alone = verify(store);
    expect(alone.status, alone.text).toBe(0);
    const { status, report } = verify(store, '--checkpoints', published);
    expect(status).toBe(1);
    expect(kindsOf(report)).toEqual(expect.arrayContaining([{ stream: '(journal tree)', kind: 'forked' }, { stream: first, kind: 'forked' }]));
    expect(report.problems.find((p) => p.stream === first)?.message).toMatch(/history was rewritten after it was published/);
  });

  it('an export is held to the published stream checkpoints: a truncated one fails naming the stream', () => {
    const exported = runPaylog(['export', '--store', `sqlite:${db}`], env);
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, exported.stdout);
    const ok = runPaylog(['verify', '--file', file, '--key', KEY, '--checkpoints', published], env);
    expect(ok.status, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/published: \d+ stream checkpoints held against the journal; 2 journal tree checkpoints not \(an export holds no journal tree\)/);
    // Cut the first server's stream to its first three records, head lines and all: on its own, an open stream.
    const lines = exported.stdout.trim().split('\n').filter((line) => {
      const value = JSON.parse(line) as { stream?: string; seq?: number; head?: { stream: string } };
      return value.head ? value.head.stream !== first : value.stream !== first || (value.seq as number) <= 3;
    });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const cut = runPaylog(['verify', '--file', file, '--key', KEY, '--checkpoints', published, '--json'], env);
    expect(cut.status).toBe(1);
    expect(kindsOf(JSON.parse(cut.stdout) as Report)).toContainEqual({ stream: first, kind: 'truncated' });
  });

  it('a checkpoints file that cannot be read: exit 2; a line that is not a checkpoint: reported', () => {
    const missing = runPaylog(['verify', '--store', `sqlite:${db}`, '--key', KEY, '--checkpoints', join(dir, 'nope.jsonl')], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^paylog: --checkpoints: cannot read .*nope\.jsonl\n$/);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(published, 'utf8')}not json\n`);
    const { status, report } = verify(db, '--checkpoints', bad);
    expect(status).toBe(1);
    expect(kindsOf(report)).toEqual([{ stream: '(published)', kind: 'malformed' }]);
  });
});

describe('a quorum of witnesses on the journal tree', () => {
  /** A copy whose journal tree head carries these cosignature lines. */
  async function cosigned(name: string, sign: (text: string) => string[]): Promise<string> {
    const store = copy(name);
    const opened = openSqliteStore({ path: store });
    try {
      const head = await opened.journalTree.head(JOURNAL);
      const lines = sign(parseNote(head?.note as string).text).map((l) => l.replace(/\n$/, ''));
      expect(await opened.journalTree.addCosignatures(JOURNAL, head?.size as number, lines)).toBe(true);
    } finally {
      await opened.close();
    }
    return store;
  }
  const at = 1_790_000_000;
  const witnessArgs = ['--witness-key', cosignerKeyOf(w1), '--witness-key', cosignerKeyOf(w2)];

  it('valid cosignatures from a quorum of the keys given: exit 0', async () => {
    const store = await cosigned('quorum', (text) => [cosign(text, w1, at), cosign(text, w2, at)]);
    const { status, report, text } = verify(store, ...witnessArgs, '--witness-quorum', '2');
    expect(status, text).toBe(0);
    expect(report.journalTree?.witnesses).toEqual({ checkpointSize: report.journalTree?.headSize, valid: 2, required: 2 });
  });

  it('cosignatures from unknown keys are ignored: the quorum is not met', async () => {
    const store = await cosigned('unknown', (text) => [cosign(text, w1, at), cosign(text, w3, at)]);
    expect(verify(store, ...witnessArgs, '--witness-quorum', '1').status).toBe(0);
    const { status, report } = verify(store, ...witnessArgs, '--witness-quorum', '2');
    expect(status).toBe(1);
    expect(kindsOf(report)).toEqual([{ stream: '(journal tree)', kind: 'witness_quorum' }]);
    expect(report.problems[0]?.message).toMatch(/the journal tree head \(size \d+\) carries 1 valid cosignature from the 2 witness keys given; 2 required/);
  });

  it('a forged cosignature from a trusted key is reported, and does not count', async () => {
    const store = await cosigned('forged', (text) => [cosign(text, w1, at), cosign(text.replace(/\n\d+\n/, '\n1\n'), w2, at)]);
    const { status, report } = verify(store, ...witnessArgs, '--witness-quorum', '1');
    expect(status).toBe(1);
    expect(kindsOf(report)).toEqual([{ stream: '(journal tree)', kind: 'checkpoint_invalid' }]);
    expect(report.problems[0]?.message).toMatch(/the cosignature by witness.example\/w2\+[0-9a-f]{8} does not verify/);
    expect(kindsOf(verify(store, ...witnessArgs).report)).toEqual([{ stream: '(journal tree)', kind: 'checkpoint_invalid' }, { stream: '(journal tree)', kind: 'witness_quorum' }]);
  });

  it('with --checkpoints, the newest published journal tree checkpoint is the one held to the quorum', async () => {
    const store = await cosigned('quorum-published', (text) => [cosign(text, w1, at), cosign(text, w2, at)]);
    // What the auditor fetched carried no cosignature then.
    const { status, report } = verify(store, '--checkpoints', published, ...witnessArgs);
    expect(status).toBe(1);
    expect(report.problems[0]?.message).toMatch(/the journal tree checkpoint published on line \d+ of .*published.jsonl \(size \d+\) carries 0 valid cosignatures/);
    // A later fetch that got the cosigned head.
    const opened = openSqliteStore({ path: store });
    const head = await opened.journalTree.head(JOURNAL);
    await opened.close();
    const later = join(dir, 'published-later.jsonl');
    const line: PublishedCheckpoint = { v: 1, kind: 'journal', fetchedAt: new Date().toISOString(), from: 'test', journal: JOURNAL, size: head?.size as number, root: head?.root as string, note: `${head?.note}${head?.cosignatures.map((c) => `${c}\n`).join('')}` };
    writeFileSync(later, `${readFileSync(published, 'utf8')}${publishedLine(line)}\n`);
    const ok = verify(store, '--checkpoints', later, ...witnessArgs);
    expect(ok.status, ok.text).toBe(0);
  });

  it('bad witness flags: exit 2 with one line', () => {
    const noKeys = runPaylog(['verify', '--store', `sqlite:${db}`, '--key', KEY, '--witness-quorum', '1'], env);
    expect(noKeys.status).toBe(2);
    expect(noKeys.stderr).toMatch(/^paylog: --witness-quorum: give the witnesses' keys/);
    const tooMany = runPaylog(['verify', '--store', `sqlite:${db}`, '--key', KEY, ...witnessArgs, '--witness-quorum', '3'], env);
    expect(tooMany.stderr).toMatch(/^paylog: --witness-quorum: must be a whole number from 1 to 2/);
    const badKey = runPaylog(['verify', '--store', `sqlite:${db}`, '--key', KEY, '--witness-key', KEY], env);
    expect(badKey.status).toBe(2);
    expect(badKey.stderr).toMatch(/^paylog: --witness-key: malformed cosigner key/);
  });
});

describe('paylog verify-proof with witnesses', () => {
  it('a receipt whose checkpoint is in a journal tree checkpoint a quorum cosigned: proven; without that proof: not', async () => {
    // The server's receipt places each checkpoint in the journal tree (nobody cosigned it: no witnesses were configured).
    expect(receipt.proofs.every((p) => p.journalLeaf !== undefined)).toBe(true);
    const plain = { ...receipt, proofs: receipt.proofs.map(({ journalLeaf: _, ...entry }) => entry) };
    const store = copy('receipt');
    const opened = openSqliteStore({ path: store });
    let witnessed: typeof receipt;
    try {
      const head = await opened.journalTree.head(JOURNAL);
      const text = parseNote(head?.note as string).text;
      await opened.journalTree.addCosignatures(JOURNAL, head?.size as number, [cosign(text, w1, 1_790_000_000).trimEnd()]);
      witnessed = { ...plain, proofs: await withJournalLeaves(opened.journalTree, SubtreeHashes.ofJournalTrees(opened.journalTree), JOURNAL, plain.proofs) };
    } finally {
      await opened.close();
    }
    expect(witnessed.proofs.every((p) => p.journalLeaf !== undefined)).toBe(true);
    const plainFile = join(dir, 'receipt.json');
    const servedFile = join(dir, 'receipt-served.json');
    const witnessedFile = join(dir, 'receipt-witnessed.json');
    writeFileSync(plainFile, JSON.stringify(plain));
    writeFileSync(servedFile, JSON.stringify(receipt));
    writeFileSync(witnessedFile, JSON.stringify(witnessed));
    const witnessFlags = ['--witness-key', cosignerKeyOf(w1), '--witness-key', cosignerKeyOf(w2), '--witness-quorum', '1'];
    const ok = runPaylog(['verify-proof', witnessedFile, '--key', KEY, ...witnessFlags], env);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/3\/3 records of txn_\w+ proven \(witness quorum: 1 of 2 keys\)/);
    expect(runPaylog(['verify-proof', plainFile, '--key', KEY], env).status).toBe(0);
    const unwitnessed = runPaylog(['verify-proof', plainFile, '--key', KEY, ...witnessFlags], env);
    expect(unwitnessed.status).toBe(1);
    expect(unwitnessed.stdout).toMatch(/INVALID .*\(no journalLeaf\), so no witness vouches for it/);
    const uncosigned = runPaylog(['verify-proof', servedFile, '--key', KEY, ...witnessFlags], env);
    expect(uncosigned.status).toBe(1);
    expect(uncosigned.stdout).toMatch(/carries 0 valid cosignatures from the witness keys given, 1 required/);
    expect(runPaylog(['verify-proof', servedFile, '--key', KEY], env).status).toBe(0);
    const short = runPaylog(['verify-proof', witnessedFile, '--key', KEY, '--witness-key', cosignerKeyOf(w1), '--witness-key', cosignerKeyOf(w2), '--witness-quorum', '2'], env);
    expect(short.status).toBe(1);
    expect(short.stdout).toMatch(/carries 1 valid cosignature from the witness keys given, 2 required/);
  });
});

/** A signed checkpoint note over these leaf hashes, with its root and frontier. */
function noteOver(signer: ReturnType<typeof signerFromPrivateKey>, origin: string, hashes: Buffer[], ms: number): { note: string; root: string; frontier: string[] } {
  const frontier = new MerkleFrontier();
  for (const h of hashes) frontier.push(h);
  const root = frontier.root().toString('hex');
  return { note: signCheckpoint({ origin, size: hashes.length, root, time: rfc3339(ms) }, [signer]), root, frontier: frontier.hashes().map((h) => h.toString('hex')) };
}

/** A payment that never happened, as the key holder would write it. */
function inventedDraft(i: number): RecordDraft {
  return {
    type: 'payment.received', actor: 'key:acme', origin: { requestId: `req_forged_${i}`, traceId: null, ip: '203.0.113.7' }, resource: `txn_forged_${i}`,
    outcome: 'success', reason: null, data: { amount: 990_000, currency: 'USD', merchantId: 'acme' },
  };
}
