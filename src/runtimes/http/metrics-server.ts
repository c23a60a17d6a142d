import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const METRICS_PATH = '/metrics';
/** A scrape that has not answered by then gets 503 (prom-client gives a silent worker 5 s). */
export const SCRAPE_TIMEOUT_MS = 10_000;
/** Scrapers are a few Prometheus servers: more connections than this are refused. */
const METRICS_CONNECTIONS_MAX = 16;

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** The exposition text and its content type; a rejection is answered 503. */
  scrape: () => Promise<{ contentType: string; body: string }>;
  /** Told of a failed scrape (never of its text). */
  onScrapeError?: (err: unknown) => void;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The Prometheus listener of `serve`: a plain node:http server on an address of its own, so
 * /metrics is never reachable through the API port (which answers it 404), and a scrape never
 * runs through the API's hooks (authentication, rate limit, journaling). It answers GET and
 * HEAD /metrics and nothing else.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => void answer(request, response, options));
  server.maxConnections = METRICS_CONNECTIONS_MAX;
  server.requestTimeout = SCRAPE_TIMEOUT_MS + 5_000;
  try {
    // once() rejects with the 'error' event's error: a port in use, an address not on this host.
    server.listen(options.port, options.host);
    await once(server, 'listening');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot listen for metrics on ${options.host}:${options.port} (PAYLOG_METRICS_HOST, PAYLOG_METRICS_PORT): ${code}`, { cause: err });
  }
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${METRICS_PATH}`,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, options: MetricsServerOptions): Promise<void> {
  const path = (request.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return plain(response, 404, 'Not found: metrics are at /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return plain(response, 405, 'Method not allowed\n');
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const scraped = await Promise.race([
      options.scrape(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`scrape took over ${SCRAPE_TIMEOUT_MS} ms`)), SCRAPE_TIMEOUT_MS); }),
    ]);
    response.writeHead(200, { 'Content-Type': scraped.contentType, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : scraped.body);
  } catch (err) {
    options.onScrapeError?.(err);
    // Never a partial answer: a scrape that misses a worker would read as its counters resetting.
    plain(response, 503, 'Metrics unavailable\n');
  } finally {
    clearTimeout(timer);
  }
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text);
}
