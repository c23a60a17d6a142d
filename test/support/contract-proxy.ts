import { once } from 'node:events';
import { listenOnLoopback } from './sockets.js';
import { type IncomingHttpHeaders, createServer, request } from 'node:http';
import type { OpenApiContract } from './openapi-contract.js';

/**
 * A validating proxy on loopback, in front of a real paylog server: it forwards every request
 * as it came, checks every answer against the OpenAPI document (OpenApiContract) on its way
 * back, and keeps what did not match. Clients talk HTTP to it exactly as to the server.
 */
export interface ContractProxy {
  url: string;
  /** Every mismatch so far, one line each. */
  mismatches: () => string[];
  close: () => Promise<void>;
}

export async function startContractProxy(upstream: string, contract: OpenApiContract): Promise<ContractProxy> {
  const target = new URL(upstream);
  const mismatches: string[] = [];
  const server = createServer((incoming, outgoing) => {
    const forwarded = request({
      host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers,
    }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers = answer.headers as IncomingHttpHeaders & Record<string, unknown>;
        if (String(headers['content-type'] ?? '').startsWith('application/json')) {
          mismatches.push(...contract.check({
            method: incoming.method ?? 'GET', url: incoming.url ?? '/', status: answer.statusCode ?? 0, headers, body: body.toString('utf8'),
          }));
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        outgoing.end(body);
      });
    });
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    mismatches: () => [...mismatches],
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
