import type { Context } from 'aws-lambda';
import { type LambdaApp, composeLambda } from './compose.js';
import { directInvoke } from './direct-invoke.js';
import { coldStart } from './logger.js';

type Event = Record<string, unknown> & { requestContext?: Record<string, unknown>; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> };

let composed: Promise<LambdaApp> | null = null;

function compose(): Promise<LambdaApp> {
  composed ??= composeLambda().catch((err: unknown) => {
    composed = null; // let the next invocation try again rather than fail forever
    throw err;
  });
  return composed;
}

// Composed during the init phase, which is not billed and not counted against the timeout.
compose().catch(() => undefined);

process.once('SIGTERM', () => {
  // Lambda sends SIGTERM before shutting an environment down (when an extension is registered):
  // seal the stream with journal.stopped and a final checkpoint.
  const shutdown = async (): Promise<void> => {
    if (!composed) return;
    const app = await composed;
    try {
      // The app first: closing it writes the minute's aggregated auth.failed and audit.read counts.
      await app.app.close().catch((err: unknown) => app.app.log.error({ err }, 'could not close the HTTP app'));
      await app.services.close();
    } catch (err) {
      app.app.log.error({ err }, 'could not seal the journal stream at shutdown; the next environment will');
    }
  };
  void shutdown().catch(() => undefined).finally(() => process.exit(0));
});

/** API Gateway REST (payload 1.0) and HTTP API (2.0) events, or a direct invocation with a payment body. */
export async function handler(event: Event, context: Context): Promise<unknown> {
  let app = await compose();
  if (app.services.ctx.writer.halted) {
    // Our stream was sealed while this environment was frozen past its lease: start a new one.
    composed = null;
    app = await compose();
  }
  if (coldStart.value) app.metrics.coldStart();
  try {
    if (isApiGatewayEvent(event)) {
      withoutClientRequestId(event);
      return await app.proxy(event, context);
    }
    return await directInvoke(app.services.ctx, app.merchantId, event, context);
  } finally {
    // Timers do not run while the environment is frozen: do the periodic work before returning,
    // including putting a new checkpoint into the journal tree.
    await app.services.ctx.writer.checkpointIfDue().catch(() => undefined);
    await app.services.ctx.journalTree.idle();
    await app.services.witnesses.idle(); // bounded (WITNESS_IDLE_MS_MAX): a dead witness cannot hold an invocation
    app.metrics.flush();
    coldStart.value = false;
  }
}

function isApiGatewayEvent(event: Event): boolean {
  const rc = event.requestContext;
  return typeof rc === 'object' && rc !== null && (typeof event.httpMethod === 'string' || typeof rc.http === 'object');
}

/**
 * The request ID must be API Gateway's (requestContext.requestId), never a client's
 * X-Request-Id, which the proxy would otherwise prefer.
 */
function withoutClientRequestId(event: Event): void {
  for (const headers of [event.headers, event.multiValueHeaders]) {
    if (!headers) continue;
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'x-request-id') delete headers[name];
  }
}
