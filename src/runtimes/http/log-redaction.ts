import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import pino from 'pino';
import { redactJsonText, redactUrlPath } from '../../core/redact.js';

type LoggerOption = FastifyServerOptions['logger'];
type LoggerObject = Exclude<LoggerOption, boolean | undefined>;

/**
 * The logger options with the log sink's redaction point: every line, at every level and from
 * every logger (Fastify's own, each request's, ours), passes through redactJsonText on its way
 * to the stream, after serialization. The serializers below keep what never belongs in a log
 * out of the line in the first place: query strings, raw paths, raw bytes.
 */
export function redactingLogger(logger: LoggerOption): LoggerOption {
  if (!logger) return logger;
  const options: LoggerObject = logger === true ? {} : logger;
  const previous = options.hooks?.streamWrite;
  return {
    ...options,
    serializers: { ...options.serializers, req: serializeRequest, err: serializeError },
    hooks: { ...options.hooks, streamWrite: previous ? (line: string) => redactJsonText(previous(line)) : redactJsonText },
  };
}

/**
 * Fastify's request serializer logs req.url, query string and all. This one logs the route
 * pattern and the path with card numbers masked, and never the query string.
 */
function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrlPath(request.url),
    route: request.routeOptions?.url ?? null,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Properties an error may carry that hold bytes: they would be logged as a byte array, which no text scan finds. */
function isBytes(value: unknown): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer');
}

/**
 * pino's error serializer, without any property that holds bytes (Node's HTTP parser attaches
 * the whole packet received as err.rawPacket: Authorization header, card number, CVC).
 */
export function serializeError(err: Error): ReturnType<typeof pino.stdSerializers.err> {
  const serialized = pino.stdSerializers.err(err);
  for (const key of Object.keys(serialized)) if (isBytes(serialized[key])) delete serialized[key];
  return serialized;
}

interface ClientError extends Error {
  code?: string;
}

/**
 * Replaces Fastify's client-error handler, which logs the error with the raw packet (at trace).
 * Answers as Fastify does (408, 431 or 400, then closes the connection) and logs only the code.
 */
export function clientErrorHandler(this: FastifyInstance, err: ClientError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'Request Timeout', 'Client Timeout']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'Exceeded maximum allowed HTTP header size'] : [400, 'Bad Request', 'Client Error'];
  this.log.debug({ code: err.code ?? null, status }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ error: reason, message, statusCode: status });
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
