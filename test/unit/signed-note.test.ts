import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type TrustedKey, checkCheckpoint, formatCheckpointBody, parseCheckpointBody, signCheckpoint,
} from '../../src/core/checkpoint.js';
import {
  parseNote, parseSignerKey, parseVerifierKey, signNote, signatureValid, signerFromPrivateKey, verifierKeyOf,
} from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';

// The published example of golang.org/x/mod/sumdb/note (note_test.go).
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIGNED = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('signed-note test vector', () => {
  it('derives the same verifier key and signs byte for byte like the reference', () => {
    const signer = parseSignerKey(SKEY);
    expect(verifierKeyOf(signer)).toBe(VKEY);
    expect(signNote(TEXT, [signer])).toBe(SIGNED);
  });

  it('verifies the published note and refuses a changed one', () => {
    const key = parseVerifierKey(VKEY);
    const { text, signatures } = parseNote(SIGNED);
    expect(text).toBe(TEXT);
    expect(signatureValid(text, signatures[0]!, key)).toBe(true);
    const changed = parseNote(SIGNED.replace('cryptography', 'cryptographY'));
    expect(signatureValid(changed.text, changed.signatures[0]!, key)).toBe(false);
  });

  it('refuses every mangling of the verifier key', () => {
    for (let i = 0; i < VKEY.length; i++) {
      const mangled = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      expect(() => parseVerifierKey(mangled), mangled).toThrow();
    }
    for (let cut = 1; cut < VKEY.length; cut++) expect(() => parseVerifierKey(VKEY.slice(0, cut))).toThrow();
  });
});

describe('checkpoints', () => {
  const makeSigner = (name: string) => signerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey);
  const signer = makeSigner('paylog-test');
  const trusted: TrustedKey[] = [{ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null }];
  const body = { origin: 'paylog-test/str_01', size: 42, root: 'aa'.repeat(32) };
  const note = signCheckpoint(body, [signer]);
  const TIME = '2026-11-30T17:12:00.123Z';
  const timed = { ...body, time: TIME };
  const timedNote = signCheckpoint(timed, [signer]);
  const windowed = (validFrom: number | null, validUntil: number | null, key = trusted[0]!.key): TrustedKey[] => [{ key, validFrom, validUntil }];

  it('formats the three C2SP lines and parses them back', () => {
    expect(formatCheckpointBody(body)).toBe(`paylog-test/str_01\n42\n${Buffer.alloc(32, 0xaa).toString('base64')}\n`);
    expect(parseCheckpointBody(formatCheckpointBody(body))).toEqual(body);
    expect(checkCheckpoint(note, trusted, 'paylog-test/str_01')).toMatchObject({ ok: true, body, timeMs: null });
  });

  it('writes the signing time as one extension line after the root, and reads it back', () => {
    expect(formatCheckpointBody(timed)).toBe(`paylog-test/str_01\n42\n${Buffer.alloc(32, 0xaa).toString('base64')}\ntime ${TIME}\n`);
    expect(parseCheckpointBody(formatCheckpointBody(timed))).toEqual(timed);
    expect(parseNote(timedNote).text).toBe(formatCheckpointBody(timed));
    expect(checkCheckpoint(timedNote, trusted, 'paylog-test/str_01')).toMatchObject({ ok: true, body: timed, timeMs: Date.parse(TIME) });
  });

  it('refuses to format a time that is not RFC 3339 UTC with milliseconds', () => {
    for (const time of ['2026-11-30T17:12:00Z', '2026-11-30T17:12:00.123+00:00', '2026-02-30T00:00:00.000Z', 'now', `${TIME}\nextra x`]) {
      expect(() => formatCheckpointBody({ ...body, time }), time).toThrow(/RFC 3339/);
    }
  });

  it.each([
    ['wrong origin', note, 'wrong_origin'],
    ['extra line', note.replace('\n42\n', '\n42\nextra\n'), 'malformed'],
    ['an extension line other than time', note.replace(/\n\n/, '\nwitness example.com\n\n'), 'malformed'],
    ['two time lines', timedNote.replace(`time ${TIME}\n`, `time ${TIME}\ntime ${TIME}\n`), 'malformed'],
    ['a time line and another extension line', timedNote.replace(`time ${TIME}\n`, `time ${TIME}\nx\n`), 'malformed'],
    ['a time without milliseconds', timedNote.replace(TIME, '2026-11-30T17:12:00Z'), 'malformed'],
    ['a time with an offset', timedNote.replace(TIME, '2026-11-30T17:12:00.123+00:00'), 'malformed'],
    ['a time on a day that does not exist', timedNote.replace(TIME, '2026-02-30T17:12:00.123Z'), 'malformed'],
    ['a lower-case time', timedNote.replace(TIME, TIME.toLowerCase()), 'malformed'],
    ['a time with trailing space', timedNote.replace(TIME, `${TIME} `), 'malformed'],
    ['"time" without a value', timedNote.replace(`time ${TIME}`, 'time'), 'malformed'],
    ['bad base64 root', note.replace(/\n42\n[^\n]+\n/, '\n42\n!!!notbase64\n'), 'malformed'],
    ['negative size', note.replace('\n42\n', '\n-42\n'), 'malformed'],
    ['leading zero size', note.replace('\n42\n', '\n042\n'), 'malformed'],
    ['truncated signature', note.replace(/ (\S+)\n$/, (_m, sig: string) => ` ${sig.slice(0, 20)}\n`), 'malformed'],
    ['no signature block', `${formatCheckpointBody(body)}`, 'malformed'],
    ['huge note', `${'x'.repeat(70_000)}\n\n\u2014 a AAAA\n`, 'malformed'],
    ['changed size', note.replace('\n42\n', '\n43\n'), 'forged'],
    ['changed signed time', timedNote.replace(TIME, '2026-11-30T17:12:00.124Z'), 'forged'],
    ['signed time removed', timedNote.replace(`time ${TIME}\n`, ''), 'forged'],
  ])('%s is refused', (_name, text, reason) => {
    const origin = _name === 'wrong origin' ? 'paylog-test/str_02' : 'paylog-test/str_01';
    expect(checkCheckpoint(text, trusted, origin)).toMatchObject({ ok: false, reason });
  });

  it('an unknown key is refused', () => {
    const stranger = signCheckpoint(body, [makeSigner('paylog-test')]);
    expect(checkCheckpoint(stranger, trusted, null)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });

  it('a key with a validity window accepts a note signed inside it, by the note\'s own signed time', () => {
    const at = Date.parse(TIME);
    expect(checkCheckpoint(timedNote, windowed(at - 1000, at + 1000), null)).toMatchObject({ ok: true, timeMs: at });
    expect(checkCheckpoint(timedNote, windowed(at, at), null)).toMatchObject({ ok: true });
    expect(checkCheckpoint(timedNote, windowed(null, at), null)).toMatchObject({ ok: true });
    expect(checkCheckpoint(timedNote, windowed(at, null), null)).toMatchObject({ ok: true });
    expect(checkCheckpoint(timedNote, windowed(at + 1, null), null)).toMatchObject({ ok: false, reason: 'expired_key' });
    const expired = checkCheckpoint(timedNote, windowed(null, at - 1), null);
    expect(expired).toMatchObject({ ok: false, reason: 'expired_key' });
    expect(expired.ok ? '' : expired.message).toContain(TIME);
  });

  it('a note without a signed time is refused by a key with a window, and accepted by a key without one', () => {
    for (const window of [windowed(0, null), windowed(null, Date.parse('2100-01-01T00:00:00.000Z')), windowed(0, Date.parse('2100-01-01T00:00:00.000Z'))]) {
      const check = checkCheckpoint(note, window, null);
      expect(check).toMatchObject({ ok: false, reason: 'untimed' });
      expect(check.ok ? '' : check.message).toMatch(/no signed time/);
    }
    expect(checkCheckpoint(note, trusted, null)).toMatchObject({ ok: true, timeMs: null });
  });

  it('a rotated-out key does not become valid again by a later note: its time is the note\'s, not the verifier\'s or a record\'s', () => {
    const retired = Date.parse('2026-11-01T00:00:00.000Z');
    const later = signCheckpoint({ ...body, time: '2026-11-02T00:00:00.000Z' }, [signer]);
    expect(checkCheckpoint(later, windowed(null, retired), null)).toMatchObject({ ok: false, reason: 'expired_key' });
  });

  it('a double-signed checkpoint verifies with either key, and with the new key when the old one\'s window has closed', () => {
    const next = makeSigner('paylog-test');
    const both = signCheckpoint(timed, [signer, next]);
    expect(checkCheckpoint(both, trusted, null)).toMatchObject({ ok: true });
    const nextKey = parseVerifierKey(verifierKeyOf(next));
    const nextTrusted: TrustedKey[] = [{ key: nextKey, validFrom: null, validUntil: null }];
    expect(checkCheckpoint(both, nextTrusted, null)).toMatchObject({ ok: true });
    const rotation: TrustedKey[] = [...windowed(null, Date.parse(TIME) - 1), ...windowed(Date.parse(TIME) - 1000, null, nextKey)];
    expect(checkCheckpoint(both, rotation, null)).toMatchObject({ ok: true, signedBy: [`paylog-test+${nextKey.keyId.toString('hex')}`] });
  });

  const YEAR_10000_MS = 253_402_300_800_000;

  it('any time rfc3339() writes round-trips through a note, and any other extension line is refused (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_135_596_800_000, max: YEAR_10000_MS - 1 }), (ms) => {
        const time = rfc3339(ms);
        const withTime = { ...body, time };
        expect(parseCheckpointBody(formatCheckpointBody(withTime))).toEqual(withTime);
        expect(checkCheckpoint(signCheckpoint(withTime, [signer]), trusted, body.origin)).toMatchObject({ ok: true, timeMs: ms });
      }),
      { seed: 3339, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ maxLength: 30 }).map((t) => `time ${t}`),
        // Valid times with one character changed: most are not times any more.
        fc.tuple(fc.integer({ min: 0, max: YEAR_10000_MS - 1 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }))
          .map(([ms, at, c]) => { const t = `time ${rfc3339(ms)}`; const i = at % t.length; return t.slice(0, i) + c + t.slice(i + 1); }),
      ), (line) => {
        fc.pre(!line.includes('\n'));
        const text = `${formatCheckpointBody(body)}${line}\n`;
        let parsed: ReturnType<typeof parseCheckpointBody> | null = null;
        try {
          parsed = parseCheckpointBody(text);
        } catch {
          parsed = null;
        }
        if (parsed !== null) {
          // Only a time line in exactly rfc3339()'s form is accepted, and it means that instant.
          expect(line.startsWith('time ')).toBe(true);
          expect(rfc3339(Date.parse(parsed.time as string))).toBe(parsed.time);
          expect(line).toBe(`time ${parsed.time}`);
        }
      }),
      { seed: 3339, numRuns: 500 },
    );
  });
});
