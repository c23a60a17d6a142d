import { HASH_BYTES } from './merkle.js';
import {
  NoteError, type NoteSigner, type VerifierKey, parseNote, signNote, signatureValid,
} from './signed-note.js';

/** A C2SP tlog-checkpoint body: origin, tree size, root hash. */
export interface CheckpointBody {
  origin: string;
  size: number;
  /** Hex root hash. */
  root: string;
}

export const ORIGIN_BYTES_MAX = 256;
const ED25519_SIGNATURE_BYTES = 64;

export function checkpointOrigin(journal: string, stream: string): string {
  return `${journal}/${stream}`;
}

export function formatCheckpointBody(body: CheckpointBody): string {
  return `${body.origin}\n${body.size}\n${Buffer.from(body.root, 'hex').toString('base64')}\n`;
}

/** Parses exactly three lines; paylog writes no extension lines and accepts none. */
export function parseCheckpointBody(text: string): CheckpointBody {
  const lines = text.split('\n');
  if (lines.length !== 4 || lines[3] !== '') throw new NoteError('checkpoint must have exactly origin, size and root lines');
  const [origin = '', sizeText = '', rootText = ''] = lines;
  if (origin === '' || origin.length > ORIGIN_BYTES_MAX || /\s/.test(origin)) throw new NoteError('malformed checkpoint origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new NoteError('malformed checkpoint size');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_BYTES || root.toString('base64') !== rootText) throw new NoteError('malformed checkpoint root hash');
  return { origin, size: Number(sizeText), root: root.toString('hex') };
}

export function signCheckpoint(body: CheckpointBody, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpointBody(body), signers);
}

/** A verifier key trusted for checkpoints made within a time window. */
export interface TrustedKey {
  key: VerifierKey;
  /** ms since epoch; null means unbounded. */
  validFrom: number | null;
  validUntil: number | null;
}

export type CheckpointCheck =
  | { ok: true; body: CheckpointBody; signedBy: string[] }
  | { ok: false; reason: 'malformed' | 'forged' | 'unknown_key' | 'expired_key' | 'wrong_origin'; message: string };

/**
 * Checks a signed checkpoint note: well-formed, for the expected origin, and signed by at
 * least one trusted key that was valid at `atMs`. A signature that claims a trusted key's
 * name and ID but does not verify makes the checkpoint forged, whatever else it carries.
 */
export function checkCheckpoint(note: string, trusted: readonly TrustedKey[], expectedOrigin: string | null, atMs: number): CheckpointCheck {
  let text: string;
  let body: CheckpointBody;
  let signatures;
  try {
    ({ text, signatures } = parseNote(note));
    body = parseCheckpointBody(text);
  } catch (err) {
    return { ok: false, reason: 'malformed', message: err instanceof Error ? err.message : 'malformed checkpoint' };
  }
  if (expectedOrigin !== null && body.origin !== expectedOrigin) {
    return { ok: false, reason: 'wrong_origin', message: `checkpoint is for "${body.origin}", not "${expectedOrigin}"` };
  }
  const signedBy: string[] = [];
  let expired: string | null = null;
  for (const sig of signatures) {
    const candidates = trusted.filter((t) => t.key.name === sig.name && t.key.keyId.equals(sig.keyId));
    if (candidates.length === 0) continue;
    const key = candidates[0]?.key as VerifierKey;
    if (sig.signature.length !== ED25519_SIGNATURE_BYTES) {
      return { ok: false, reason: 'malformed', message: `signature by ${sig.name} is ${sig.signature.length} bytes, not ${ED25519_SIGNATURE_BYTES}` };
    }
    if (!signatureValid(text, sig, key)) {
      return { ok: false, reason: 'forged', message: `signature by ${sig.name}+${sig.keyId.toString('hex')} does not verify` };
    }
    const inWindow = candidates.some((t) => (t.validFrom === null || atMs >= t.validFrom) && (t.validUntil === null || atMs <= t.validUntil));
    if (inWindow) signedBy.push(`${key.name}+${key.keyId.toString('hex')}`);
    else expired = `${key.name}+${key.keyId.toString('hex')}`;
  }
  if (signedBy.length > 0) return { ok: true, body, signedBy };
  if (expired) return { ok: false, reason: 'expired_key', message: `signed by ${expired} outside its validity window` };
  return { ok: false, reason: 'unknown_key', message: 'not signed by any trusted key' };
}
