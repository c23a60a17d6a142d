import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { originHash } from '../../src/app/witness/add-checkpoint.js';
import type { WitnessStore } from '../../src/app/witness/witness-store.js';
import { openSqliteWitnessStore } from '../../src/adapters/witness-store/sqlite.js';
import { trustedLogsOf } from '../../src/compose/witness.js';
import { type Cosigner, cosignerFromPrivateKey, cosignerKeyOf } from '../../src/core/cosignature.js';
import { buildWitnessApp } from '../../src/runtimes/witness/app.js';
import { PAYLOG_BIN } from './process.js';

/**
 * A real witness (paylog's own, over its SQLite store) listening on 127.0.0.1 in this process:
 * what the pusher talks to in tests. `stop` and `start` take it down and bring it back on the
 * same port with the same file, as an operator restarting it would.
 */
export class InProcessWitness {
  readonly cosigner: Cosigner;
  readonly vkey: string;
  private readonly dir: string;
  private store: WitnessStore | null = null;
  private app: FastifyInstance | null = null;
  private port = 0;

  constructor(private readonly logs: readonly string[], name = 'witness.test/w1') {
    this.cosigner = cosignerFromPrivateKey(name, generateKeyPairSync('ed25519').privateKey);
    this.vkey = cosignerKeyOf(this.cosigner);
    this.dir = mkdtempSync(join(tmpdir(), 'paylog-witness-push-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `<URL> <verifier key>`, as PAYLOG_WITNESS takes it. */
  get setting(): string {
    return `${this.url} ${this.vkey}`;
  }

  async start(): Promise<this> {
    this.store = openSqliteWitnessStore(join(this.dir, 'witness.db'));
    const witness = { store: this.store, cosigner: this.cosigner, logs: trustedLogsOf(this.logs), clock: { now: () => Date.now() } };
    this.app = await buildWitnessApp({ witness, prefix: '', logger: false });
    await this.app.listen({ port: this.port, host: '127.0.0.1' });
    const address = this.app.server.address();
    this.port = typeof address === 'object' && address ? address.port : this.port;
    return this;
  }

  async stop(): Promise<void> {
    if (this.app) {
      this.app.server.closeAllConnections();
      await this.app.close();
    }
    this.store?.close();
    this.app = null;
    this.store = null;
  }

  /** The size of the log it holds (0 if none). */
  async size(origin: string): Promise<number> {
    if (!this.app) throw new Error('the witness is stopped');
    const res = await this.app.inject({ method: 'GET', url: `/${originHash(origin)}/checkpoint` });
    return res.statusCode === 404 ? 0 : Number(res.body.split('\n')[1]);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts `paylog witness serve <args>` as a child process; resolves with its URL once it says it is serving. */
export async function startWitnessProcess(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [PAYLOG_BIN, 'witness', 'serve', ...args], {
    env: { ...process.env, PAYLOG_WITNESS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`paylog witness serve did not start: ${output}`));
    }, 20_000);
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const serving = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"paylog witness serving"/.exec(output);
      if (serving) {
        clearTimeout(timer);
        resolve(serving[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`paylog witness serve exited with ${code}: ${output}`));
    });
  });
  return { child, url, output: () => output };
}
