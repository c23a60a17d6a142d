import { HASH_BYTES } from '../../core/merkle.js';
import { NoteError } from '../../core/signed-note.js';
import { type OpenedNote, type TlogCheckpoint, hasControlCharacters, openNote, parseTlogCheckpoint } from '../../core/tlog-checkpoint.js';

/** tlog-witness: a client sends at most 63 consistency proof lines (a tree of up to 2^63 leaves needs no more). */
export const PROOF_LINES_MAX = 63;
/** The largest add-checkpoint body read: a note with many signatures, 63 proof lines and some room. */
export const ADD_CHECKPOINT_BYTES_MAX = 64 * 1024;

/** A parsed add-checkpoint request: `old <size>`, the proof, and the checkpoint note. */
export interface AddCheckpointRequest {
  oldSize: number;
  proof: Buffer[];
  /** The checkpoint note as received, its signatures included. */
  note: string;
  opened: OpenedNote;
  checkpoint: TlogCheckpoint;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses an add-checkpoint body exactly as tlog-witness lays it out: an old size line
 * (`old N`, no leading zeroes), zero to 63 base64 hash lines, an empty line, then a signed
 * checkpoint note; every line ends with a newline. Anything else is a reason for a 400.
 */
export function parseAddCheckpointRequest(body: Buffer): Parsed<AddCheckpointRequest> {
  if (body.length > ADD_CHECKPOINT_BYTES_MAX) return refuse(`body is larger than ${ADD_CHECKPOINT_BYTES_MAX} bytes`);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return refuse('body is not UTF-8');
  }
  if (hasControlCharacters(text)) return refuse('body holds a control character other than newline');
  const blank = text.indexOf('\n\n');
  if (blank < 0) return refuse('expected an old size line, proof lines, an empty line and a checkpoint');
  const [oldLine = '', ...proofLines] = text.slice(0, blank).split('\n');
  const old = /^old (0|[1-9][0-9]*)$/.exec(oldLine);
  const oldSize = old ? Number(old[1]) : Number.NaN;
  if (!Number.isSafeInteger(oldSize)) return refuse('the first line must be "old <size>", the size in decimal without leading zeroes');
  if (proofLines.length > PROOF_LINES_MAX) return refuse(`more than ${PROOF_LINES_MAX} consistency proof lines`);
  const proof: Buffer[] = [];
  for (const line of proofLines) {
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== HASH_BYTES || hash.toString('base64') !== line) return refuse('a consistency proof line is not a base64 SHA-256 hash');
    proof.push(hash);
  }
  const note = text.slice(blank + 2);
  try {
    const opened = openNote(note);
    return { ok: true, value: { oldSize, proof, note, opened, checkpoint: parseTlogCheckpoint(opened.text) } };
  } catch (err) {
    if (err instanceof NoteError) return refuse(`malformed checkpoint: ${err.message}`);
    throw err;
  }
}

function refuse(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
