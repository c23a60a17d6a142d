import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticate, judge } from '../../src/app/witness/decide.js';
import { type AddCheckpointRequest, PROOF_LINES_MAX, parseAddCheckpointRequest } from '../../src/app/witness/request.js';
import type { WitnessedCheckpoint } from '../../src/app/witness/witness-store.js';
import { trustedLogsOf } from '../../src/compose/witness.js';
import { EMPTY_ROOT } from '../../src/core/merkle.js';
import { signNote, signerFromPrivateKey } from '../../src/core/signed-note.js';
import { TestLog, addCheckpointBody } from '../support/witness.js';

const log = new TestLog('log.test/one', 40);
const logs = trustedLogsOf([log.vkey]);

function parsed(body: string | Buffer): AddCheckpointRequest {
  const result = parseAddCheckpointRequest(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

function refused(body: string | Buffer): string {
  const result = parseAddCheckpointRequest(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'));
  expect(result.ok, `accepted ${JSON.stringify(body.toString())}`).toBe(false);
  return result.ok ? '' : result.reason;
}

const held = (size: number, source = log): WitnessedCheckpoint => ({
  origin: source.origin, size, root: source.root(size), note: source.checkpoint(size), cosignature: '', cosignedAt: 1,
});

describe('parsing an add-checkpoint body', () => {
  it('reads the old size, the proof and the note', () => {
    const request = parsed(log.body(8, 20));
    expect(request.oldSize).toBe(8);
    expect(request.proof).toEqual(log.proof(8, 20));
    expect(request.checkpoint).toMatchObject({ origin: 'log.test/one', size: 20, extensions: [] });
    expect(request.checkpoint.root.equals(log.root(20))).toBe(true);
    expect(request.note).toBe(log.checkpoint(20));
  });

  it('keeps any extension lines a log adds', () => {
    const request = parsed(log.body(0, 5, { extensions: ['time 2026-11-30T17:12:00.123Z', 'anything else at all'] }));
    expect(request.checkpoint.extensions).toEqual(['time 2026-11-30T17:12:00.123Z', 'anything else at all']);
  });

  it('accepts a signature line from an unknown key with a non-ASCII name (signed-note allows it)', () => {
    const note = `${log.checkpoint(5)}\u2014 témoin.example/ü ${Buffer.alloc(72, 1).toString('base64')}\n`;
    expect(parsed(addCheckpointBody(0, [], note)).opened.signatures).toHaveLength(2);
  });

  it('refuses every old line but "old <decimal without leading zeroes>"', () => {
    for (const old of ['old 01', 'old -1', 'old  1', 'Old 1', 'old 1 ', 'old', 'old 1.0', 'old 0x1', 'old 9007199254740993', 'new 1']) {
      expect(refused(`${old}\n\n${log.checkpoint(5)}`)).toMatch(/old/);
    }
  });

  it('takes up to 63 proof lines, not 64', () => {
    const hash = Buffer.alloc(32, 3);
    expect(parsed(addCheckpointBody(4, Array(PROOF_LINES_MAX).fill(hash), log.checkpoint(5))).proof).toHaveLength(63);
    expect(refused(addCheckpointBody(4, Array(PROOF_LINES_MAX + 1).fill(hash), log.checkpoint(5)))).toMatch(/63/);
  });

  it('refuses proof lines that are not one base64 SHA-256 hash', () => {
    for (const line of ['AAAA', Buffer.alloc(33).toString('base64'), Buffer.alloc(32).toString('base64').slice(0, -1), `${Buffer.alloc(32).toString('base64')} `, '*'.repeat(44)]) {
      expect(refused(`old 4\n${line}\n\n${log.checkpoint(5)}`)).toMatch(/proof/);
    }
  });

  it('refuses malformed bodies and notes', () => {
    const note = log.checkpoint(5);
    const cases = [
      '', 'old 0', 'old 0\n', `old 0\n${note}`, 'old 0\n\n', `old 0\n\n${note.slice(0, -1)}`,
      `old 0\n\n${log.text(5)}`, `old 0\n\n${log.text(5)}\n`,
      `old 0\r\n\r\n${note}`, `old 0\n\n${note.replace('\n5\n', '\n05\n')}`, `old 0\n\n${note.replace('log.test/one', '')}`,
      `old 0\n\n${signNote(`${log.text(5)}\n`, [log.signer])}`, `old 0\n\n${note}\u2014 x\n`, `old 0\n\n${note.replace('\u2014 ', '- ')}`,
      `old 0\n\n${note.replace('\n5\n', '\n5\t\n')}`,
    ];
    for (const body of cases) refused(body);
    refused(Buffer.concat([Buffer.from('old 0\n\n'), Buffer.from([0xff, 0xfe]), Buffer.from(note)]));
  });
});

describe('authenticating the checkpoint (404, 403)', () => {
  const stranger = signerFromPrivateKey('log.test/one', generateKeyPairSync('ed25519').privateKey);

  it('404 for an origin the witness does not know', () => {
    const other = new TestLog('log.test/other', 3);
    expect(authenticate(parsed(other.body(0, 3)), logs)).toEqual({ ok: false, refusal: { status: 404, reason: 'unknown log origin' } });
  });

  it('403 with no signature from a trusted key: only an unknown key of the same name', () => {
    const note = signNote(log.text(5), [stranger]);
    expect(authenticate(parsed(addCheckpointBody(0, [], note)), logs)).toMatchObject({ ok: false, refusal: { status: 403 } });
  });

  it('403 when a line names a trusted key (name and ID) but does not verify, even beside a valid one', () => {
    const note = log.checkpoint(5);
    const forged = `${note}\u2014 log.test/one ${Buffer.concat([log.signer.keyId, Buffer.alloc(64, 9)]).toString('base64')}\n`;
    expect(authenticate(parsed(addCheckpointBody(0, [], forged)), logs)).toMatchObject({ ok: false, refusal: { status: 403, reason: expect.stringMatching(/does not verify/) } });
    const short = `${note}\u2014 log.test/one ${Buffer.concat([log.signer.keyId, Buffer.alloc(10, 9)]).toString('base64')}\n`;
    expect(authenticate(parsed(addCheckpointBody(0, [], short)), logs)).toMatchObject({ ok: false, refusal: { status: 403 } });
  });

  it('ignores signatures from unknown keys beside a valid one, and keeps only the verified lines', () => {
    const note = signNote(log.text(5), [stranger, log.signer]);
    const result = authenticate(parsed(addCheckpointBody(0, [], note)), logs);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.verifiedLines).toEqual([note.trimEnd().split('\n').at(-1)]);
  });
});

describe('judging against the held checkpoint', () => {
  it('cosigns a first checkpoint from old 0, and a consistent extension', () => {
    expect(judge(parsed(log.body(0, 10)), null)).toBeNull();
    expect(judge(parsed(log.body(10, 25)), held(10))).toBeNull();
    expect(judge(parsed(log.body(25, 25)), held(25))).toBeNull();
    expect(judge(parsed(log.body(0, 10)), held(0))).toBeNull();
  });

  it('400 when old is larger than the checkpoint size, before anything else', () => {
    expect(judge(parsed(log.body(12, 10, { proof: [] })), held(3))).toMatchObject({ status: 400 });
  });

  it('409 with the held size when old differs from it (0 when nothing is held)', () => {
    expect(judge(parsed(log.body(5, 10)), null)).toEqual({ status: 409, size: 0 });
    expect(judge(parsed(log.body(0, 10)), held(7))).toEqual({ status: 409, size: 7 });
    expect(judge(parsed(log.body(5, 10)), held(7))).toEqual({ status: 409, size: 7 });
  });

  it('422 for a size-0 checkpoint without the empty tree root', () => {
    expect(judge(parsed(log.body(0, 0)), null)).toBeNull();
    expect(log.root(0).equals(EMPTY_ROOT)).toBe(true);
    const note = signNote(`${log.origin}\n0\n${log.root(3).toString('base64')}\n`, [log.signer]);
    expect(judge(parsed(addCheckpointBody(0, [], note)), null)).toMatchObject({ status: 422, evidence: 'empty_tree_root' });
  });

  it('422 for a proof sent from old 0', () => {
    expect(judge(parsed(log.body(0, 10, { proof: [log.root(1)] })), null)).toMatchObject({ status: 422, evidence: 'proof_from_empty' });
  });

  it('422 for a proof that does not verify: wrong, truncated, padded, or to a fork', () => {
    const proof = log.proof(10, 25);
    for (const bad of [proof.slice(1), [...proof, log.root(1)], proof.map((h, i) => (i === 0 ? log.root(2) : h)), []]) {
      expect(judge(parsed(log.body(10, 25, { proof: bad })), held(10))).toMatchObject({ status: 422, evidence: 'proof_invalid' });
    }
    const fork = log.fork('-fork', 10).grow(15);
    expect(judge(parsed(fork.body(10, 25, { proof: log.proof(10, 25) })), held(10))).toMatchObject({ status: 422, evidence: 'proof_invalid' });
    expect(judge(parsed(log.body(25, 25, { proof: [log.root(1)] })), held(25))).toMatchObject({ status: 422, evidence: 'proof_invalid' });
  });

  it('422 for another root at the held size: the log signed two trees of one size', () => {
    const fork = log.fork('-fork', 10).grow(10);
    expect(judge(parsed(fork.body(20, 20)), held(20))).toMatchObject({ status: 422, evidence: 'root_mismatch' });
  });
});
