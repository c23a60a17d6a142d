import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';

const FINGERPRINT_KEY_BYTES = 32;
const FINGERPRINT_KEY_FILE = 'fingerprint.key';

/**
 * The HMAC key of card fingerprints and idempotency fingerprints: configured, or generated
 * once into the data directory (mode 0600). Instances sharing a store must share this key.
 */
export function loadFingerprintKey(config: Config): Buffer {
  if (config.fingerprintKey !== null) return Buffer.from(config.fingerprintKey, 'base64');
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, FINGERPRINT_KEY_FILE);
  try {
    return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    // 'wx' fails if another process created the file first; then read theirs.
    writeFileSync(path, `${randomBytes(FINGERPRINT_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
}
