import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ALG_COSIGNATURE_V1, cosign, cosignatureTimestamp, cosignedMessage, cosignerFromPrivateKey, cosignerKeyOf, formatCosignerKey,
  parseCosignerKey, verifyCosignature,
} from '../../src/core/cosignature.js';
import { parseNote, parseVerifierKey, signNote, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';

/**
 * The vector is built here step by step from the text of c2sp.org/tlog-cosignature with
 * node:crypto primitives alone, never through the module under test; its results are also
 * pinned as literals, so that neither side can drift with the other.
 */
// RFC 8032 §7.1 TEST 1: its secret key, and the public key it must give.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const RFC8032_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const NAME = 'witness.example/w1';
// The checkpoint and the timestamp of the spec's own example.
const TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const TIMESTAMP = 1679315147;
// The spec's "Ed25519 signed message" example, line by line.
const SPEC_MESSAGE = [
  'cosignature/v1',
  'time 1679315147',
  'example.com/behind-the-sofa',
  '20852163',
  'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
  '',
].join('\n');
// Pinned results of the recipe below.
const KEY_ID_HEX = 'eb762cc2';
const VKEY = 'witness.example/w1+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea';
const LINE = '\u2014 witness.example/w1 63YswgAAAABkGFDL+TPmh4BYuAjsYRoqMJCWb/gWJaeRF/kmm5tlCr9sJ57DLErur7K0yDXc2ArN+TIuotuB/HbuL3AJsp3bv/aNCQ==\n';

const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, SEED]), format: 'der', type: 'pkcs8' });

/** The recipe, from the spec's words. */
function byHand() {
  const publicKey = Buffer.from(String(createPublicKey(privateKey).export({ format: 'jwk' }).x), 'base64url');
  // "SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]"
  const keyId = createHash('sha256').update(Buffer.concat([Buffer.from(NAME, 'utf8'), Buffer.from([0x0a]), Buffer.from([0x04]), publicKey])).digest().subarray(0, 4);
  // "two newline terminated lines (one header line and one timestamp line) followed by the whole note body"
  const message = Buffer.from(`cosignature/v1\ntime ${TIMESTAMP}\n${TEXT}`, 'utf8');
  const signature = sign(null, message, privateKey);
  // "u64 timestamp ... encoded in big-endian order", by hand.
  const timestamp = Buffer.alloc(8);
  let rest = TIMESTAMP;
  for (let i = 7; i >= 0; i--) {
    timestamp[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  // "— <key name> base64(32-bit key ID || signature)", the signature being timestamp ‖ Ed25519 signature.
  const line = `\u2014 ${NAME} ${Buffer.concat([keyId, timestamp, signature]).toString('base64')}\n`;
  const vkey = `${NAME}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([0x04]), publicKey]).toString('base64')}`;
  return { publicKey, keyId, message, signature, timestamp, line, vkey };
}

describe('cosignature/v1, against a vector computed by hand from the spec', () => {
  const hand = byHand();
  const cosigner = cosignerFromPrivateKey(NAME, privateKey);

  it('the hand recipe gives RFC 8032 public key and the pinned key ID, message, timestamp bytes and line', () => {
    expect(hand.publicKey.toString('hex')).toBe(RFC8032_PUBLIC);
    expect(hand.keyId.toString('hex')).toBe(KEY_ID_HEX);
    expect(hand.message.toString('utf8')).toBe(SPEC_MESSAGE);
    expect(hand.timestamp.toString('hex')).toBe('00000000641850cb');
    expect(hand.line).toBe(LINE);
    expect(hand.vkey).toBe(VKEY);
    expect(verify(null, hand.message, createPublicKey(privateKey), hand.signature)).toBe(true);
  });

  it('the module derives the same key ID and verifier key', () => {
    expect(ALG_COSIGNATURE_V1).toBe(0x04);
    expect(cosigner.keyId.toString('hex')).toBe(KEY_ID_HEX);
    expect(cosignerKeyOf(cosigner)).toBe(VKEY);
    expect(formatCosignerKey(NAME, hand.publicKey)).toBe(VKEY);
  });

  it('the module builds the spec example message byte for byte', () => {
    expect(cosignedMessage(TEXT, TIMESTAMP).toString('utf8')).toBe(SPEC_MESSAGE);
  });

  it('the module signs byte for byte like the hand recipe (Ed25519 is deterministic)', () => {
    expect(cosign(TEXT, cosigner, TIMESTAMP)).toBe(LINE);
  });

  it('the module verifies the hand-made line, and reads its timestamp', () => {
    const note = openNote(`${TEXT}\n${LINE}`);
    const key = parseCosignerKey(VKEY);
    expect(key.keyId.toString('hex')).toBe(KEY_ID_HEX);
    expect(verifyCosignature(note.text, note.signatures[0]!, key)).toEqual({ timestamp: TIMESTAMP });
  });

  it('frames the spec example cosignature as key ID ‖ 8-byte timestamp ‖ 64 bytes, the timestamp its message example shows', () => {
    // c2sp.org/tlog-cosignature's example checkpoint; it publishes no key for it, so the framing is what can be checked.
    const example = [
      'example.com/behind-the-sofa', '20852163', 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', '',
      '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=',
      '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==', '',
    ].join('\n');
    const { text, signatures } = openNote(example);
    expect(text).toBe(TEXT);
    const witness = signatures[1]!;
    expect(witness.name).toBe('witness.example.com/w1');
    expect(witness.keyId.toString('hex')).toBe('8d66cf3f');
    expect(witness.signature.length).toBe(8 + 64);
    expect(cosignatureTimestamp(witness)).toBe(TIMESTAMP);
    // The log's own signature is a plain Ed25519 one: 64 bytes, not shaped as a cosignature.
    expect(cosignatureTimestamp(signatures[0]!)).toBeNull();
  });
});

describe('cosignature/v1 round trips and refusals', () => {
  const cosigner = cosignerFromPrivateKey('witness.test/a', generateKeyPairSync('ed25519').privateKey);
  const key = parseCosignerKey(cosignerKeyOf(cosigner));
  const text = 'log.test/one\n42\n' + Buffer.alloc(32, 7).toString('base64') + '\ntime 2026-11-30T17:12:00.123Z\nother-extension x\n';
  const line = cosign(text, cosigner, 1_764_000_000);
  const sigOf = (l: string) => openNote(`${text}\n${l}`).signatures[0]!;

  it('verifies its own cosignature, extension lines included in what it signs', () => {
    expect(verifyCosignature(text, sigOf(line), key)).toEqual({ timestamp: 1_764_000_000 });
    const withoutExtensions = 'log.test/one\n42\n' + Buffer.alloc(32, 7).toString('base64') + '\n';
    expect(verifyCosignature(withoutExtensions, sigOf(line), key)).toBeNull();
  });

  it('refuses an altered checkpoint: size, root, origin or an extension line', () => {
    for (const altered of [text.replace('\n42\n', '\n43\n'), text.replace('log.test/one', 'log.test/two'), text.replace('other-extension x', 'other-extension y'),
      text.replace(Buffer.alloc(32, 7).toString('base64'), Buffer.alloc(32, 8).toString('base64'))]) {
      expect(verifyCosignature(altered, sigOf(line), key), altered).toBeNull();
    }
  });

  it('refuses a moved timestamp, a flipped signature bit and a truncated signature', () => {
    const raw = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    const withRaw = (bytes: Buffer) => `\u2014 witness.test/a ${bytes.toString('base64')}\n`;
    const moved = Buffer.from(raw);
    moved.writeBigUInt64BE(1_764_000_001n, 4);
    expect(verifyCosignature(text, sigOf(withRaw(moved)), key)).toBeNull();
    for (const at of [12, 40, raw.length - 1]) {
      const flipped = Buffer.from(raw);
      flipped[at]! ^= 0x01;
      expect(verifyCosignature(text, sigOf(withRaw(flipped)), key), `byte ${at}`).toBeNull();
    }
    expect(verifyCosignature(text, sigOf(withRaw(raw.subarray(0, raw.length - 1))), key)).toBeNull();
    const huge = Buffer.from(raw);
    huge.writeBigUInt64BE(2n ** 63n - 1n, 4);
    expect(verifyCosignature(text, sigOf(withRaw(huge)), key)).toBeNull();
  });

  it('ignores (null) a cosignature by another key, of the same name or not', () => {
    const other = cosignerFromPrivateKey('witness.test/a', generateKeyPairSync('ed25519').privateKey);
    expect(verifyCosignature(text, sigOf(cosign(text, other, 1_764_000_000)), key)).toBeNull();
    const renamed = cosignerFromPrivateKey('witness.test/b', cosigner.privateKey);
    expect(renamed.keyId.equals(cosigner.keyId)).toBe(false);
    expect(verifyCosignature(text, sigOf(cosign(text, renamed, 1_764_000_000)), key)).toBeNull();
  });

  it('a 0x01 note signature by the same key is neither a cosignature nor takes its key ID', () => {
    const noteSigner = signerFromPrivateKey('witness.test/a', cosigner.privateKey);
    expect(noteSigner.keyId.equals(cosigner.keyId)).toBe(false);
    const plain = parseNote(signNote(text, [noteSigner])).signatures[0]!;
    expect(verifyCosignature(text, { ...plain, keyId: cosigner.keyId }, key)).toBeNull();
    expect(() => parseCosignerKey(verifierKeyOf(noteSigner))).toThrow();
    expect(() => parseVerifierKey(cosignerKeyOf(cosigner))).toThrow();
  });

  it('refuses to sign without a timestamp of whole seconds from 1, or over text not ending in a newline', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) expect(() => cosign(text, cosigner, bad), String(bad)).toThrow();
    expect(() => cosign(text.slice(0, -1), cosigner, 1)).toThrow();
  });

  it('refuses every mangling of a cosigner verifier key', () => {
    for (let i = 0; i < VKEY.length; i++) {
      const mangled = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      expect(() => parseCosignerKey(mangled), mangled).toThrow();
    }
    for (let cut = 1; cut < VKEY.length; cut++) expect(() => parseCosignerKey(VKEY.slice(0, cut))).toThrow();
  });
});
