import { type CosignerKey, verifyCosignature } from './cosignature.js';
import { NoteError, isValidKeyName } from './signed-note.js';
import { openNote } from './tlog-checkpoint.js';

/**
 * A quorum of witnesses (C2SP tlog-cosignature): a checkpoint is accepted only with valid
 * cosignatures from at least `quorum` of the witness keys the verifier trusts. Signature lines
 * from other keys — the log's own, unknown witnesses — are ignored, as the specification
 * says; a line that names a trusted witness key (name and key ID) and does not verify is a
 * forgery, reported, and does not count.
 */
export interface WitnessPolicy {
  keys: readonly CosignerKey[];
  quorum: number;
}

export interface QuorumResult {
  /** Trusted witnesses with a valid cosignature on the note, each counted once. */
  valid: string[];
  /** Cosignature lines that name a trusted witness key and do not verify. */
  forged: string[];
  /** The note is malformed: nothing could be counted. */
  malformed: string | null;
  met: boolean;
}

const keyName = (key: CosignerKey): string => `${key.name}+${key.keyId.toString('hex')}`;

/** Counts the valid cosignatures of `policy`'s keys on a signed note (its cosignature lines included). */
export function checkQuorum(note: string, policy: WitnessPolicy): QuorumResult {
  let opened;
  try {
    opened = openNote(note);
  } catch (err) {
    return { valid: [], forged: [], malformed: err instanceof NoteError ? err.message : 'malformed note', met: policy.quorum <= 0 };
  }
  const valid = new Set<string>();
  const forged = new Set<string>();
  for (const key of policy.keys) {
    const claims = opened.signatures.filter((sig) => sig.name === key.name && sig.keyId.equals(key.keyId));
    for (const sig of claims) {
      if (verifyCosignature(opened.text, sig, key)) valid.add(keyName(key));
      else forged.add(keyName(key));
    }
  }
  return { valid: [...valid], forged: [...forged], malformed: null, met: valid.size >= policy.quorum };
}

/**
 * The note with only the signature lines paylog's own key names could be (signed-note allows
 * witnesses names paylog's keys never have, e.g. non-ASCII): checkCheckpoint judges the log's
 * signature on it, and an unknown cosigner's line must be ignored, not make the note malformed.
 * A note that does not open is returned as it is, for checkCheckpoint to refuse.
 */
export function logSignaturesOf(note: string): string {
  try {
    const { text, signatures, lines } = openNote(note);
    const kept = lines.filter((_, i) => isValidKeyName((signatures[i] as { name: string }).name));
    return kept.length === lines.length || kept.length === 0 ? note : `${text}\n${kept.join('\n')}\n`;
  } catch {
    return note;
  }
}
