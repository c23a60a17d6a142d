import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type TrustedKey, checkCheckpoint, formatCheckpointBody, parseCheckpointBody, signCheckpoint,
} from '../../src/core/checkpoint.js';
import {
  parseNote, parseSignerKey, parseVerifierKey, signNote, signatureValid, signerFromPrivateKey, verifierKeyOf,
} from '../../src/core/signed-note.js';

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

  it('formats the three C2SP lines and parses them back', () => {
    expect(formatCheckpointBody(body)).toBe(`paylog-test/str_01\n42\n${Buffer.alloc(32, 0xaa).toString('base64')}\n`);
    expect(parseCheckpointBody(formatCheckpointBody(body))).toEqual(body);
    expect(checkCheckpoint(note, trusted, 'paylog-test/str_01', Date.now())).toMatchObject({ ok: true, body });
  });

  it.each([
    ['wrong origin', note, 'wrong_origin'],
    ['extra line', note.replace('\n42\n', '\n42\nextra\n'), 'malformed'],
    ['bad base64 root', note.replace(/\n42\n[^\n]+\n/, '\n42\n!!!notbase64\n'), 'malformed'],
    ['negative size', note.replace('\n42\n', '\n-42\n'), 'malformed'],
    ['leading zero size', note.replace('\n42\n', '\n042\n'), 'malformed'],
    ['truncated signature', note.replace(/ (\S+)\n$/, (_m, sig: string) => ` ${sig.slice(0, 20)}\n`), 'malformed'],
    ['no signature block', `${formatCheckpointBody(body)}`, 'malformed'],
    ['huge note', `${'x'.repeat(70_000)}\n\n\u2014 a AAAA\n`, 'malformed'],
    ['changed size', note.replace('\n42\n', '\n43\n'), 'forged'],
  ])('%s is refused', (_name, text, reason) => {
    const origin = _name === 'wrong origin' ? 'paylog-test/str_02' : 'paylog-test/str_01';
    expect(checkCheckpoint(text, trusted, origin, Date.now())).toMatchObject({ ok: false, reason });
  });

  it('an unknown key, and a key outside its validity window, are refused', () => {
    const stranger = signCheckpoint(body, [makeSigner('paylog-test')]);
    expect(checkCheckpoint(stranger, trusted, null, Date.now())).toMatchObject({ ok: false, reason: 'unknown_key' });
    const windowed: TrustedKey[] = [{ ...trusted[0]!, validFrom: 1000, validUntil: 2000 }];
    expect(checkCheckpoint(note, windowed, null, 1500)).toMatchObject({ ok: true });
    expect(checkCheckpoint(note, windowed, null, 2500)).toMatchObject({ ok: false, reason: 'expired_key' });
  });

  it('a double-signed checkpoint verifies with either key', () => {
    const next = makeSigner('paylog-test');
    const both = signCheckpoint(body, [signer, next]);
    expect(checkCheckpoint(both, trusted, null, 0)).toMatchObject({ ok: true });
    const nextTrusted: TrustedKey[] = [{ key: parseVerifierKey(verifierKeyOf(next)), validFrom: null, validUntil: null }];
    expect(checkCheckpoint(both, nextTrusted, null, 0)).toMatchObject({ ok: true });
  });
});
