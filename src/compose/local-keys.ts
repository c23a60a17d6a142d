import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import { createOnce } from './create-once.js';

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
    return readFingerprintKey(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // If another process created it first, everyone uses theirs.
  createOnce(path, `${randomBytes(FINGERPRINT_KEY_BYTES).toString('base64')}\n`);
  return readFingerprintKey(path);
}

/** A key file that does not hold at least 32 bytes would silently weaken every fingerprint. */
function readFingerprintKey(path: string): Buffer {
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length < FINGERPRINT_KEY_BYTES) {
    throw new ConfigError(`the fingerprint key file ${path} does not hold a base64 key of at least ${FINGERPRINT_KEY_BYTES} bytes`);
  }
  return key;
}
