import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import { createOnce } from './create-once.js';
import { privateDirectory, readPrivateFile } from './private-files.js';

const FINGERPRINT_KEY_BYTES = 32;
const FINGERPRINT_KEY_FILE = 'fingerprint.key';

/**
 * The HMAC key of card fingerprints and idempotency fingerprints: configured (base64 text or a
 * file only its owner may read), or generated once into the data directory (mode 0600). Instances sharing a store must share this key.
 */
export function loadFingerprintKey(config: Config): Buffer {
  if (config.fingerprintKey !== null) return Buffer.from(config.fingerprintKey, 'base64');
  if (config.fingerprintKeyFile !== null) return readFingerprintKey(config.fingerprintKeyFile, 'PAYLOG_FINGERPRINT_KEY_FILE');
  privateDirectory(config.dataDir, 'PAYLOG_DATA_DIR');
  const path = join(config.dataDir, FINGERPRINT_KEY_FILE);
  // If another process created it first, everyone uses theirs.
  if (!existsSync(path)) createOnce(path, `${randomBytes(FINGERPRINT_KEY_BYTES).toString('base64')}\n`);
  return readFingerprintKey(path, 'PAYLOG_DATA_DIR');
}

/** A key file that does not hold at least 32 bytes would silently weaken every fingerprint. */
function readFingerprintKey(path: string, setting: string): Buffer {
  const key = Buffer.from(readPrivateFile(path, setting).trim(), 'base64');
  if (key.length < FINGERPRINT_KEY_BYTES) {
    throw new ConfigError(`the fingerprint key file ${path} does not hold a base64 key of at least ${FINGERPRINT_KEY_BYTES} bytes`);
  }
  return key;
}
