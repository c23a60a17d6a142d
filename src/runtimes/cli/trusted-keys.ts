import { existsSync, readFileSync } from 'node:fs';
import type { TrustedKey } from '../../core/checkpoint.js';
import { createPrivateKey } from 'node:crypto';
import { parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../core/signed-note.js';
import { localKeyPath } from '../../compose/signing-keys.js';
import type { Config } from '../../config/config.js';

/**
 * Verifier keys given by the operator: `--key VKEY` (repeatable) and `--keys FILE`, whose
 * lines are `<verifier key> [from=<RFC 3339>] [until=<RFC 3339>]` (# starts a comment).
 * Never read from the store being verified.
 */
export function trustedKeysFrom(keys: string[], keysFile: string | undefined): TrustedKey[] {
  const trusted = keys.map((k) => trusted1(k, null, null, '--key'));
  if (keysFile !== undefined) {
    const lines = readFileSync(keysFile, 'utf8').split('\n');
    lines.forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const [vkey = '', ...windows] = line.split(/\s+/);
      let from: number | null = null;
      let until: number | null = null;
      for (const w of windows) {
        const match = /^(from|until)=(.+)$/.exec(w);
        const ms = match ? Date.parse(match[2] as string) : Number.NaN;
        if (!match || Number.isNaN(ms)) throw new Error(`${keysFile}:${i + 1}: expected from=<time> or until=<time>, got "${w}"`);
        if (match[1] === 'from') from = ms;
        else until = ms;
      }
      trusted.push(trusted1(vkey, from, until, `${keysFile}:${i + 1}`));
    });
  }
  return trusted;
}

function trusted1(vkey: string, validFrom: number | null, validUntil: number | null, where: string): TrustedKey {
  try {
    return { key: parseVerifierKey(vkey), validFrom, validUntil };
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : 'bad verifier key'}`);
  }
}

/**
 * On the machine that writes the journal, with no key given, the local signing key's
 * public half stands in (convenient, and said so on stderr). Null when there is none.
 */
export function localTrustedKeys(config: Config): { keys: TrustedKey[]; source: string } | null {
  const path = config.signingKeyFile ?? localKeyPath(config.dataDir);
  if (config.signingKey === null && !existsSync(path)) return null;
  const pem = config.signingKey ?? readFileSync(path, 'utf8');
  const vkey = verifierKeyOf(signerFromPrivateKey(config.journalName, createPrivateKey({ key: pem, format: 'pem' })));
  return { keys: [{ key: parseVerifierKey(vkey), validFrom: null, validUntil: null }], source: config.signingKey !== null ? 'PAYLOG_SIGNING_KEY' : path };
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses 90s, 15m, 2h, 1d or plain milliseconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) throw new Error(`--max-checkpoint-age: expected a duration such as 15m, got "${raw}"`);
  return Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 'ms') as keyof typeof DURATION_UNITS_MS];
}
