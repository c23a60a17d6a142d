import { HASH_BYTES } from './merkle.js';
import { NOTE_BYTES_MAX, NOTE_SIGNATURES_MAX, NoteError, type NoteSignature } from './signed-note.js';

/**
 * Any log's checkpoint, read as a witness reads it (C2SP tlog-checkpoint, signed-note): the
 * origin, size and root it judges, and whatever extension lines the log adds, kept as they
 * are — they are signed and cosigned with the rest, but a witness makes no statement about
 * them. Unlike paylog's own checkpoints (checkpoint.ts), any extension line is accepted, and
 * key names follow signed-note's rule (no Unicode space, no "+"), not paylog's ASCII-only one,
 * so that signatures from keys the witness does not know are ignored rather than refused.
 */
export interface TlogCheckpoint {
  origin: string;
  size: number;
  root: Buffer;
  extensions: string[];
}

export interface OpenedNote {
  /** The note text: everything before the blank line, its final newline included. */
  text: string;
  signatures: NoteSignature[];
  /** The signature lines exactly as they stand, without their newlines, in the order of `signatures`. */
  lines: string[];
}

const SIG_PREFIX = '\u2014 ';

/** signed-note's key name rule: non-empty, no Unicode space, no "+". */
export function isNoteKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name);
}

/** signed-note's content rule: no ASCII control character but the newline. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) return true;
  }
  return false;
}

/** Splits a signed note into its text and signature lines; throws NoteError when it is malformed. */
export function openNote(note: string): OpenedNote {
  if (Buffer.byteLength(note, 'utf8') > NOTE_BYTES_MAX) throw new NoteError('note is too large');
  if (hasControlCharacters(note)) throw new NoteError('note holds a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note has no blank line before its signatures');
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw new NoteError('note has no signatures, or its last line does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_SIGNATURES_MAX) throw new NoteError(`note has more than ${NOTE_SIGNATURES_MAX} signatures`);
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed signature line');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    const raw = Buffer.from(b64, 'base64');
    if (space <= 0 || !isNoteKeyName(name) || raw.toString('base64') !== b64 || raw.length < 5) throw new NoteError('malformed signature line');
    return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
  });
  return { text: note.slice(0, split + 1), signatures, lines };
}

/** Parses a checkpoint's note text: origin, size, root, then any non-empty extension lines. */
export function parseTlogCheckpoint(text: string): TlogCheckpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new NoteError('a checkpoint has an origin, a size and a root line, each ending with a newline');
  const [origin = '', sizeText = '', rootText = '', ...rest] = lines;
  const extensions = rest.slice(0, -1);
  if (origin === '') throw new NoteError('empty checkpoint origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new NoteError('malformed checkpoint size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new NoteError('checkpoint size beyond 2^53 − 1 is not supported');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_BYTES || root.toString('base64') !== rootText) throw new NoteError('malformed checkpoint root hash');
  if (extensions.some((line) => line === '')) throw new NoteError('empty checkpoint extension line');
  return { origin, size, root, extensions };
}
