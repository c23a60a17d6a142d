import type { FastifyServerOptions } from 'fastify';
import pino from 'pino';

/** True until the first invocation of this execution environment has finished. */
export const coldStart = { value: true };

/**
 * Operational logs as structured JSON for CloudWatch: level, timestamp, service,
 * correlation_id (the request ID, via Fastify's requestIdLogLabel) and cold_start. Request
 * bodies, headers and query strings are never logged, and buildHttpApp puts the log sink's
 * redaction point in front of the stream (src/runtimes/http/log-redaction.ts): no line reaches
 * CloudWatch with anything that could be a card number in it.
 */
export function lambdaLogger(level: string, service: string): FastifyServerOptions['logger'] {
  return {
    level,
    base: { service },
    messageKey: 'message',
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: () => ({ cold_start: coldStart.value }),
    redact: ['req.headers.authorization'],
    // Synchronous like the audit mirror, which shares fd 1: an asynchronous partial write could
    // otherwise interleave a log line with a record line.
    stream: pino.destination({ dest: 1, sync: true }),
  };
}
