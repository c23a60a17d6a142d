import { describe, expect, it } from 'vitest';
import { WITNESS_SETTINGS, loadWitnessConfig } from '../../src/config/witness.js';
import { ConfigError } from '../../src/config/settings.js';
import { TestLog } from '../support/witness.js';

const a = new TestLog('log.test/a');
const b = new TestLog('log.test/b');

function configError(flags: Record<string, string>, env: Record<string, string>): string {
  try {
    loadWitnessConfig(flags, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toMatch(/\n/);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('witness settings', () => {
  it('defaults: loopback, port 3100, its own data dir, no logs, served at the root', () => {
    expect(loadWitnessConfig({}, {})).toEqual({
      dataDir: './witness-data', host: '127.0.0.1', port: 3100, name: 'paylog-witness', signingKey: null, signingKeyFile: null, logs: [], prefix: '', logLevel: 'info',
    });
  });

  it('every setting has a PAYLOG_WITNESS_ variable of its own', () => {
    const envs = Object.values(WITNESS_SETTINGS).map((s) => s.env);
    expect(new Set(envs).size).toBe(envs.length);
    for (const env of envs) expect(env).toMatch(/^PAYLOG_WITNESS_[A-Z_]+$/);
  });

  it('reads the logs from a comma- or newline-separated variable; repeated flags (joined by newlines) win over it', () => {
    expect(loadWitnessConfig({}, { PAYLOG_WITNESS_LOGS: `${a.vkey},${b.vkey}` }).logs).toEqual([a.vkey, b.vkey]);
    expect(loadWitnessConfig({}, { PAYLOG_WITNESS_LOGS: `\n${a.vkey}\n\n${b.vkey}\n` }).logs).toEqual([a.vkey, b.vkey]);
    expect(loadWitnessConfig({ log: b.vkey }, { PAYLOG_WITNESS_LOGS: a.vkey }).logs).toEqual([b.vkey]);
  });

  it('stops on a bad log key, name, prefix or port, naming the setting in one line', () => {
    expect(configError({}, { PAYLOG_WITNESS_LOGS: `${a.vkey},nonsense` })).toMatch(/^PAYLOG_WITNESS_LOGS \(--log\): must be Ed25519 verifier keys.*"nonsense"/);
    expect(configError({ name: 'has+plus' }, {})).toMatch(/^PAYLOG_WITNESS_NAME \(--name\)/);
    expect(configError({ prefix: 'witness/' }, {})).toMatch(/^PAYLOG_WITNESS_PREFIX \(--prefix\)/);
    expect(configError({}, { PAYLOG_WITNESS_PORT: '70000' })).toMatch(/^PAYLOG_WITNESS_PORT \(--port\)/);
  });

  it('never echoes a key given as PEM, and refuses both a PEM and a PEM file', () => {
    expect(configError({}, { PAYLOG_WITNESS_SIGNING_KEY: 'secret material' })).toBe('PAYLOG_WITNESS_SIGNING_KEY (--signing-key): must be a PKCS#8 PEM private key');
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n';
    expect(configError({}, { PAYLOG_WITNESS_SIGNING_KEY: pem, PAYLOG_WITNESS_SIGNING_KEY_FILE: '/x.pem' })).toMatch(/not both/);
  });
});
