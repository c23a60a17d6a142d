import { HASH_BYTES } from './merkle.js';
import { parseRfc3339MsUtc } from './parse-time.js';
import {
  NoteError, type NoteSigner, type VerifierKey, parseNote, signNote, signatureValid,
} from './signed-note.js';

/** A C2SP tlog-checkpoint body: origin, tree size, root hash, and the time it was signed. */
export interface CheckpointBody {
  origin: string;
  size: number;
  /** Hex root hash. */
  root: string;
  /**
   * When it was signed, RFC 3339 UTC with milliseconds (as a record's `ts`), carried in the one
   * extension line `time <…>`: the only time a verifier may trust, since the signature covers it.
   */
  time?: string;
}

export const ORIGIN_BYTES_MAX = 256;
const ED25519_SIGNATURE_BYTES = 64;

export function checkpointOrigin(journal: string, stream: string): string {
  return `${journal}/${stream}`;
}

/** The extension line that carries a checkpoint's signing time. */
const TIME_PREFIX = 'time ';

export function formatCheckpointBody(body: CheckpointBody): string {
  if (body.time !== undefined && parseRfc3339MsUtc(body.time) === null) throw new NoteError(`checkpoint time must be RFC 3339 UTC with milliseconds, got "${body.time}"`);
  const time = body.time === undefined ? '' : `${TIME_PREFIX}${body.time}\n`;
  return `${body.origin}\n${body.size}\n${Buffer.from(body.root, 'hex').toString('base64')}\n${time}`;
}

/**
 * Parses origin, size and root, then at most one extension line, which must be the signing
 * time: paylog writes no other, and a verifier that skipped unknown lines would sign off on
 * text it does not understand.
 */
export function parseCheckpointBody(text: string): CheckpointBody {
  const lines = text.split('\n');
  if ((lines.length !== 4 && lines.length !== 5) || lines[lines.length - 1] !== '') {
    throw new NoteError('checkpoint must have origin, size and root lines, and at most a time line');
  }
  const [origin = '', sizeText = '', rootText = ''] = lines;
  if (origin === '' || origin.length > ORIGIN_BYTES_MAX || /\s/.test(origin)) throw new NoteError('malformed checkpoint origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new NoteError('malformed checkpoint size');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_BYTES || root.toString('base64') !== rootText) throw new NoteError('malformed checkpoint root hash');
  const body: CheckpointBody = { origin, size: Number(sizeText), root: root.toString('hex') };
  if (lines.length === 5) {
    const line = lines[3] as string;
    const time = line.slice(TIME_PREFIX.length);
    if (!line.startsWith(TIME_PREFIX) || parseRfc3339MsUtc(time) === null) throw new NoteError('malformed checkpoint extension line: only "time <RFC 3339 UTC with milliseconds>" is allowed');
    body.time = time;
  }
  return body;
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
  | { ok: true; body: CheckpointBody; signedBy: string[]; /** The signed time in ms, null when the note carries none. */ timeMs: number | null }
  | { ok: false; reason: 'malformed' | 'forged' | 'unknown_key' | 'expired_key' | 'untimed' | 'wrong_origin'; message: string };

const hasWindow = (t: TrustedKey): boolean => t.validFrom !== null || t.validUntil !== null;

/**
 * Checks a signed checkpoint note: well-formed, for the expected origin, and signed by at
 * least one trusted key that was valid when the note says it was signed. That time is the
 * note's own `time` line, which the signature covers; nothing outside the note (a record's
 * `ts`, a store's column) can move a signature into a key's window. A note without a time is
 * accepted only by keys without a window. A signature that claims a trusted key's name and
 * ID but does not verify makes the checkpoint forged, whatever else it carries.
 */
export function checkCheckpoint(note: string, trusted: readonly TrustedKey[], expectedOrigin: string | null): CheckpointCheck {
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
  const timeMs = body.time === undefined ? null : parseRfc3339MsUtc(body.time);
  const signedBy: string[] = [];
  let expired: string | null = null;
  let untimed: string | null = null;
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
    const named = `${key.name}+${key.keyId.toString('hex')}`;
    const inWindow = candidates.some((t) => !hasWindow(t)
      || (timeMs !== null && (t.validFrom === null || timeMs >= t.validFrom) && (t.validUntil === null || timeMs <= t.validUntil)));
    if (inWindow) signedBy.push(named);
    else if (timeMs === null) untimed = named;
    else expired = named;
  }
  if (signedBy.length > 0) return { ok: true, body, signedBy, timeMs };
  if (expired) return { ok: false, reason: 'expired_key', message: `signed by ${expired} at ${body.time}, outside its validity window` };
  if (untimed) return { ok: false, reason: 'untimed', message: `signed by ${untimed}, a key with a validity window, but the note carries no signed time` };
  return { ok: false, reason: 'unknown_key', message: 'not signed by any trusted key' };
}
