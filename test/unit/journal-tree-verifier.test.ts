import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, GENESIS_PREV, type RecordType, sealRecord } from '../../src/core/audit-record.js';
import { type ChainReport, ChainVerifier, JOURNAL_TREE_STREAM, type Problem } from '../../src/core/chain-verifier.js';
import { type TrustedKey, signCheckpoint } from '../../src/core/checkpoint.js';
import { type JournalTreeVerifierOptions, JournalTreeVerifier } from '../../src/core/journal-tree-verifier.js';
import { journalLeafHash } from '../../src/core/journal-tree.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { type Pin, PinnedRoots } from '../../src/core/pinned-roots.js';
import { type NoteSigner, parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import type { JournalLeaf } from '../../src/ports/journal-tree-store.js';

const JOURNAL = 'paylog-tree';
const A = 'str_01jdq1aaaaaaaaaaaaaaaaaa';
const B = 'str_01jdq1bbbbbbbbbbbbbbbbbb';
const T0 = Date.parse('2026-11-30T12:00:00.000Z');
const TIME = '2026-11-30T13:00:00.000Z';

const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
/** Same name, another key: its signatures claim to be the journal's and are forged. */
const impostor = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
const trustedOf = (s: NoteSigner): TrustedKey => ({ key: parseVerifierKey(verifierKeyOf(s)), validFrom: null, validUntil: null });
const trusted = [trustedOf(signer)];
const options: JournalTreeVerifierOptions = { journal: JOURNAL, trusted, nowMs: T0 + 86_400_000 };

/** A valid stream of `count` records (journal.started, then payments). */
function stream(id: string, count: number, salt = ''): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prev = GENESIS_PREV;
  for (let seq = 1; seq <= count; seq++) {
    const type: RecordType = seq === 1 ? 'journal.started' : 'payment.received';
    const record = sealRecord({
      type, actor: 'system', origin: { requestId: `req_${seq}${salt}`, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data: { n: seq },
    }, { journal: JOURNAL, stream: id, seq, prev, ts: new Date(T0 + seq * 1000).toISOString() });
    records.push(record);
    prev = record.hash;
  }
  return records;
}

function rootOf(records: readonly AuditRecord[], size = records.length): string {
  const frontier = new MerkleFrontier();
  for (const r of records.slice(0, size)) frontier.push(Buffer.from(r.hash, 'hex'));
  return frontier.root().toString('hex');
}

/** A stream checkpoint note over the first `size` records. */
function checkpointOf(records: readonly AuditRecord[], size: number, by: NoteSigner = signer, origin = `${JOURNAL}/${records[0]?.stream}`): string {
  return signCheckpoint({ origin, size, root: rootOf(records, size), time: TIME }, [by]);
}

function leavesOf(notes: readonly string[]): JournalLeaf[] {
  return notes.map((note, index) => ({ index, note, hash: journalLeafHash(note).toString('hex') }));
}

function treeRoot(leaves: readonly JournalLeaf[]): string {
  const frontier = new MerkleFrontier();
  for (const leaf of leaves) frontier.push(journalLeafHash(leaf.note));
  return frontier.root().toString('hex');
}

function headOf(leaves: readonly JournalLeaf[], by: NoteSigner = signer, root = treeRoot(leaves)): { size: number; root: string; note: string; frontier: string[] } {
  const frontier = new MerkleFrontier();
  for (const leaf of leaves) frontier.push(journalLeafHash(leaf.note));
  return { size: leaves.length, root, note: signCheckpoint({ origin: JOURNAL, size: leaves.length, root, time: TIME }, [by]), frontier: frontier.hashes().map((h) => h.toString('hex')) };
}

/** The note with its body changed and its signature kept: a signature by the trusted key that does not verify. */
function forge(note: string, size: number, root: string): string {
  const body = note.slice(0, note.indexOf('\n\n') + 1);
  const lines = body.split('\n');
  lines[1] = String(size);
  lines[2] = Buffer.from(root, 'hex').toString('base64');
  return `${lines.join('\n')}${note.slice(body.length)}`;
}

/** The tree checked alone: its problems, and the checkpoints its leaves hand on. */
function checkTree(leaves: readonly JournalLeaf[], head: ReturnType<typeof headOf> | null, extra: Partial<JournalTreeVerifierOptions> = {}) {
  const tree = new JournalTreeVerifier({ ...options, ...extra });
  const handed: { stream: string; pin: Pin }[] = [];
  for (const leaf of leaves) {
    const cp = tree.addLeaf(leaf);
    if (cp) handed.push(cp);
  }
  return { problems: tree.finish(head), handed, tree };
}

/** The tree and the streams together, as verifyStore puts them. */
function verifyAll(leaves: readonly JournalLeaf[], streams: AuditRecord[][], published: { stream: string; pin: Pin }[] = []): { tree: Problem[]; report: ChainReport } {
  const { problems, handed } = checkTree(leaves, headOf(leaves));
  const chain = new ChainVerifier({ journal: JOURNAL, trusted, publishedName: 'published.jsonl' });
  for (const { stream: s, pin } of [...published, ...handed]) chain.expectPinned(s, pin);
  for (const records of streams) for (const r of records) chain.add(r);
  return { tree: problems, report: chain.finish() };
}

const kinds = (problems: readonly Problem[]) => problems.map(({ stream: s, kind }) => ({ stream: s, kind }));

const a = stream(A, 9);
const b = stream(B, 4);
const notes = [checkpointOf(a, 3), checkpointOf(b, 2), checkpointOf(a, 6), checkpointOf(b, 4), checkpointOf(a, 9)];

describe('the journal tree checker', () => {
  it('an honest tree: no problem, and every leaf handed on as a checkpoint of its stream', () => {
    const leaves = leavesOf(notes);
    const { problems, handed } = checkTree(leaves, headOf(leaves));
    expect(problems).toEqual([]);
    expect(handed.map(({ stream: s, pin }) => [s, pin.size, pin.ref])).toEqual([[A, 3, 0], [B, 2, 1], [A, 6, 2], [B, 4, 3], [A, 9, 4]]);
    const { tree, report } = verifyAll(leaves, [a, b]);
    expect(tree).toEqual([]);
    expect(report.problems).toEqual([]);
  });

  it('no head and no leaves (a store from before the journal tree): nothing to check', () => {
    expect(checkTree([], null).problems).toEqual([]);
  });

  it("a leaf whose stored hash is not its note's: modified", () => {
    const leaves = leavesOf(notes);
    leaves[2] = { ...leaves[2]!, hash: journalLeafHash('something else').toString('hex') };
    const { problems } = checkTree(leaves, headOf(leavesOf(notes)));
    expect(kinds(problems)).toContainEqual({ stream: JOURNAL_TREE_STREAM, kind: 'modified' });
    expect(problems.find((p) => p.kind === 'modified')?.message).toMatch(/leaf 2: its stored hash is not the hash of its note/);
  });

  it('a leaf rewritten with its hash (a note the journal never signed): modified or forged, and the signed head no longer matches', () => {
    const leaves = leavesOf(notes);
    const rewritten = forge(notes[2]!, 7, rootOf(a, 7));
    leaves[2] = { index: 2, note: rewritten, hash: journalLeafHash(rewritten).toString('hex') };
    const { problems, handed } = checkTree(leaves, headOf(leavesOf(notes)));
    expect(problems.map((p) => p.kind)).toEqual(['checkpoint_invalid', 'checkpoint_mismatch']);
    expect(problems[0]?.message).toMatch(/^leaf 2 \(a checkpoint of "paylog-tree\/str_\w+"\): forged/);
    expect(problems[1]?.message).toMatch(/signed head's root is not the root of the first 5 leaves/);
    expect(handed.map((h) => h.pin.ref)).toEqual([0, 1, 3, 4]);
  });

  it('a head whose signature is forged: checkpoint_invalid', () => {
    const leaves = leavesOf(notes);
    const genuine = headOf(leaves.slice(0, 4));
    // The head of 4 leaves made to say 5: its signature no longer verifies.
    const { problems } = checkTree(leaves, { ...headOf(leaves), note: forge(genuine.note, 5, treeRoot(leaves)) });
    expect(kinds(problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'checkpoint_invalid' }]);
    expect(problems[0]?.message).toMatch(/^the head: forged/);
    // Signed by a key of the journal's name that is not trusted.
    expect(checkTree(leaves, headOf(leaves, impostor)).problems[0]?.message).toMatch(/^the head: unknown key/);
  });

  it("a head signed over a root that is not the leaves': checkpoint_mismatch", () => {
    const leaves = leavesOf(notes);
    const { problems } = checkTree(leaves, headOf(leaves, signer, 'ab'.repeat(32)));
    expect(kinds(problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'checkpoint_mismatch' }]);
  });

  it('a head of another origin (a stream checkpoint put in its place): checkpoint_invalid', () => {
    const leaves = leavesOf(notes);
    const head = { ...headOf(leaves), note: signCheckpoint({ origin: `${JOURNAL}/${A}`, size: 5, root: treeRoot(leaves), time: TIME }, [signer]) };
    expect(checkTree(leaves, head).problems[0]?.message).toMatch(/^the head: wrong origin/);
  });

  it('leaves cut from the end under the head: truncated; leaves beyond the head: unauthenticated', () => {
    const leaves = leavesOf(notes);
    expect(kinds(checkTree(leaves.slice(0, 3), headOf(leaves)).problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'truncated' }]);
    const { problems } = checkTree(leaves, headOf(leaves.slice(0, 3)));
    expect(kinds(problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'unauthenticated' }]);
    expect(problems[0]?.message).toMatch(/2 leaves from leaf 3 on are covered by no signed head/);
    expect(kinds(checkTree(leaves, null).problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'unauthenticated' }]);
  });

  it('a leaf deleted from the middle: missing, and the head does not match', () => {
    const leaves = leavesOf(notes);
    const { problems } = checkTree([...leaves.slice(0, 2), ...leaves.slice(3)], headOf(leaves));
    expect(problems.map((p) => p.kind)).toEqual(['missing', 'truncated']);
    expect(problems[0]?.message).toMatch(/leaf 2 is missing/);
  });

  it("a stored frontier that is not the leaves' (writers would stop appending): checkpoint_mismatch", () => {
    const leaves = leavesOf(notes);
    const head = { ...headOf(leaves), frontier: ['00'.repeat(32), '11'.repeat(32)] };
    expect(checkTree(leaves, head).problems.map((p) => p.message)).toEqual([expect.stringMatching(/stored frontier is not the frontier of the leaves/)]);
  });

  it('a leaf of another journal, or not a checkpoint at all: reported, and not handed on', () => {
    const other = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
    const foreign = signCheckpoint({ origin: `other-journal/${A}`, size: 3, root: rootOf(a, 3), time: TIME }, [signer]);
    const unknownKey = checkpointOf(a, 3, other);
    const leaves = leavesOf([foreign, 'not a note', unknownKey, notes[0]!]);
    const { problems, handed } = checkTree(leaves, headOf(leaves));
    expect(problems.map((p) => p.kind)).toEqual(['wrong_journal', 'checkpoint_invalid', 'checkpoint_invalid']);
    expect(problems[0]?.message).toMatch(/leaf 0 is a checkpoint of "other-journal\/str_/);
    expect(problems[1]?.message).toMatch(/^leaf 1: malformed/);
    expect(problems[2]?.message).toMatch(/^leaf 2 \(a checkpoint of "paylog-tree\/str_\w+"\): unknown key/);
    expect(handed.map((h) => h.pin.ref)).toEqual([3]);
  });

  it('a leaf signed in the future: time_invalid', () => {
    const late = signCheckpoint({ origin: `${JOURNAL}/${A}`, size: 3, root: rootOf(a, 3), time: '2030-01-01T00:00:00.000Z' }, [signer]);
    const leaves = leavesOf([late]);
    expect(kinds(checkTree(leaves, headOf(leaves)).problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'time_invalid' }]);
  });

  it('a stream named in a leaf that the journal no longer has: stream_missing', () => {
    const { tree, report } = verifyAll(leavesOf(notes), [a]);
    expect(tree).toEqual([]);
    expect(kinds(report.problems)).toEqual([{ stream: B, kind: 'stream_missing' }]);
    expect(report.problems[0]?.message).toMatch(/no record of this stream, but journal tree leaf 3 covers 4 records \(2 leaves cover more than it has\)/);
  });

  it('a stream rolled back below its leaves: truncated; rewritten under them: checkpoint_mismatch at the first leaf it contradicts', () => {
    const cut = verifyAll(leavesOf(notes), [a.slice(0, 5), b]).report;
    expect(cut.problems.map(({ stream: s, seq, kind }) => ({ stream: s, seq, kind }))).toEqual([{ stream: A, seq: 6, kind: 'truncated' }]);
    expect(cut.problems[0]?.message).toMatch(/ends at seq 5, but journal tree leaf 4 covers 9 records \(2 leaves cover more/);

    // The key holder rewrote A from seq 5 on (a new history of the same length): leaves 2 and 4 no longer match.
    const relinked = relink([...a.slice(0, 4), ...stream(A, 9, 'x').slice(4)]);
    const { report } = verifyAll(leavesOf(notes), [relinked, b]);
    expect(report.problems.map(({ stream: s, seq, kind }) => ({ stream: s, seq, kind }))).toEqual([{ stream: A, seq: 6, kind: 'checkpoint_mismatch' }]);
    expect(report.problems[0]?.message).toMatch(/journal tree leaf 2, a checkpoint of 6 records: the first 6 records do not reproduce its root \(and 1 more leaf of this stream does not either\)/);
  });

  it('published stream checkpoints: forked when contradicted, truncated when longer than the stream', () => {
    const published = [{ stream: A, pin: { size: 9, root: rootOf(stream(A, 9, 'y')), source: 'published' as const, ref: 7 } }];
    const { report } = verifyAll([], [a, b], published);
    expect(kinds(report.problems)).toEqual([{ stream: A, kind: 'forked' }]);
    expect(report.problems[0]?.message).toMatch(/the checkpoint published on line 7 of published.jsonl, a checkpoint of 9 records.*history was rewritten/);
    const longer = [{ stream: B, pin: { size: 6, root: 'cd'.repeat(32), source: 'published' as const, ref: 2 } }];
    expect(kinds(verifyAll([], [a, b], longer).report.problems)).toEqual([{ stream: B, kind: 'truncated' }]);
  });

  it('published journal tree checkpoints: forked when the tree has another root at their size, truncated when it is shorter', () => {
    const leaves = leavesOf(notes);
    const tree = new JournalTreeVerifier({ ...options, publishedName: 'published.jsonl' });
    tree.expectPublished(3, treeRoot(leaves.slice(0, 3)), 1); // consistent
    tree.expectPublished(4, 'ee'.repeat(32), 2); // another history
    tree.expectPublished(0, treeRoot([]), 3); // the empty tree
    for (const leaf of leaves) tree.addLeaf(leaf);
    const problems = tree.finish(headOf(leaves));
    expect(kinds(problems)).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'forked' }]);
    expect(problems[0]?.message).toMatch(/published on line 2 of published.jsonl: the first 4 leaves of the journal tree do not have its root/);

    const shorter = new JournalTreeVerifier({ ...options, publishedName: 'published.jsonl' });
    shorter.expectPublished(7, 'ee'.repeat(32), 9);
    for (const leaf of leaves) shorter.addLeaf(leaf);
    expect(shorter.finish(headOf(leaves)).map((p) => p.message)).toEqual([expect.stringMatching(/journal tree has 5 leaves, but the checkpoint published on line 9 of published.jsonl covers 7/)]);
    // A store with no journal tree at all, against a published one.
    const none = new JournalTreeVerifier(options);
    none.expectPublished(2, 'ee'.repeat(32), 1);
    expect(kinds(none.finish(null))).toEqual([{ stream: JOURNAL_TREE_STREAM, kind: 'truncated' }]);
  });

  it('property: a stream cut at any point is truncated exactly when the cut is below its largest leaf, and never otherwise reported', () => {
    const long = stream(A, 40);
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 40 }),
      (sizes, cut) => {
        const leaves = leavesOf([...sizes].sort((x, y) => x - y).map((size) => checkpointOf(long, size)));
        const { tree, report } = verifyAll(leaves, [long.slice(0, cut)]);
        expect(tree).toEqual([]);
        const largest = Math.max(...sizes);
        expect(kinds(report.problems)).toEqual(cut < largest ? [{ stream: A, kind: 'truncated' }] : []);
      },
    ), { seed: 1212, numRuns: 150 });
  });

  it('property: a stream rewritten from any seq contradicts exactly the leaves at or beyond it', () => {
    const long = stream(A, 30);
    fc.assert(fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 2, max: 30 }),
      (sizes, from) => {
        const sorted = [...sizes].sort((x, y) => x - y);
        const leaves = leavesOf(sorted.map((size) => checkpointOf(long, size)));
        const rewritten = relink([...long.slice(0, from - 1), ...stream(A, 30, 'z').slice(from - 1)]);
        const { report } = verifyAll(leaves, [rewritten]);
        const contradicted = sorted.filter((size) => size >= from);
        if (contradicted.length === 0) {
          expect(report.problems).toEqual([]);
        } else {
          expect(report.problems.map(({ seq, kind }) => ({ seq, kind }))).toEqual([{ seq: contradicted[0], kind: 'checkpoint_mismatch' }]);
        }
      },
    ), { seed: 77, numRuns: 120 });
  });
});

describe('pinned roots', () => {
  it('property: pins given in any order are taken in size order, each once, and only differing roots come back', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ size: fc.integer({ min: 0, max: 50 }), same: fc.boolean() }), { maxLength: 60 }),
      (entries) => {
        const rootAt = (size: number): Buffer => Buffer.alloc(32, size);
        const pins = new PinnedRoots();
        entries.forEach(({ size, same }, i) => pins.add({ size, root: (same ? rootAt(size) : Buffer.alloc(32, 255)).toString('hex'), source: i % 2 ? 'published' : 'leaf', ref: i }));
        const differing: Pin[] = [];
        let last = -1;
        while (pins.next() !== Number.POSITIVE_INFINITY) {
          const size = pins.next();
          expect(size).toBeGreaterThan(last);
          last = size;
          differing.push(...pins.takeNext(rootAt(size)));
        }
        const expected = entries.map((e, i) => ({ ...e, i })).filter((e) => !e.same).map((e) => e.i).sort((x, y) => x - y);
        expect(differing.map((p) => p.ref).sort((x, y) => x - y)).toEqual(expected);
        expect(pins.pending).toBe(0);
      },
    ), { seed: 5, numRuns: 200 });
  });
});

/** The records renumbered and relinked after a rewrite: a chain that links, as the key holder would leave it. */
function relink(records: readonly AuditRecord[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const record of records) {
    const prev = out[out.length - 1]?.hash ?? GENESIS_PREV;
    const { hash: _hash, ...body } = record;
    out.push(sealRecord({ type: body.type, actor: body.actor, origin: body.origin, resource: body.resource, outcome: body.outcome, reason: body.reason, data: body.data },
      { journal: body.journal, stream: body.stream, seq: out.length + 1, prev, ts: body.ts }));
  }
  return out;
}
