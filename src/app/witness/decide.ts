import { EMPTY_ROOT, verifyConsistency } from '../../core/merkle.js';
import { type VerifierKey, signatureValid } from '../../core/signed-note.js';
import type { AddCheckpointRequest } from './request.js';
import type { EvidenceKind, WitnessedCheckpoint } from './witness-store.js';

/** The logs a witness trusts: origin → its keys (a C2SP log's origin is its key's name). */
export type TrustedLogs = ReadonlyMap<string, readonly VerifierKey[]>;

export type Refusal =
  | { status: 400 | 403 | 404; reason: string }
  | { status: 409; size: number }
  | { status: 422; reason: string; evidence: EvidenceKind };

export type Authenticated = { ok: true; verifiedLines: string[] } | { ok: false; refusal: Refusal };

/**
 * tlog-witness's signature rules: an origin the witness was not configured with is a 404; a
 * note with no valid signature from a trusted key of the origin, or with a signature line that
 * names a trusted key (name and ID) but does not verify, is a 403. Lines from other keys are
 * ignored. Returns the verified log signature lines, which the witness keeps with the note.
 */
export function authenticate(request: AddCheckpointRequest, logs: TrustedLogs): Authenticated {
  const keys = logs.get(request.checkpoint.origin);
  if (keys === undefined) return { ok: false, refusal: { status: 404, reason: 'unknown log origin' } };
  const verified = new Set<string>();
  const { text, signatures, lines } = request.opened;
  for (const [i, sig] of signatures.entries()) {
    const key = keys.find((k) => k.name === sig.name && k.keyId.equals(sig.keyId));
    if (key === undefined) continue;
    if (!signatureValid(text, sig, key)) {
      return { ok: false, refusal: { status: 403, reason: `the signature of trusted key ${sig.name}+${sig.keyId.toString('hex')} does not verify` } };
    }
    verified.add(lines[i] as string);
  }
  if (verified.size === 0) return { ok: false, refusal: { status: 403, reason: 'no signature from a key trusted for this origin' } };
  return { ok: true, verifiedLines: [...verified] };
}

/**
 * The consistency decision of add-checkpoint, given the checkpoint the witness holds for the
 * origin (null: never cosigned one, which counts as size 0): null to cosign, or the refusal,
 * in the order tlog-witness lists the checks.
 */
export function judge(request: AddCheckpointRequest, held: WitnessedCheckpoint | null): Refusal | null {
  const { oldSize, proof, checkpoint } = request;
  if (oldSize > checkpoint.size) return { status: 400, reason: `old size ${oldSize} is larger than the checkpoint size ${checkpoint.size}` };
  const heldSize = held?.size ?? 0;
  if (oldSize !== heldSize) return { status: 409, size: heldSize };
  if (checkpoint.size === 0 && !checkpoint.root.equals(EMPTY_ROOT)) {
    return { status: 422, reason: 'a checkpoint of size 0 must have the empty tree root', evidence: 'empty_tree_root' };
  }
  if (oldSize === 0) {
    return proof.length === 0 ? null : { status: 422, reason: 'a consistency proof from old size 0 must be empty', evidence: 'proof_from_empty' };
  }
  const heldRoot = (held as WitnessedCheckpoint).root;
  if (checkpoint.size === oldSize && !checkpoint.root.equals(heldRoot)) {
    return { status: 422, reason: `a different root at the witnessed size ${oldSize}`, evidence: 'root_mismatch' };
  }
  if (!verifyConsistency(oldSize, checkpoint.size, proof, heldRoot, checkpoint.root)) {
    return { status: 422, reason: `the consistency proof from size ${oldSize} to ${checkpoint.size} does not verify`, evidence: 'proof_invalid' };
  }
  return null;
}
