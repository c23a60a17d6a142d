import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

/** dynalite ships no types; this is the part of its API the tests use. */
type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface DynaliteServer {
  /** `http://127.0.0.1:PORT`, for `dynamodb://PREFIX?endpoint=…`. */
  endpoint: string;
  close(): Promise<void>;
}

/** Dummy credentials: dynalite accepts any, and with none the SDK would probe EC2 metadata. */
export const DYNALITE_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDPAYLOGTEST',
  AWS_SECRET_ACCESS_KEY: 'paylog-test-secret',
  AWS_REGION: 'us-east-1',
  // The SDK warns once per process on Node 20 that it will need Node 22 from 2027; noise in tests.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
} as const;

/**
 * Starts dynalite (an in-memory DynamoDB) in this process on a free loopback port. Tables
 * become ACTIVE at once. Sets the SDK's credential variables for this process, since
 * dynalite accepts any.
 */
export async function startDynalite(): Promise<DynaliteServer> {
  Object.assign(process.env, DYNALITE_ENV);
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      // Clients keep connections alive; drop them, or close() would wait for them to idle out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

let prefixes = 0;

/** A table prefix no other test in this process uses, so every test starts with empty tables. */
export function freshPrefix(name = 'paylog'): string {
  prefixes += 1;
  return `${name}-${process.pid}-${prefixes}`;
}
