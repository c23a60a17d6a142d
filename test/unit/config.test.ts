import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, loadConfig } from '../../src/config/config.js';
import { ConfigError, InvalidValue, integer, nonEmpty, oneOf, pattern } from '../../src/config/settings.js';
import { parseStoreUrl, redactStoreUrl } from '../../src/config/store-url.js';
import { WITNESSES_MAX } from '../../src/config/witnesses.js';
import { cosignerFromPrivateKey, cosignerKeyOf } from '../../src/core/cosignature.js';
import { signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';

const GOOD_KEY = Buffer.alloc(32, 9).toString('base64');

/** Runs loadConfig expecting a ConfigError, and returns it. */
function configError(flags: Record<string, string | undefined>, env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(flags, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function expectOneLine(message: string, startsWith: string): void {
  expect(message.startsWith(startsWith), message).toBe(true);
  expect(message).not.toMatch(/[\r\n]/);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({}, {});

  it('listens on 127.0.0.1:3000', () => {
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
  });

  it('stores in sqlite:data/paylog.db under the data dir', () => {
    expect(config.dataDir).toBe('./data');
    expect(config.storeUrl).toBe(`sqlite:${join('data', 'paylog.db')}`);
    expect(config.store).toEqual({ kind: 'sqlite', path: join('data', 'paylog.db') });
  });

  it('puts the default store in a configured data dir', () => {
    const custom = loadConfig({}, { PAYLOG_DATA_DIR: '/var/lib/paylog' });
    expect(custom.storeUrl).toBe('sqlite:/var/lib/paylog/paylog.db');
    expect(custom.store).toEqual({ kind: 'sqlite', path: '/var/lib/paylog/paylog.db' });
  });

  it('has the documented defaults for the rest', () => {
    expect(config).toMatchObject({
      logLevel: 'info', journalName: 'paylog-local', rateLimitPerSecond: 1000, gatewayLatencyMs: 5,
      idempotencyTtlHours: 24, fingerprintKey: null,
    });
    expect(config.gatewayBudgetMs).toBeLessThan(29_000);
    expect(config.idempotencyLeaseMs).toBeGreaterThan(config.gatewayBudgetMs);
    expect(config.gatewayAttemptTimeoutMs).toBeLessThanOrEqual(config.gatewayBudgetMs);
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig({}, { PAYLOG_PORT: '', PAYLOG_HOST: '' })).toMatchObject({ port: 3000, host: '127.0.0.1' });
  });

  it('gives every setting a PAYLOG_ variable, a flag and a description', () => {
    for (const [name, setting] of Object.entries(SETTINGS)) {
      expect(setting.env, name).toMatch(/^PAYLOG_[A-Z0-9_]+$/);
      expect(setting.flag, name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(setting.description, name).not.toBe('');
    }
    const envs = Object.values(SETTINGS).map((s) => s.env);
    expect(new Set(envs).size).toBe(envs.length);
  });
});

describe('loadConfig sources', () => {
  it('reads the environment', () => {
    const config = loadConfig({}, {
      PAYLOG_PORT: '8080', PAYLOG_HOST: '0.0.0.0', PAYLOG_LOG_LEVEL: 'debug', PAYLOG_STORE: 'memory:',
      PAYLOG_RATE_LIMIT: '0', PAYLOG_GATEWAY_LATENCY_MS: '0', PAYLOG_FINGERPRINT_KEY: GOOD_KEY,
    });
    expect(config).toMatchObject({
      port: 8080, host: '0.0.0.0', logLevel: 'debug', storeUrl: 'memory:', store: { kind: 'memory' },
      rateLimitPerSecond: 0, gatewayLatencyMs: 0, fingerprintKey: GOOD_KEY,
    });
  });

  it('lets flags override the environment', () => {
    const config = loadConfig(
      { port: '9000', host: '::1', 'log-level': 'warn', store: 'sqlite:/tmp/x.db', 'rate-limit': '5' },
      { PAYLOG_PORT: '8080', PAYLOG_HOST: '0.0.0.0', PAYLOG_LOG_LEVEL: 'debug', PAYLOG_STORE: 'memory:', PAYLOG_RATE_LIMIT: '0' },
    );
    expect(config).toMatchObject({
      port: 9000, host: '::1', logLevel: 'warn', storeUrl: 'sqlite:/tmp/x.db', store: { kind: 'sqlite', path: '/tmp/x.db' }, rateLimitPerSecond: 5,
    });
  });

  it('uses a valid flag even when the environment value is invalid', () => {
    expect(loadConfig({ port: '9000' }, { PAYLOG_PORT: 'abc' }).port).toBe(9000);
  });

  it('rejects an explicitly empty flag instead of falling back', () => {
    expectOneLine(configError({ port: '' }, { PAYLOG_PORT: '8080' }).message, 'PAYLOG_PORT');
  });

  it('uses the data-dir flag for the default store', () => {
    expect(loadConfig({ 'data-dir': '/srv/p' }, { PAYLOG_DATA_DIR: '/other' }).storeUrl).toBe('sqlite:/srv/p/paylog.db');
  });

  it('accepts the bounds of the port', () => {
    expect(loadConfig({}, { PAYLOG_PORT: '0' }).port).toBe(0);
    expect(loadConfig({}, { PAYLOG_PORT: '65535' }).port).toBe(65_535);
  });
});

describe('loadConfig errors', () => {
  it.each([
    ['PAYLOG_PORT', 'abc'],
    ['PAYLOG_PORT', '70000'],
    ['PAYLOG_PORT', '-1'],
    ['PAYLOG_PORT', '30.5'],
    ['PAYLOG_PORT', '3000\nPAYLOG_HOST=evil'],
    ['PAYLOG_LOG_LEVEL', 'loud'],
    ['PAYLOG_LOG_LEVEL', 'INFO'],
    ['PAYLOG_STORE', 'mysql://x'],
    ['PAYLOG_STORE', 'sqlite:'],
    ['PAYLOG_RATE_LIMIT', '-1'],
    ['PAYLOG_RATE_LIMIT', 'lots'],
    ['PAYLOG_HOST', '   '],
    ['PAYLOG_JOURNAL', 'Paylog Local'],
    ['PAYLOG_GATEWAY_MAX_ATTEMPTS', '0'],
    ['PAYLOG_GATEWAY_BUDGET_MS', '30000'],
    ['PAYLOG_IDEMPOTENCY_TTL_HOURS', '1'],
  ])('%s=%j is a one-line ConfigError naming the variable', (variable, value) => {
    const error = configError({}, { [variable]: value });
    expectOneLine(error.message, `${variable} `);
    expect(error.name).toBe('ConfigError');
  });

  it('says what was expected and what it got', () => {
    expect(configError({}, { PAYLOG_PORT: '70000' }).message).toBe('PAYLOG_PORT (--port): must be a whole number from 0 to 65535, got "70000"');
    expect(configError({}, { PAYLOG_LOG_LEVEL: 'loud' }).message).toBe(
      'PAYLOG_LOG_LEVEL (--log-level): must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
  });

  it('names the variable when the bad value came from a flag', () => {
    expectOneLine(configError({ port: 'abc' }, {}).message, 'PAYLOG_PORT (--port)');
  });

  it('rejects a short fingerprint key without echoing it', () => {
    for (const key of ['short', Buffer.alloc(31, 1).toString('base64'), 'c2VjcmV0LWtleS12YWx1ZQ==']) {
      const error = configError({}, { PAYLOG_FINGERPRINT_KEY: key });
      expectOneLine(error.message, 'PAYLOG_FINGERPRINT_KEY ');
      expect(error.message).not.toContain(key);
      expect(error.message).toContain('32 bytes');
    }
  });

  it('never echoes a store password', () => {
    const error = configError({}, { PAYLOG_STORE: 'postgress://paylog:hunter2@db.internal:5432/paylog' });
    expectOneLine(error.message, 'PAYLOG_STORE ');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('paylog:***@db.internal');
  });

  it('cuts a long value short', () => {
    const error = configError({}, { PAYLOG_LOG_LEVEL: 'x'.repeat(500) });
    expect(error.message.length).toBeLessThan(200);
  });

  it('requires the idempotency lease to outlast the gateway budget', () => {
    const error = configError({}, { PAYLOG_IDEMPOTENCY_LEASE_MS: '5000', PAYLOG_GATEWAY_BUDGET_MS: '10000' });
    expectOneLine(error.message, 'PAYLOG_IDEMPOTENCY_LEASE_MS ');
    expect(error.message).toContain('PAYLOG_GATEWAY_BUDGET_MS');
    // Equal is not enough either: the lease must be strictly longer.
    expectOneLine(configError({}, { PAYLOG_IDEMPOTENCY_LEASE_MS: '10000', PAYLOG_GATEWAY_BUDGET_MS: '10000' }).message, 'PAYLOG_IDEMPOTENCY_LEASE_MS ');
    expect(loadConfig({}, { PAYLOG_IDEMPOTENCY_LEASE_MS: '10001', PAYLOG_GATEWAY_BUDGET_MS: '10000' }).idempotencyLeaseMs).toBe(10_001);
  });

  it('reconciles a payment only once the gateway budget has passed', () => {
    const error = configError({}, { PAYLOG_RECONCILE_AFTER_MS: '0' });
    expectOneLine(error.message, 'PAYLOG_RECONCILE_AFTER_MS ');
    expect(error.message).toContain('PAYLOG_GATEWAY_BUDGET_MS (10000)');
    expectOneLine(configError({ 'reconcile-after-ms': '4999' }, { PAYLOG_GATEWAY_BUDGET_MS: '5000' }).message, 'PAYLOG_RECONCILE_AFTER_MS ');
    // Equal is enough: the budget bounds every attempt and wait of the payment's own request.
    expect(loadConfig({}, { PAYLOG_RECONCILE_AFTER_MS: '5000', PAYLOG_GATEWAY_BUDGET_MS: '5000' }).reconcileAfterMs).toBe(5_000);
  });

  it('requires one gateway attempt to fit in the budget', () => {
    const error = configError({}, { PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '5000', PAYLOG_GATEWAY_BUDGET_MS: '4000' });
    expectOneLine(error.message, 'PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS ');
    expect(loadConfig({}, { PAYLOG_GATEWAY_ATTEMPT_TIMEOUT_MS: '4000', PAYLOG_GATEWAY_BUDGET_MS: '4000' }).gatewayAttemptTimeoutMs).toBe(4000);
  });
});

describe('PAYLOG_WORKERS (--workers)', () => {
  it('defaults to 1 (no cluster) and accepts 1 to 64 from the environment or the flag', () => {
    expect(loadConfig({}, {}).workers).toBe(1);
    expect(loadConfig({}, { PAYLOG_WORKERS: '64' }).workers).toBe(64);
    expect(loadConfig({ workers: '4' }, { PAYLOG_WORKERS: '2' }).workers).toBe(4);
    expect(SETTINGS.workers).toMatchObject({ flag: 'workers', env: 'PAYLOG_WORKERS', default: 1 });
  });

  it.each(['0', '65', 'x', '-1', '2.5', ''])('refuses %j with a one-line ConfigError naming the setting', (value) => {
    for (const error of [configError({ workers: value }, {}), ...(value === '' ? [] : [configError({}, { PAYLOG_WORKERS: value })])]) {
      expectOneLine(error.message, 'PAYLOG_WORKERS (--workers): ');
      expect(error.message).toContain('must be a whole number from 1 to 64');
    }
  });

  it('says exactly what was expected and what it got', () => {
    expect(configError({}, { PAYLOG_WORKERS: 'x' }).message).toBe('PAYLOG_WORKERS (--workers): must be a whole number from 1 to 64, got "x"');
  });

  it('refuses several workers on the memory: store, which each would hold alone', () => {
    expectOneLine(configError({}, { PAYLOG_WORKERS: '2', PAYLOG_STORE: 'memory:' }).message, 'PAYLOG_WORKERS (--workers): ');
    expect(loadConfig({}, { PAYLOG_WORKERS: '1', PAYLOG_STORE: 'memory:' }).workers).toBe(1);
  });
});

describe('PAYLOG_SQLITE_BATCH_MAX (--sqlite-batch-max)', () => {
  it('defaults to 1024 writes per SQLite commit and accepts 1 (group commit off)', () => {
    expect(loadConfig({}, {}).sqliteBatchWritesMax).toBe(1024);
    expect(loadConfig({}, { PAYLOG_SQLITE_BATCH_MAX: '1' }).sqliteBatchWritesMax).toBe(1);
  });

  it.each(['0', 'x', '2.5'])('refuses %j with a one-line ConfigError naming the setting', (value) => {
    expectOneLine(configError({}, { PAYLOG_SQLITE_BATCH_MAX: value }).message, 'PAYLOG_SQLITE_BATCH_MAX (--sqlite-batch-max): ');
  });
});

describe('parseStoreUrl', () => {
  it.each([
    ['sqlite:./data/paylog.db', { kind: 'sqlite', path: './data/paylog.db' }],
    ['sqlite:data/paylog.db', { kind: 'sqlite', path: 'data/paylog.db' }],
    ['sqlite:/var/lib/paylog.db', { kind: 'sqlite', path: '/var/lib/paylog.db' }],
    ['sqlite:///var/lib/paylog.db', { kind: 'sqlite', path: '/var/lib/paylog.db' }],
    ['memory:', { kind: 'memory' }],
    ['postgres://user@host:5432/db', { kind: 'postgres', url: 'postgres://user@host:5432/db' }],
    ['postgresql://user:pw@host/db', { kind: 'postgres', url: 'postgresql://user:pw@host/db' }],
    ['dynamodb://paylog_?region=eu-west-1&endpoint=http://localhost:8000', { kind: 'dynamodb', url: 'dynamodb://paylog_?region=eu-west-1&endpoint=http://localhost:8000' }],
  ])('%s', (raw, expected) => {
    expect(parseStoreUrl(raw)).toEqual(expected);
  });

  it.each(['', 'sqlite:', 'mysql://x', 'memory', 'memory:x', 'postgres:host', 'dynamodb:table', './data/paylog.db', 'SQLITE:x.db'])(
    'rejects %j with an InvalidValue',
    (raw) => {
      expect(() => parseStoreUrl(raw)).toThrow(InvalidValue);
    },
  );
});

describe('redactStoreUrl', () => {
  it('hides a postgres password and keeps the rest', () => {
    expect(redactStoreUrl('postgres://paylog:s3cr3t@db.example.com:5432/paylog')).toBe('postgres://paylog:***@db.example.com:5432/paylog');
    expect(redactStoreUrl('postgresql://u:p%40ss@h/db')).toBe('postgresql://u:***@h/db');
    expect(redactStoreUrl('postgres://paylog:s3cr3t@db/paylog')).not.toContain('s3cr3t');
  });

  it('leaves URLs without a password alone', () => {
    for (const raw of ['postgres://paylog@db:5432/paylog', 'sqlite:./data/paylog.db', 'memory:', 'dynamodb://paylog_?region=eu-west-1']) {
      expect(redactStoreUrl(raw)).toBe(raw);
    }
  });
});

describe('setting parsers', () => {
  it('integer accepts whole numbers in range only', () => {
    const parse = integer(1, 10);
    expect(parse('1')).toBe(1);
    expect(parse('10')).toBe(10);
    for (const raw of ['0', '11', '1.0', '1e1', '0x5', '', 'five', '99999999999999999999']) expect(() => parse(raw), raw).toThrow(InvalidValue);
  });

  it('oneOf, nonEmpty and pattern', () => {
    expect(oneOf('a', 'b')('b')).toBe('b');
    expect(() => oneOf('a', 'b')('c')).toThrow('must be one of a, b');
    expect(nonEmpty('x')).toBe('x');
    expect(() => nonEmpty(' ')).toThrow(InvalidValue);
    expect(pattern(/^[a-z]+$/, 'letters')('abc')).toBe('abc');
    expect(() => pattern(/^[a-z]+$/, 'letters')('ABC')).toThrow('must be letters');
  });
});

describe('PAYLOG_API_KEY_CACHE_MS (--api-key-cache-ms)', () => {
  it('defaults to 5000 and accepts 0 (off) to 60000 from the environment or the flag', () => {
    expect(loadConfig({}, {}).apiKeyCacheMs).toBe(5000);
    expect(loadConfig({}, { PAYLOG_API_KEY_CACHE_MS: '0' }).apiKeyCacheMs).toBe(0);
    expect(loadConfig({}, { PAYLOG_API_KEY_CACHE_MS: '60000' }).apiKeyCacheMs).toBe(60_000);
    expect(loadConfig({ 'api-key-cache-ms': '100' }, { PAYLOG_API_KEY_CACHE_MS: '0' }).apiKeyCacheMs).toBe(100);
    expect(SETTINGS.apiKeyCacheMs).toMatchObject({ flag: 'api-key-cache-ms', env: 'PAYLOG_API_KEY_CACHE_MS', default: 5000 });
  });

  it.each(['-1', '60001', '5s', '1.5'])('refuses %j with a one-line ConfigError naming the setting', (value) => {
    expect(configError({}, { PAYLOG_API_KEY_CACHE_MS: value }).message)
      .toBe(`PAYLOG_API_KEY_CACHE_MS (--api-key-cache-ms): must be a whole number from 0 to 60000, got ${JSON.stringify(value)}`);
  });
});

describe('PAYLOG_WITNESS (--witness)', () => {
  const witnessKey = (name: string) => cosignerKeyOf(cosignerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey));
  const w1 = witnessKey('witness.example/w1');
  const w2 = witnessKey('witness.example/w2');
  const prefix = 'PAYLOG_WITNESS (--witness): ';

  it('defaults to none', () => {
    expect(loadConfig({}, {}).witnesses).toEqual([]);
    expect(SETTINGS.witnesses).toMatchObject({ flag: 'witness', env: 'PAYLOG_WITNESS', repeatable: true, default: [] });
  });

  it('reads "<URL> <verifier key>" entries separated by commas or newlines; the trailing slash goes', () => {
    const config = loadConfig({}, { PAYLOG_WITNESS: ` https://w1.example/ ${w1},\nhttp://127.0.0.1:3100/witness   ${w2}\n` });
    expect(config.witnesses).toEqual([
      { url: 'https://w1.example', key: w1, name: 'witness.example/w1' },
      { url: 'http://127.0.0.1:3100/witness', key: w2, name: 'witness.example/w2' },
    ]);
  });

  it('takes the repeated flag (its values joined by newlines) over the variable', () => {
    const config = loadConfig({ witness: `https://a.example ${w1}\nhttps://b.example ${w2}` }, { PAYLOG_WITNESS: `https://c.example ${w1}` });
    expect(config.witnesses.map((w) => w.url)).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each([
    ['ftp://w.example WKEY', 'must be http or https, not ftp:'],
    ['w.example WKEY', 'the first part of an entry is not a URL'],
    ['https://w.example', 'each witness must be "<URL> <verifier key>"'],
    ['https://w.example WKEY extra', 'has 3 part(s)'],
    ['https://w.example/?x=1 WKEY', 'must have no query or fragment'],
    ['https://w.example JKEY', 'the verifier key of witness https://w.example is not a cosignature/v1 key'],
    ['https://w.example WKEYx', 'is not a cosignature/v1 key'],
    ['https://a.example WKEY, https://a.example/ W2KEY', 'witness https://a.example is named twice'],
    ['https://a.example WKEY, https://b.example WKEY', 'have the same key name "witness.example/w1"'],
  ])('refuses %j with a one-line error naming the setting', (value, reason) => {
    const journalKey = verifierKeyOf(signerFromPrivateKey('paylog-local', generateKeyPairSync('ed25519').privateKey));
    const raw = value.replace('W2KEY', w2).replaceAll('WKEY', w1).replace('JKEY', journalKey);
    for (const error of [configError({}, { PAYLOG_WITNESS: raw }), configError({ witness: raw }, {})]) {
      expectOneLine(error.message, prefix);
      expect(error.message).toContain(reason);
    }
  });

  it(`refuses more than ${WITNESSES_MAX}, and never echoes credentials in a URL`, () => {
    const many = Array.from({ length: WITNESSES_MAX + 1 }, (_, i) => `https://w${i}.example ${witnessKey(`w${i}`)}`).join(',');
    expect(configError({}, { PAYLOG_WITNESS: many }).message).toBe(`${prefix}must name at most ${WITNESSES_MAX} witnesses`);
    const error = configError({}, { PAYLOG_WITNESS: `https://user:hunter2@w.example ${w1}` });
    expect(error.message).toBe(`${prefix}a witness URL must not carry credentials`);
  });
});

describe('secrets are refused as flags', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

  it('names the variable or file setting to use instead, and never echoes the value', () => {
    const cases: [string, string, string, string][] = [
      ['signing-key', pem, 'PAYLOG_SIGNING_KEY', 'PAYLOG_SIGNING_KEY or --signing-key-file'],
      ['previous-signing-key', pem, 'PAYLOG_PREVIOUS_SIGNING_KEY', 'PAYLOG_PREVIOUS_SIGNING_KEY or --previous-signing-key-file'],
      ['fingerprint-key', GOOD_KEY, 'PAYLOG_FINGERPRINT_KEY', 'PAYLOG_FINGERPRINT_KEY or --fingerprint-key-file'],
      // Refused whatever the value, a bad one included: the value is already in ps.
      ['fingerprint-key', 'short', 'PAYLOG_FINGERPRINT_KEY', 'PAYLOG_FINGERPRINT_KEY or --fingerprint-key-file'],
    ];
    for (const [flag, value, env, instead] of cases) {
      const err = configError({ [flag]: value }, {});
      expect(err.message).toBe(`${env} (--${flag}): refused on the command line, where every user of this machine can read it (ps); use ${instead}`);
      expect(err.message).not.toContain(value);
    }
  });

  it('takes the same secrets from the environment, and the key files as flags', () => {
    expect(loadConfig({}, { PAYLOG_SIGNING_KEY: pem, PAYLOG_FINGERPRINT_KEY: GOOD_KEY })).toMatchObject({ signingKey: pem, fingerprintKey: GOOD_KEY });
    expect(loadConfig({ 'signing-key-file': '/k/s.pem', 'fingerprint-key-file': '/k/f.key' }, {})).toMatchObject({ signingKeyFile: '/k/s.pem', fingerprintKeyFile: '/k/f.key' });
  });

  it('refuses a store URL with a password as a flag, without echoing it; takes it from PAYLOG_STORE', () => {
    const url = 'postgres://paylog:hunter2@db.internal:5432/paylog';
    const err = configError({ store: url }, {});
    expect(err.message).toBe('PAYLOG_STORE (--store): refused on the command line, where every user of this machine can read it (ps); use PAYLOG_STORE for a URL with a password, or PGPASSWORD');
    expect(loadConfig({}, { PAYLOG_STORE: url }).storeUrl).toBe(url);
    expect(loadConfig({ store: 'postgres://paylog@db.internal:5432/paylog' }, {}).storeUrl).toBe('postgres://paylog@db.internal:5432/paylog');
  });

  it('takes the fingerprint key as text or as a file, not both', () => {
    expectOneLine(configError({}, { PAYLOG_FINGERPRINT_KEY: GOOD_KEY, PAYLOG_FINGERPRINT_KEY_FILE: '/k/f.key' }).message, 'PAYLOG_FINGERPRINT_KEY: set either it or PAYLOG_FINGERPRINT_KEY_FILE');
  });

  it('every secret setting that has a flag refuses it', () => {
    for (const setting of Object.values(SETTINGS)) {
      if (!/KEY$/.test(setting.env) || setting.env.endsWith('_API_KEY')) continue;
      expect(setting.refusedOnCommandLine, setting.env).toMatch(new RegExp(`^${setting.env} or --${setting.flag}-file$`));
    }
  });
});
