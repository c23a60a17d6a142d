import { type KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';

/**
 * C2SP signed-note with Ed25519 (algorithm byte 0x01): verifier keys
 * `<name>+<hex key id>+<base64(0x01 ‖ public key)>`, key ID = first 4 bytes of
 * SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), signature lines `— <name> <base64(key id ‖ sig)>`.
 */
export const ALG_ED25519 = 0x01;
/** Bounds against hostile input: a note and the signatures it may carry. */
export const NOTE_BYTES_MAX = 64 * 1024;
export const NOTE_SIGNATURES_MAX = 100;
const SIG_PREFIX = '\u2014 ';
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class NoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoteError';
  }
}

export interface VerifierKey {
  name: string;
  keyId: Buffer;
  publicKey: Buffer;
  key: KeyObject;
}

export interface NoteSigner {
  name: string;
  keyId: Buffer;
  privateKey: KeyObject;
  publicKey: Buffer;
}

export interface NoteSignature {
  name: string;
  keyId: Buffer;
  signature: Buffer;
}

export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[+\s]/u.test(name) && /^[\x21-\x7e]+$/.test(name);
}

export function keyIdOf(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256').update(name).update('\n').update(Buffer.from([ALG_ED25519])).update(publicKey).digest().subarray(0, 4);
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new NoteError('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** A signer from an Ed25519 private key (e.g. read from a PKCS#8 PEM file). */
export function signerFromPrivateKey(name: string, privateKey: KeyObject): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name "${name}"`);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new NoteError('signing keys must be Ed25519');
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { name, keyId: keyIdOf(name, publicKey), privateKey, publicKey };
}

/** Parses the Go-style `PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>` form (used by test vectors). */
export function parseSignerKey(text: string): NoteSigner {
  const parts = splitKey(text, 5);
  if (!parts || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new NoteError('malformed signer key');
  const [, , name = '', hexId = '', b64 = ''] = parts;
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError('malformed signer key');
  const signer = signerFromPrivateKey(name, createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(1)]), format: 'der', type: 'pkcs8' }));
  if (signer.keyId.toString('hex') !== hexId) throw new NoteError('signer key ID does not match its key');
  return signer;
}

export function formatVerifierKey(name: string, publicKey: Buffer): string {
  return `${name}+${keyIdOf(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`;
}

export function verifierKeyOf(signer: NoteSigner): string {
  return formatVerifierKey(signer.name, signer.publicKey);
}

/** Parses and checks a verifier key; rejects any mangled form. */
export function parseVerifierKey(text: string): VerifierKey {
  const parts = splitKey(text, 3);
  if (!parts) throw new NoteError('malformed verifier key');
  const [name = '', hexId = '', b64 = ''] = parts;
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hexId)) throw new NoteError('malformed verifier key');
  const raw = Buffer.from(b64, 'base64');
  if (raw.toString('base64') !== b64 || raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError('malformed verifier key');
  const publicKey = raw.subarray(1);
  const keyId = keyIdOf(name, publicKey);
  if (keyId.toString('hex') !== hexId) throw new NoteError('verifier key ID does not match its key');
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    throw new NoteError('malformed verifier key');
  }
  return { name, keyId, publicKey, key };
}

/** Splits on the first count−1 "+" only: the base64 key material may itself contain "+". */
function splitKey(text: string, count: number): string[] | null {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < count - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return null;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

/** Signs a note's text (which must end in a newline) with every signer. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  const lines = signers.map((s) => {
    const signature = sign(null, Buffer.from(text, 'utf8'), s.privateKey);
    return `${SIG_PREFIX}${s.name} ${Buffer.concat([s.keyId, signature]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/** Splits a signed note into its text and signature lines; throws NoteError on any malformation. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  if (Buffer.byteLength(note, 'utf8') > NOTE_BYTES_MAX) throw new NoteError('note is too large');
  if (!note.endsWith('\n')) throw new NoteError('note does not end with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note has no signature block');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  const lines = block.slice(0, -1).split('\n');
  if (lines.length === 0 || block === '') throw new NoteError('note has no signatures');
  if (lines.length > NOTE_SIGNATURES_MAX) throw new NoteError('note has too many signatures');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed signature line');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.lastIndexOf(' ');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    const raw = Buffer.from(b64, 'base64');
    if (space <= 0 || !isValidKeyName(name) || raw.toString('base64') !== b64 || raw.length < 5) {
      throw new NoteError('malformed signature line');
    }
    return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/** Whether a signature on `text` was made by `key`. */
export function signatureValid(text: string, sig: NoteSignature, key: VerifierKey): boolean {
  if (sig.name !== key.name || !sig.keyId.equals(key.keyId) || sig.signature.length !== 64) return false;
  try {
    return verify(null, Buffer.from(text, 'utf8'), key.key, sig.signature);
  } catch {
    return false;
  }
}
