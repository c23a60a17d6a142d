import type { FastifyInstance } from 'fastify';
import { reconcile } from '../../app/reconcile.js';
import type { Config } from '../../config/config.js';
import { redactStoreUrl } from '../../config/store-url.js';
import { type Services, startServices } from '../../compose/services.js';
import { buildHttpApp } from './app.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  /** Stops accepting, lets in-flight requests finish, writes journal.stopped, closes the store. */
  stop(): Promise<void>;
}

/** Starts `paylog serve`: the HTTP API on the configured address, with periodic reconciliation. */
export async function startServer(config: Config): Promise<RunningServer> {
  let onHalt: (reason: string) => void = () => undefined;
  const services = await startServices(config, { role: 'serve', onHalt: (reason) => onHalt(reason) });
  const app = await buildHttpApp({
    ctx: services.ctx,
    rateLimitPerSecond: config.rateLimitPerSecond,
    logger: { level: config.logLevel, base: { service: 'paylog' }, redact: ['req.headers.authorization'] },
  });
  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await services.close();
    throw err;
  }
  app.log.info({ url, store: redactStoreUrl(config.storeUrl), stream: services.ctx.writer.streamId }, 'paylog serving');

  let reconciling = false;
  const timer = config.reconcileIntervalMs > 0
    ? setInterval(() => {
      if (reconciling) return;
      reconciling = true;
      reconcile(services.ctx, services.system)
        .then((result) => { if (result.resolved.length > 0) app.log.info({ resolved: result.resolved.length }, 'reconciled payments'); })
        .catch((err: unknown) => app.log.warn({ err }, 'reconciliation failed'))
        .finally(() => { reconciling = false; });
    }, config.reconcileIntervalMs)
    : null;
  timer?.unref();

  let stopping: Promise<void> | null = null;
  // A halted writer cannot journal anything: stop serving (exit 1) so a supervisor restarts
  // the process with a new stream, instead of answering 503 forever.
  onHalt = (reason) => {
    app.log.fatal({ reason }, 'journal writer halted; shutting down');
    process.exitCode = 1;
    void stop().catch(() => undefined);
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (timer) clearInterval(timer);
      const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      deadline.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(deadline);
        await services.close();
      }
    })();
    return stopping;
  };
  return { app, services, url, stop };
}

/** Runs the server until SIGTERM or SIGINT, then shuts down gracefully. */
export async function serveUntilSignalled(config: Config): Promise<void> {
  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      server.app.log.info({ signal }, 'shutting down');
      server.stop().then(resolve, (err: unknown) => {
        server.app.log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
