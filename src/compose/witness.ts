import { type KeyObject, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Witness } from '../app/witness/add-checkpoint.js';
import type { TrustedLogs } from '../app/witness/decide.js';
import type { WitnessStore } from '../app/witness/witness-store.js';
import { openSqliteWitnessStore } from '../adapters/witness-store/sqlite.js';
import { ConfigError } from '../config/settings.js';
import type { WitnessConfig } from '../config/witness.js';
import { type Cosigner, cosignerFromPrivateKey } from '../core/cosignature.js';
import { type VerifierKey, parseVerifierKey } from '../core/signed-note.js';
import { createOnce } from './create-once.js';
import { privateDirectory, readPrivateFile } from './private-files.js';

export const WITNESS_KEY_FILE = 'witness-key.pem';
export const WITNESS_DB_FILE = 'witness.db';

/**
 * The witness's Ed25519 key, named by its config: PEM text or a PEM file (refused if group or
 * others may read it), or generated once into its data directory (mode 0600) on a first start. It is not paylog's signing key: a
 * witness is another party, with a key of its own.
 */
export function loadWitnessCosigner(config: WitnessConfig): Cosigner {
  let pem: string;
  let source: string;
  if (config.signingKey !== null) {
    pem = config.signingKey;
    source = 'PAYLOG_WITNESS_SIGNING_KEY';
  } else if (config.signingKeyFile !== null) {
    source = config.signingKeyFile;
    pem = readPrivateFile(config.signingKeyFile, 'PAYLOG_WITNESS_SIGNING_KEY_FILE');
  } else {
    privateDirectory(config.dataDir, 'PAYLOG_WITNESS_DATA_DIR');
    source = join(config.dataDir, WITNESS_KEY_FILE);
    // If another process created the key first, everyone uses that one.
    if (!existsSync(source)) createOnce(source, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    pem = readPrivateFile(source, 'PAYLOG_WITNESS_DATA_DIR');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ConfigError(`${source}: not a readable PKCS#8 PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${source}: the witness key must be Ed25519, not ${key.asymmetricKeyType}`);
  return cosignerFromPrivateKey(config.name, key);
}

/** Origin → keys: a C2SP log's checkpoint origin is its key's name; several keys may share one (rotation). */
export function trustedLogsOf(vkeys: readonly string[]): TrustedLogs {
  const logs = new Map<string, VerifierKey[]>();
  for (const vkey of vkeys) {
    const key = parseVerifierKey(vkey);
    logs.set(key.name, [...(logs.get(key.name) ?? []), key]);
  }
  return logs;
}

export interface OpenWitness {
  witness: Witness;
  close(): void;
}

/** Everything `paylog witness serve` runs on: its key, its logs, its SQLite file, the wall clock. */
export function openWitness(config: WitnessConfig): OpenWitness {
  const cosigner = loadWitnessCosigner(config);
  // Its database and -wal/-shm are 0600 (openDatabase); the directory holding them is 0700.
  privateDirectory(config.dataDir, 'PAYLOG_WITNESS_DATA_DIR');
  const store = openSqliteWitnessStore(join(config.dataDir, WITNESS_DB_FILE));
  return {
    witness: { store, cosigner, logs: trustedLogsOf(config.logs), clock: { now: () => Date.now() } },
    close: () => store.close(),
  };
}

/** The witness's store alone, for reading its evidence. */
export function openWitnessStore(config: WitnessConfig): WitnessStore {
  privateDirectory(config.dataDir, 'PAYLOG_WITNESS_DATA_DIR');
  return openSqliteWitnessStore(join(config.dataDir, WITNESS_DB_FILE));
}
