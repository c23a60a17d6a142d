import { type CosignerKey, parseCosignerKey } from '../../core/cosignature.js';
import type { WitnessPolicy } from '../../core/witness-quorum.js';

/** Witness keys one verification trusts at most. */
export const WITNESS_KEYS_MAX = 64;

/**
 * `--witness-key VKEY` (repeatable; cosignature/v1 verifier keys, as `paylog witness key`
 * prints them) and `--witness-quorum N` (how many of them must have cosigned; all of them
 * when not given). Undefined when neither is given.
 */
export function witnessPolicyFrom(keys: readonly string[], quorumRaw: string | undefined): WitnessPolicy | undefined {
  if (keys.length === 0 && quorumRaw === undefined) return undefined;
  if (keys.length === 0) throw new Error('--witness-quorum: give the witnesses\' keys with --witness-key <vkey> (see `paylog witness key`)');
  if (keys.length > WITNESS_KEYS_MAX) throw new Error(`--witness-key: at most ${WITNESS_KEYS_MAX} keys`);
  const parsed: CosignerKey[] = keys.map((vkey) => {
    try {
      return parseCosignerKey(vkey);
    } catch (err) {
      throw new Error(`--witness-key: ${err instanceof Error ? err.message : 'bad key'}, got "${vkey.slice(0, 100)}"`);
    }
  });
  const distinct = new Set(parsed.map((k) => `${k.name}+${k.keyId.toString('hex')}`)).size;
  const quorum = quorumRaw === undefined ? distinct : Number(quorumRaw);
  if (!/^[0-9]+$/.test(quorumRaw ?? String(quorum)) || !Number.isSafeInteger(quorum) || quorum < 1 || quorum > distinct) {
    throw new Error(`--witness-quorum: must be a whole number from 1 to ${distinct} (the distinct witness keys given), got "${quorumRaw}"`);
  }
  return { keys: parsed, quorum };
}

/** Commander's collector for a repeatable option. */
export const collect = (value: string, all: string[]): string[] => [...all, value];
