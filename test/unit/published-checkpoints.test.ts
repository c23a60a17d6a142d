import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_PREV, sealRecord } from '../../src/core/audit-record.js';
import { type TrustedKey, signCheckpoint } from '../../src/core/checkpoint.js';
import { cosign, cosignerFromPrivateKey, cosignerKeyOf, parseCosignerKey } from '../../src/core/cosignature.js';
import { journalLeafHash } from '../../src/core/journal-tree.js';
import { MerkleFrontier, inclusionProof } from '../../src/core/merkle.js';
import {
  type PublishedCheckpoint, checkPublished, checkpointListOf, parsePublished, publishedLine, publishedOf,
} from '../../src/core/published-checkpoints.js';
import { type ReceiptEntry, checkReceiptEntry } from '../../src/core/receipt.js';
import { parseNote, parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { checkQuorum, logSignaturesOf } from '../../src/core/witness-quorum.js';

const JOURNAL = 'paylog-pub';
const STREAM = 'str_01jdq1aaaaaaaaaaaaaaaaaa';
const TIME = '2026-11-30T13:00:00.000Z';
const NOW = Date.parse('2026-11-30T14:00:00.000Z');
const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
const trusted: TrustedKey[] = [{ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null }];
const witness = (name: string) => cosignerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey);
const w1 = witness('witness.example/w1');
const w2 = witness('witness.example/w2');
const stranger = witness('elsewhere.example/w9');
const keysOf = (...ws: typeof w1[]) => ws.map((w) => parseCosignerKey(cosignerKeyOf(w)));

const ROOT = 'ab'.repeat(32);
const treeNote = signCheckpoint({ origin: JOURNAL, size: 12, root: ROOT, time: TIME }, [signer]);
const streamNote = signCheckpoint({ origin: `${JOURNAL}/${STREAM}`, size: 40, root: ROOT, time: TIME }, [signer]);
const textOf = (note: string): string => parseNote(note).text;
/** A note with cosignature lines after its own signature, as GET /v1/audit/checkpoints serves it. */
const cosigned = (note: string, lines: string[]): string => `${note}${lines.join('')}`;

const journalLine = (note = treeNote, extra: Partial<PublishedCheckpoint> = {}): PublishedCheckpoint => ({
  v: 1, kind: 'journal', fetchedAt: TIME, from: 'http://paylog.test', journal: JOURNAL, size: 12, root: ROOT, note, ...extra,
});
const streamLine = (extra: Partial<PublishedCheckpoint> = {}): PublishedCheckpoint => ({
  v: 1, kind: 'stream', fetchedAt: TIME, from: 'http://paylog.test', journal: JOURNAL, stream: STREAM, size: 40, root: ROOT, note: streamNote, ...extra,
});
const options = { journal: JOURNAL, trusted, nowMs: NOW };

describe('the published-checkpoints line format', () => {
  it('a line reads back as it was written, fields in a fixed order', () => {
    for (const cp of [journalLine(), streamLine()]) {
      const line = publishedLine(cp);
      expect(line).not.toContain('\n');
      expect(parsePublished(JSON.parse(line))).toEqual(cp);
    }
    expect(Object.keys(JSON.parse(publishedLine(streamLine())))).toEqual(['v', 'kind', 'fetchedAt', 'from', 'journal', 'stream', 'size', 'root', 'note']);
  });

  it('what is not a line of the format says why', () => {
    expect(parsePublished(null)).toEqual({ error: 'not a JSON object' });
    expect(parsePublished({ ...streamLine(), v: 2 })).toMatchObject({ error: expect.stringMatching(/format 1/) });
    expect(parsePublished({ ...streamLine(), kind: 'head' })).toMatchObject({ error: expect.stringMatching(/kind/) });
    expect(parsePublished({ ...streamLine(), stream: 'a/b' })).toMatchObject({ error: expect.stringMatching(/stream/) });
    expect(parsePublished({ ...streamLine(), size: -1 })).toMatchObject({ error: expect.stringMatching(/size/) });
    expect(parsePublished({ ...streamLine(), root: 'AB'.repeat(32) })).toMatchObject({ error: expect.stringMatching(/root/) });
  });

  it('property: any JSON value is either a published checkpoint or an error, never a throw', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const parsed = parsePublished(value);
      expect('error' in parsed || parsed.v === 1).toBe(true);
    }), { seed: 12, numRuns: 300 });
  });

  it("a server's answer becomes one line per checkpoint, the journal tree's first, each stream's journal read off its note", () => {
    const answer = checkpointListOf({ data: [{ stream: STREAM, size: 40, root: ROOT, note: streamNote, createdAt: TIME }], journal: { journal: JOURNAL, origin: JOURNAL, size: 12, root: ROOT, note: treeNote, cosignatures: [] } });
    expect(publishedOf(answer, TIME, 'http://paylog.test')).toEqual([journalLine(), streamLine()]);
    expect(publishedOf(checkpointListOf({ data: [], journal: null }), TIME, 'x')).toEqual([]);
    expect(() => checkpointListOf({ journal: null })).toThrow(/"data"/);
    expect(() => checkpointListOf({ data: [{ stream: STREAM }] })).toThrow(/checkpoint 0/);
  });
});

describe('a published checkpoint as evidence', () => {
  it("is valid when the journal's key signed it for its own origin, whatever cosignatures it carries", () => {
    expect(checkPublished(journalLine(), options)).toEqual({ ok: true, timeMs: Date.parse(TIME) });
    expect(checkPublished(streamLine(), options)).toMatchObject({ ok: true });
    const lines = [cosign(textOf(treeNote), w1, 1_790_000_000)];
    expect(checkPublished(journalLine(cosigned(treeNote, lines)), options)).toMatchObject({ ok: true });
    // A cosigner whose name paylog's own keys could never have (signed-note allows it) is ignored, not refused.
    // (Made by hand: paylog's own cosigner keys are ASCII-named too.)
    const withUnicode = cosigned(treeNote, [`\u2014 témoin.example/w1 ${Buffer.alloc(76, 7).toString('base64')}\n`]);
    expect(logSignaturesOf(withUnicode)).toBe(treeNote);
    expect(checkPublished(journalLine(withUnicode), options)).toMatchObject({ ok: true });
  });

  it('is refused when it is of another journal, another origin, forged, or says another size than it signs', () => {
    expect(checkPublished(journalLine(treeNote, { journal: 'other' }), options)).toMatchObject({ ok: false, kind: 'wrong_journal' });
    expect(checkPublished(journalLine(streamNote), options)).toMatchObject({ ok: false, kind: 'checkpoint_invalid', message: expect.stringMatching(/wrong origin/) });
    expect(checkPublished(streamLine({ stream: 'str_01jdq1bbbbbbbbbbbbbbbbbb' }), options)).toMatchObject({ ok: false, kind: 'checkpoint_invalid', message: expect.stringMatching(/wrong origin/) });
    expect(checkPublished(journalLine(treeNote.replace('\n12\n', '\n13\n'), { size: 13 }), options)).toMatchObject({ ok: false, message: expect.stringMatching(/^forged/) });
    expect(checkPublished(journalLine(treeNote, { size: 11 }), options)).toMatchObject({ ok: false, message: expect.stringMatching(/says size 11, but its note signs size 12/) });
    expect(checkPublished(journalLine(), { ...options, nowMs: Date.parse('2026-11-30T12:00:00.000Z') })).toMatchObject({ ok: false, kind: 'time_invalid' });
  });
});

describe('a quorum of witnesses', () => {
  const text = textOf(treeNote);
  it('counts valid cosignatures of the keys given, once each; ignores unknown keys; reports forged ones', () => {
    const both = cosigned(treeNote, [cosign(text, w1, 1_790_000_000), cosign(text, w2, 1_790_000_001), cosign(text, stranger, 1_790_000_002)]);
    expect(checkQuorum(both, { keys: keysOf(w1, w2), quorum: 2 })).toEqual({ valid: [expect.stringMatching(/^witness.example\/w1\+/), expect.stringMatching(/^witness.example\/w2\+/)], forged: [], malformed: null, met: true });
    const twice = cosigned(treeNote, [cosign(text, w1, 1_790_000_000), cosign(text, w1, 1_790_000_005)]);
    expect(checkQuorum(twice, { keys: keysOf(w1, w2), quorum: 2 })).toMatchObject({ valid: [expect.any(String)], met: false });
    expect(checkQuorum(cosigned(treeNote, [cosign(text, stranger, 1_790_000_000)]), { keys: keysOf(w1), quorum: 1 })).toMatchObject({ valid: [], forged: [], met: false });
    // w2's cosignature of another checkpoint, pasted onto this one: it names w2 and does not verify.
    const other = textOf(signCheckpoint({ origin: JOURNAL, size: 13, root: ROOT, time: TIME }, [signer]));
    const pasted = cosigned(treeNote, [cosign(text, w1, 1_790_000_000), cosign(other, w2, 1_790_000_000)]);
    expect(checkQuorum(pasted, { keys: keysOf(w1, w2), quorum: 1 })).toMatchObject({ valid: [expect.stringMatching(/w1/)], forged: [expect.stringMatching(/w2/)], met: true });
    expect(checkQuorum('not a note', { keys: keysOf(w1), quorum: 1 })).toMatchObject({ malformed: expect.any(String), met: false });
  });
});

describe('a receipt held to a quorum of witnesses', () => {
  // A stream of 5 records, its checkpoint of 5, and a journal tree of 4 leaves in which that checkpoint is leaf 2.
  const records = Array.from({ length: 5 }).reduce<ReturnType<typeof sealRecord>[]>((all, _, i) => [...all, sealRecord({
    type: i === 0 ? 'journal.started' : 'payment.received', actor: 'system', origin: { requestId: null, traceId: null, ip: null }, resource: null, outcome: 'success', reason: null, data: { i },
  }, { journal: JOURNAL, stream: STREAM, seq: i + 1, prev: all[i - 1]?.hash ?? GENESIS_PREV, ts: '2026-11-30T12:00:00.000Z' })], []);
  const hashes = records.map((r) => Buffer.from(r.hash, 'hex'));
  const streamFrontier = new MerkleFrontier();
  hashes.forEach((h) => streamFrontier.push(h));
  const checkpoint = signCheckpoint({ origin: `${JOURNAL}/${STREAM}`, size: 5, root: streamFrontier.root().toString('hex'), time: TIME }, [signer]);
  const leafNotes = ['a', 'b', checkpoint, 'd'].map((n) => (n.length === 1 ? signCheckpoint({ origin: `${JOURNAL}/str_other${n}`, size: 1, root: ROOT, time: TIME }, [signer]) : n));
  const leafHashes = leafNotes.map(journalLeafHash);
  const treeFrontier = new MerkleFrontier();
  leafHashes.forEach((h) => treeFrontier.push(h));
  const head = signCheckpoint({ origin: JOURNAL, size: 4, root: treeFrontier.root().toString('hex'), time: TIME }, [signer]);
  const headText = textOf(head);
  const entry = (journalCheckpoint: string | null, index = 2): ReceiptEntry => ({
    record: records[2]!, leafIndex: 2, proof: inclusionProof(hashes, 2, 5).map((h) => h.toString('hex')), treeSize: 5, checkpoint,
    ...(journalCheckpoint !== null && { journalLeaf: { index, proof: inclusionProof(leafHashes, index, 4).map((h) => h.toString('hex')), checkpoint: journalCheckpoint } }),
  });
  const policy = { keys: keysOf(w1, w2), quorum: 2 };

  it('is proven when its checkpoint is a leaf of a journal tree checkpoint a quorum cosigned', () => {
    const note = cosigned(head, [cosign(headText, w1, 1_790_000_000), cosign(headText, w2, 1_790_000_000)]);
    expect(checkReceiptEntry(entry(note), trusted, policy)).toMatchObject({ ok: true, reason: null });
    // Without a policy, the journal leaf is not needed.
    expect(checkReceiptEntry(entry(null), trusted)).toMatchObject({ ok: true });
  });

  it('is not, without the journal leaf, with a wrong leaf, a short quorum, a forged cosignature, or a tree checkpoint not signed by the journal', () => {
    const one = cosigned(head, [cosign(headText, w1, 1_790_000_000)]);
    const two = cosigned(head, [cosign(headText, w1, 1_790_000_000), cosign(headText, w2, 1_790_000_000)]);
    expect(checkReceiptEntry(entry(null), trusted, policy).reason).toMatch(/no journalLeaf/);
    expect(checkReceiptEntry(entry(two, 1), trusted, policy).reason).toMatch(/not leaf 1 of the journal tree checkpoint of size 4/);
    expect(checkReceiptEntry(entry(one), trusted, policy).reason).toMatch(/carries 1 valid cosignature from the witness keys given, 2 required/);
    const forged = cosigned(head, [cosign(headText, w1, 1_790_000_000), cosign(headText.replace('\n4\n', '\n5\n'), w2, 1_790_000_000)]);
    expect(checkReceiptEntry(entry(forged), trusted, policy).reason).toMatch(/cosignature by witness.example\/w2\+[0-9a-f]{8} that does not verify/);
    const stranger2 = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
    const foreign = signCheckpoint({ origin: JOURNAL, size: 4, root: treeFrontier.root().toString('hex'), time: TIME }, [stranger2]);
    const foreignText = textOf(foreign);
    expect(checkReceiptEntry(entry(cosigned(foreign, [cosign(foreignText, w1, 1_790_000_000), cosign(foreignText, w2, 1_790_000_000)])), trusted, policy).reason).toMatch(/journal tree checkpoint unknown key/);
  });
});
