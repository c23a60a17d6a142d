import { type KeyObject, createHash, createPublicKey, sign, verify } from 'node:crypto';
import { NoteError, type NoteSignature, isValidKeyName } from './signed-note.js';

/**
 * C2SP tlog-cosignature, the Ed25519 "cosignature/v1" type (signature type 0x04): a witness's
 * timestamped statement that, as of that time, the checkpoint is the largest consistent tree
 * it has seen of the log.
 *
 * - key ID = SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte public key)[:4]
 * - verifier key `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`
 * - signed message = "cosignature/v1\n" ‖ "time <POSIX seconds>\n" ‖ the checkpoint's whole note
 *   text (its extension lines included, its signature lines not)
 * - signature line `— <name> base64(key ID ‖ 8-byte big-endian timestamp ‖ 64-byte Ed25519 signature)`
 */
export const ALG_COSIGNATURE_V1 = 0x04;
const HEADER = 'cosignature/v1\n';
const KEY_ID_BYTES = 4;
const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;
const ED25519_PUBLIC_KEY_BYTES = 32;
/** What follows the key ID in a cosignature: the timestamp and the Ed25519 signature. */
export const COSIGNATURE_BYTES = TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES;
/**
 * Timestamps are u64 on the wire and at most 2^63 − 1 by the spec; paylog handles seconds as
 * plain numbers, so it signs and accepts only those up to 2^53 − 1 (the year 285 million).
 */
export const COSIGNATURE_TIMESTAMP_MAX = Number.MAX_SAFE_INTEGER;
const SIG_PREFIX = '\u2014 ';

/** A witness's signing key. */
export interface Cosigner {
  name: string;
  keyId: Buffer;
  privateKey: KeyObject;
  publicKey: Buffer;
}

/** A witness's public key, as a client trusting it holds it. */
export interface CosignerKey {
  name: string;
  keyId: Buffer;
  publicKey: Buffer;
  key: KeyObject;
}

export function cosignerKeyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256').update(name).update('\n').update(Buffer.from([ALG_COSIGNATURE_V1])).update(publicKey).digest().subarray(0, KEY_ID_BYTES);
}

export function cosignerFromPrivateKey(name: string, privateKey: KeyObject): Cosigner {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name "${name}"`);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new NoteError('cosigning keys must be Ed25519');
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(String(jwk.x), 'base64url');
  return { name, keyId: cosignerKeyId(name, publicKey), privateKey, publicKey };
}

export function formatCosignerKey(name: string, publicKey: Buffer): string {
  const material = Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), publicKey]).toString('base64');
  return `${name}+${cosignerKeyId(name, publicKey).toString('hex')}+${material}`;
}

export function cosignerKeyOf(cosigner: Cosigner): string {
  return formatCosignerKey(cosigner.name, cosigner.publicKey);
}

/** Parses a type 0x04 verifier key; refuses any other type and any mangled form. */
export function parseCosignerKey(text: string): CosignerKey {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('malformed cosigner key');
  const name = text.slice(0, first);
  const hexId = text.slice(first + 1, second);
  const b64 = text.slice(second + 1);
  const raw = Buffer.from(b64, 'base64');
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hexId) || raw.toString('base64') !== b64
    || raw.length !== 1 + ED25519_PUBLIC_KEY_BYTES || raw[0] !== ALG_COSIGNATURE_V1) {
    throw new NoteError('malformed cosigner key: expected <name>+<hex key ID>+<base64(0x04 ‖ Ed25519 public key)>');
  }
  const publicKey = raw.subarray(1);
  const keyId = cosignerKeyId(name, publicKey);
  if (keyId.toString('hex') !== hexId) throw new NoteError('cosigner key ID does not match its key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  } catch {
    throw new NoteError('malformed cosigner key');
  }
  return { name, keyId, publicKey, key };
}

function assertTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 1 || timestamp > COSIGNATURE_TIMESTAMP_MAX) {
    throw new NoteError(`cosignature timestamp must be a whole number of seconds from 1 to ${COSIGNATURE_TIMESTAMP_MAX}, got ${timestamp}`);
  }
}

/** The bytes a cosignature signs: the header line, the time line, then the note text as it is. */
export function cosignedMessage(noteText: string, timestamp: number): Buffer {
  if (!noteText.endsWith('\n')) throw new NoteError('note text must end with a newline');
  return Buffer.from(`${HEADER}time ${timestamp}\n${noteText}`, 'utf8');
}

/** Cosigns a checkpoint's note text at `timestamp` (POSIX seconds); returns the signature line, newline included. */
export function cosign(noteText: string, cosigner: Cosigner, timestamp: number): string {
  assertTimestamp(timestamp);
  const signature = sign(null, cosignedMessage(noteText, timestamp), cosigner.privateKey);
  const time = Buffer.alloc(TIMESTAMP_BYTES);
  time.writeBigUInt64BE(BigInt(timestamp));
  return `${SIG_PREFIX}${cosigner.name} ${Buffer.concat([cosigner.keyId, time, signature]).toString('base64')}\n`;
}

/** A cosignature's timestamp, or null when the signature is not shaped as one (8 + 64 bytes). */
export function cosignatureTimestamp(sig: NoteSignature): number | null {
  if (sig.signature.length !== COSIGNATURE_BYTES) return null;
  const timestamp = sig.signature.readBigUInt64BE(0);
  return timestamp > BigInt(COSIGNATURE_TIMESTAMP_MAX) ? null : Number(timestamp);
}

/**
 * Whether `sig` (a signature line of a note whose text is `noteText`) is a valid cosignature
 * by `key`: its timestamp when it is, null when not. A line from another key (name or ID
 * differs) is not this key's cosignature: null as well, for the caller to ignore.
 */
export function verifyCosignature(noteText: string, sig: NoteSignature, key: CosignerKey): { timestamp: number } | null {
  if (sig.name !== key.name || !sig.keyId.equals(key.keyId)) return null;
  const timestamp = cosignatureTimestamp(sig);
  if (timestamp === null || !noteText.endsWith('\n')) return null;
  try {
    return verify(null, cosignedMessage(noteText, timestamp), key.key, sig.signature.subarray(TIMESTAMP_BYTES)) ? { timestamp } : null;
  } catch {
    return null;
  }
}
