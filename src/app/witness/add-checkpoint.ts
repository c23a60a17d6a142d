import { type Cosigner, cosign } from '../../core/cosignature.js';
import { sha256Hex } from '../../core/sha256.js';
import type { Clock } from '../../ports/clock.js';
import { type Refusal, type TrustedLogs, authenticate, judge } from './decide.js';
import { parseAddCheckpointRequest } from './request.js';
import type { Evidence, WitnessStore, WitnessUpdate, WitnessedCheckpoint } from './witness-store.js';

export interface Witness {
  store: WitnessStore;
  cosigner: Cosigner;
  logs: TrustedLogs;
  clock: Clock;
}

export type AddCheckpointOutcome =
  | { status: 200; cosignature: string; origin: string; size: number }
  | (Refusal & { origin?: string });

/**
 * tlog-witness add-checkpoint. Parsing and the signature checks need no state; the check of
 * the old size against the held checkpoint, the consistency checks, the cosignature and the
 * write of the new checkpoint all happen in one store transaction, so what was checked is what
 * is replaced. A validly signed checkpoint refused as inconsistent (422) is kept as evidence.
 */
export function addCheckpoint(witness: Witness, body: Buffer): AddCheckpointOutcome {
  const parsed = parseAddCheckpointRequest(body);
  if (!parsed.ok) return { status: 400, reason: parsed.reason };
  const request = parsed.value;
  const { origin } = request.checkpoint;
  const auth = authenticate(request, witness.logs);
  // An origin it does not know is anyone's string: not echoed into the logs.
  if (!auth.ok) return auth.refusal.status === 404 ? auth.refusal : { ...auth.refusal, origin };
  const note = `${request.opened.text}\n${auth.verifiedLines.map((l) => `${l}\n`).join('')}`;
  return witness.store.update(origin, (held): WitnessUpdate<AddCheckpointOutcome> => {
    const refusal = judge(request, held);
    if (refusal?.status === 422) {
      const evidence: Evidence = {
        origin, kind: refusal.evidence, receivedAtMs: witness.clock.now(), request: body.toString('utf8'), held: held === null ? null : `${held.note}${held.cosignature}`,
      };
      return { evidence, result: { ...refusal, origin } };
    }
    if (refusal !== null) return { result: { ...refusal, origin } };
    // A cosignature says the tree was the largest seen *as of* its time: never date one
    // before the one it supersedes, even if the clock stepped back.
    const cosignedAt = Math.max(Math.floor(witness.clock.now() / 1000), held?.cosignedAt ?? 1);
    const cosignature = cosign(request.opened.text, witness.cosigner, cosignedAt);
    const save: WitnessedCheckpoint = { origin, size: request.checkpoint.size, root: request.checkpoint.root, note, cosignature, cosignedAt };
    return { save, result: { status: 200, cosignature, origin, size: save.size } };
  });
}

/** The origin hash of tlog-witness's monitoring URL: lowercase hex SHA-256 of the origin. */
export function originHash(origin: string): string {
  return sha256Hex(origin);
}

/**
 * The latest cosigned checkpoint of the log whose origin hashes to `hash` (64 lowercase hex
 * digits): the note with the log signatures the witness verified and its own cosignature.
 */
export function latestCheckpoint(witness: Witness, hash: string): string | null {
  if (!/^[0-9a-f]{64}$/.test(hash)) return null;
  const held = witness.store.latestByOriginHash(Buffer.from(hash, 'hex'));
  return held === null ? null : `${held.note}${held.cosignature}`;
}
