import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import type { PurgeResult } from '../../app/purge-idempotency.js';
import { reconcile } from '../../app/reconcile.js';
import { type WitnessEvent, logWitnessEvent } from '../../app/witness-push.js';
import type { Config } from '../../config/config.js';
import { redactStoreUrl } from '../../config/store-url.js';
import { type Services, startServices } from '../../compose/services.js';
import { serverMetrics } from '../../compose/metrics.js';
import { buildHttpApp } from './app.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';
import { limitHeapGrowth } from '../heap-growth.js';

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  /** Stops accepting, lets in-flight requests finish, writes journal.stopped, closes the store. */
  stop(): Promise<void>;
  /** Settles once the server has stopped, through stop() or on its own (its journal writer halted). */
  stopped: Promise<void>;
}

/** Starts `paylog serve`: the HTTP API on the configured address, with periodic reconciliation. */
export async function startServer(config: Config): Promise<RunningServer> {
  let onHalt: (reason: string) => void = () => undefined;
  // Conflicts found before the logger exists (sealing at start) are logged once it does.
  const early: string[] = [];
  let onConflict = (reason: string): void => { early.push(reason); };
  const earlyWitness: WitnessEvent[] = [];
  let onWitnessEvent = (event: WitnessEvent): void => { earlyWitness.push(event); };
  let onPurge = (_result: PurgeResult): void => undefined;
  let onPurgeError = (_err: unknown): void => undefined;
  // Prometheus metrics unless PAYLOG_METRICS_PORT is 0. A cluster worker's are scraped by the
  // primary over IPC; a single process opens the listener itself, first, so a port in use stops
  // it before it opens the store.
  const metrics = config.metricsPort > 0 ? serverMetrics(config) : null;
  let onScrapeError = (_err: unknown): void => undefined;
  const metricsServer: MetricsServer | null = metrics && !cluster.isWorker
    ? await startMetricsServer({ host: config.metricsHost, port: config.metricsPort, scrape: () => metrics.scrape(), onScrapeError: (err) => onScrapeError(err) })
    : null;
  let services: Services;
  try {
    services = await startServices(config, {
      role: 'serve', onHalt: (reason) => onHalt(reason), onConflict: (reason) => onConflict(reason), onWitnessEvent: (event) => onWitnessEvent(event),
      purgeIdempotency: true, onPurge: (result) => onPurge(result), onPurgeError: (err) => onPurgeError(err),
      ...(metrics && { metrics }),
    });
  } catch (err) {
    await metricsServer?.close();
    throw err;
  }
  const { ctx } = services;
  metrics?.bind({
    checkpoint: () => ({ stream: ctx.writer.streamId, atMs: ctx.writer.lastCheckpoint ? Date.parse(ctx.writer.lastCheckpoint.createdAt) : ctx.writer.streamStartedMs }),
    ready: async () => { await ctx.store.ping(); return true; },
  });
  let app: FastifyInstance;
  try {
    app = await buildHttpApp({
      ctx: services.ctx,
      rateLimitPerSecond: config.rateLimitPerSecond,
      authFailuresPerMinute: config.authFailuresPerMinute,
      logger: { level: config.logLevel, base: { service: 'paylog' }, redact: ['req.headers.authorization'] },
    });
  } catch (err) {
    // An open listener would keep the process alive after a failed start.
    await services.close();
    await metricsServer?.close();
    throw err;
  }
  onConflict = (reason) => app.log.error({ reason, stream: services.ctx.writer.streamId }, 'journal conflict: records this writer did not write');
  for (const reason of early.splice(0)) onConflict(reason);
  onWitnessEvent = (event) => logWitnessEvent(app.log, event);
  onPurge = (result) => app.log.info({ purged: result.count, batches: result.batches, capped: result.capped }, 'purged expired idempotency keys');
  onPurgeError = (err) => app.log.warn({ err }, 'idempotency key purge failed');
  onScrapeError = (err) => app.log.warn({ err }, 'metrics scrape failed');
  for (const event of earlyWitness.splice(0)) onWitnessEvent(event);
  let url: string;
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await services.close();
    await metricsServer?.close();
    throw err;
  }
  app.log.info({ url, store: redactStoreUrl(config.storeUrl), stream: services.ctx.writer.streamId }, 'paylog serving');
  if (metricsServer) app.log.info({ url: metricsServer.url }, 'metrics serving');

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
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => { markStopped = resolve; });
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
      const startedMs = Date.now();
      const deadline = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs);
      deadline.unref();
      try {
        await app.close();
        // Handlers of clients that went away still run; they get the rest of the timeout.
        const settled = await app.inFlight.settled(Math.max(0, config.shutdownTimeoutMs - (Date.now() - startedMs)));
        if (!settled) app.log.warn({ running: app.inFlight.count }, 'shutdown timeout: requests still running are cut off');
      } finally {
        clearTimeout(deadline);
        try {
          await services.close();
        } finally {
          // Last, so the final figures can still be scraped while the server drains.
          await metricsServer?.close().catch(() => undefined);
          markStopped();
        }
      }
    })();
    return stopping;
  };
  return { app, services, url, stop, stopped };
}

/**
 * Runs the server until SIGTERM or SIGINT, then shuts down gracefully; or until it stops on
 * its own (its journal writer halted). Resolves with the exit code: 0 after a clean shutdown
 * on a signal, 1 when the server stopped on its own or its shutdown failed.
 */
export async function serveUntilSignalled(config: Config): Promise<number> {
  limitHeapGrowth();
  let signalled: NodeJS.Signals | null = null;
  let wake: () => void = () => undefined;
  // Listening before the server starts: a signal during start stops it once it has started,
  // with journal.stopped, instead of killing it with its stream open.
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled ??= signal;
    wake();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const server = await startServer(config);
    const byItself = await new Promise<boolean>((resolve) => {
      wake = () => resolve(false);
      void server.stopped.then(() => resolve(true));
      if (signalled) resolve(false);
    });
    // A server that stopped on its own has logged why (startServer's onHalt).
    if (!byItself) server.app.log.info({ signal: signalled }, 'shutting down');
    let code = byItself ? 1 : 0;
    try {
      await server.stop();
    } catch (err) {
      server.app.log.error({ err }, 'shutdown failed');
      code = 1;
    }
    // Requests cut off at the shutdown timeout may still be waiting on the gateway, for up to
    // its whole budget, with the store closed: nothing they do can be recorded or answered any
    // more, so they must not keep the process running after its shutdown is done (a supervisor,
    // or a cluster primary, would take it for a process that does not stop).
    if (server.app.inFlight.count > 0) setImmediate(() => process.exit(code)).unref();
    return code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
