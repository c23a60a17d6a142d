import { once } from 'node:events';
import { listenOnLoopback } from './sockets.js';
import { type Socket, connect, createServer } from 'node:net';

/**
 * A loopback TCP proxy in front of a server: it keeps every byte clients send (to check what
 * went on the wire), and can cut a connection off once the server has begun answering a
 * chosen request, before any of that answer reaches the client — so the server did the work
 * and the client never heard of it.
 */
export interface TcpProxy {
  url: string;
  /** The bytes each client connection sent, in order, as text. */
  sent: () => string[];
  /** How many answers were cut off. */
  dropped: () => number;
  close: () => Promise<void>;
}

export async function startTcpProxy(upstreamPort: number, options: { dropAnswerTo?: (requestText: string) => boolean; drops?: number } = {}): Promise<TcpProxy> {
  const connections: { sent: string }[] = [];
  const sockets = new Set<Socket>();
  let dropped = 0;
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    const seen = { sent: '' };
    connections.push(seen);
    sockets.add(client).add(upstream);
    // The client's bytes since the server last began an answer: the request being answered.
    let pending = '';
    let current = '';
    client.on('data', (chunk: Buffer) => {
      seen.sent += chunk.toString('latin1');
      pending += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (pending !== '') [current, pending] = [pending, ''];
      if (options.dropAnswerTo?.(current) && dropped < (options.drops ?? 1)) {
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = (): void => { client.destroy(); upstream.destroy(); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    sent: () => connections.map((c) => c.sent),
    dropped: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface RawRequest {
  /** The request line and headers, as sent. */
  head: string;
  body: string;
}

/** Splits what one connection sent into its HTTP/1.1 requests (bodies sized by Content-Length). */
export function rawRequests(sent: string): RawRequest[] {
  const requests: RawRequest[] = [];
  let rest = sent;
  while (rest !== '') {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`an incomplete request head: ${JSON.stringify(rest.slice(0, 80))}`);
    const head = rest.slice(0, end);
    if (/^transfer-encoding:/im.test(head)) throw new Error('a chunked request body: not expected from the client');
    const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
    requests.push({ head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return requests;
}
