import { parseVerifierKey } from '../core/signed-note.js';
import { ConfigError, InvalidValue, type Setting, integer, nonEmpty, oneOf, pattern, pemPrivateKey, secretFlagError } from './settings.js';
import type { LogLevel } from './config.js';

/** The settings of `paylog witness`: a process of its own, with its own key and file. */
export interface WitnessConfig {
  dataDir: string;
  host: string;
  port: number;
  /** The witness's key name, which its cosignature lines carry. */
  name: string;
  signingKey: string | null;
  signingKeyFile: string | null;
  /** Verifier keys of the logs it cosigns; each key's name is the log's origin. */
  logs: string[];
  /** The submission and monitoring prefix: "" serves at the root, "/w" at /w/add-checkpoint. */
  prefix: string;
  logLevel: LogLevel;
}

/** Logs one witness follows: each costs a row and a key; a limit on everything. */
export const WITNESS_LOGS_MAX = 1000;

/** Splits a list of verifier keys on commas, newlines or spaces (a key holds none of them). */
function logList(raw: string): string[] {
  const keys = raw.split(/[\s,]+/).filter((k) => k !== '');
  if (keys.length > WITNESS_LOGS_MAX) throw new InvalidValue(`must name at most ${WITNESS_LOGS_MAX} logs`);
  for (const key of keys) {
    try {
      parseVerifierKey(key);
    } catch (err) {
      throw new InvalidValue(`must be Ed25519 verifier keys <name>+<hex key ID>+<base64(0x01 ‖ key)>; ${JSON.stringify(key.slice(0, 80))}: ${err instanceof Error ? err.message : 'invalid'}`);
    }
  }
  return keys;
}

type Definitions = { [K in keyof WitnessConfig]: Setting<WitnessConfig[K]> };

export const WITNESS_SETTINGS: Definitions = {
  dataDir: { flag: 'data-dir', env: 'PAYLOG_WITNESS_DATA_DIR', description: "the witness's files: witness.db and the generated witness-key.pem", default: './witness-data', parse: nonEmpty },
  host: { flag: 'host', env: 'PAYLOG_WITNESS_HOST', description: 'address the witness listens on', default: '127.0.0.1', parse: nonEmpty },
  port: { flag: 'port', env: 'PAYLOG_WITNESS_PORT', description: 'port the witness listens on', default: 3100, parse: integer(0, 65_535) },
  name: {
    flag: 'name', env: 'PAYLOG_WITNESS_NAME', description: "the witness's key name, e.g. witness.example.com/w1", default: 'paylog-witness',
    parse: pattern(/^[\x21-\x2a\x2c-\x7e]{1,255}$/, 'a key name: printable ASCII without spaces or "+", at most 255 characters'),
  },
  signingKey: { flag: 'signing-key', env: 'PAYLOG_WITNESS_SIGNING_KEY', description: "the witness's Ed25519 key, PKCS#8 PEM text; refused as a flag: set the variable", default: null, secret: true, refusedOnCommandLine: 'PAYLOG_WITNESS_SIGNING_KEY or --signing-key-file', parse: pemPrivateKey },
  signingKeyFile: { flag: 'signing-key-file', env: 'PAYLOG_WITNESS_SIGNING_KEY_FILE', description: 'path of the witness key PEM; default: generated as witness-key.pem in the data dir', default: null, parse: nonEmpty },
  logs: { flag: 'log', env: 'PAYLOG_WITNESS_LOGS', description: 'verifier key of a log to cosign (repeatable; the variable takes a comma- or newline-separated list)', default: [], parse: logList },
  prefix: { flag: 'prefix', env: 'PAYLOG_WITNESS_PREFIX', description: 'URL path prefix of the witness endpoints', default: '', parse: pattern(/^(\/[A-Za-z0-9._~-]+)*$/, 'empty or a path such as /witness (no trailing slash)') },
  logLevel: { flag: 'log-level', env: 'PAYLOG_WITNESS_LOG_LEVEL', description: 'operational log level', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
};

/**
 * Builds the witness config from flags (highest), then the environment, then defaults; a
 * repeated flag (`--log`) comes as its values joined by newlines. Throws a one-line
 * ConfigError naming the setting.
 */
export function loadWitnessConfig(flags: Record<string, string | undefined>, env: Record<string, string | undefined>): WitnessConfig {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(WITNESS_SETTINGS) as [string, Setting<unknown>][]) {
    const fromFlag = flags[setting.flag];
    if (fromFlag !== undefined && setting.refusedOnCommandLine !== undefined) throw secretFlagError(setting.env, setting.flag, setting.refusedOnCommandLine);
    const raw = fromFlag ?? env[setting.env];
    if (raw === undefined || (fromFlag === undefined && raw === '')) {
      out[name] = setting.default;
      continue;
    }
    try {
      out[name] = setting.parse(raw);
    } catch (err) {
      const why = err instanceof InvalidValue ? err.message : 'is not valid';
      const shown = setting.secret ? '' : `, got ${JSON.stringify(raw.slice(0, 80))}`;
      throw new ConfigError(`${setting.env} (--${setting.flag}): ${why}${setting.flag === 'log' ? '' : shown}`);
    }
  }
  const config = out as unknown as WitnessConfig;
  if (config.signingKey !== null && config.signingKeyFile !== null) {
    throw new ConfigError('PAYLOG_WITNESS_SIGNING_KEY (--signing-key): set either it or PAYLOG_WITNESS_SIGNING_KEY_FILE, not both');
  }
  return config;
}
