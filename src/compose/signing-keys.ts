import { type KeyObject, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createOnce } from './create-once.js';
import { privateDirectory, readPrivateFile } from './private-files.js';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/settings.js';
import { type NoteSigner, signerFromPrivateKey } from '../core/signed-note.js';

export const SIGNING_KEY_FILE = 'signing-key.pem';

export interface SigningKeys {
  current: NoteSigner;
  /** The key being rotated out, while the overlap lasts. */
  previous: NoteSigner | null;
}

/**
 * The checkpoint signing keys: configured (PEM text or file) in production, or generated
 * once into the data directory (mode 0600) on a local first run. The key is named after
 * the journal; it never goes into a record or a log.
 */
export function loadSigningKeys(config: Config): SigningKeys {
  const current = config.signingKey !== null
    ? parse(config.signingKey, 'PAYLOG_SIGNING_KEY')
    : config.signingKeyFile !== null
      ? parse(readKeyFile(config.signingKeyFile, 'PAYLOG_SIGNING_KEY_FILE'), 'PAYLOG_SIGNING_KEY_FILE')
      : localKey(config.dataDir);
  const previousPem = config.previousSigningKey ?? (config.previousSigningKeyFile !== null ? readKeyFile(config.previousSigningKeyFile, 'PAYLOG_PREVIOUS_SIGNING_KEY_FILE') : null);
  const previous = previousPem === null ? null : parse(previousPem, config.previousSigningKey !== null ? 'PAYLOG_PREVIOUS_SIGNING_KEY' : 'PAYLOG_PREVIOUS_SIGNING_KEY_FILE');
  return {
    current: signerFromPrivateKey(config.journalName, current),
    previous: previous === null ? null : signerFromPrivateKey(config.journalName, previous),
  };
}

/** The local key's path, for `paylog keys public` and verification on the same machine. */
export function localKeyPath(dataDir: string): string {
  return join(dataDir, SIGNING_KEY_FILE);
}

function localKey(dataDir: string): KeyObject {
  privateDirectory(dataDir, 'PAYLOG_DATA_DIR');
  const path = localKeyPath(dataDir);
  if (!existsSync(path)) {
    // If another process created the key first, everyone uses that one.
    createOnce(path, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  }
  return parse(readPrivateFile(path, 'PAYLOG_DATA_DIR'), path);
}

/** A key file group or others may read is refused (see readPrivateFile). */
function readKeyFile(path: string, setting: string): string {
  return readPrivateFile(path, setting);
}

function parse(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`${source}: not a readable PKCS#8 PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${source}: the signing key must be Ed25519, not ${key.asymmetricKeyType}`);
  return key;
}
