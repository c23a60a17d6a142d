import cluster, { type Address, type Worker } from 'node:cluster';
import pino from 'pino';
import type { Config } from '../../config/config.js';
import type { MetricsServer } from '../http/metrics-server.js';

/**
 * `paylog serve --workers N` (N > 1): a node:cluster primary and its workers.
 *
 * The primary opens neither the store nor any key; it forks N workers that run `serve` with
 * the primary's settings in their environment (never on their command lines, which any user of
 * the machine can read), each a whole `serve` with its own journal stream, sharing the port round
 * robin. It never respawns: a worker that exits on its own (a crash, a halted journal writer)
 * makes the primary stop the others and exit 1, so the supervisor restarts the service, as it
 * would restart a single process. SIGTERM/SIGINT are forwarded as SIGTERM; a worker still alive
 * WORKER_STOP_MARGIN_MS after its shutdown timeout is killed; the primary exits 0 when every
 * worker shut down cleanly.
 *
 * Prometheus metrics: the primary runs the /metrics listener and answers each scrape with every
 * worker's registry, asked over IPC and aggregated by prom-client (counters summed; gauges as
 * each declares, per-stream ones keeping their `stream` label). Each worker creates its one
 * registry before it starts serving, so none is missed or counted twice.
 */

/** Exit codes of the primary, those of a single `serve` process in the same situations. */
const EXIT_OK = 0;
/** A worker crashed, halted or failed to shut down cleanly. */
const EXIT_FAILED = 1;
/** A worker could not start (configuration, keys, store): the service could not run. */
const EXIT_NOT_STARTED = 2;

/**
 * How long past its own shutdown timeout a worker gets, after SIGTERM, to finish stopping:
 * commit what is queued, write journal.stopped and a final checkpoint, close the store. One
 * still alive then is hung (a stalled store, a stopped process) and is killed with SIGKILL, so
 * the primary's shutdown is bounded: with the defaults 15 s + 5 s, within the 30 s a supervisor
 * such as Kubernetes waits before it kills the primary itself.
 */
const WORKER_STOP_MARGIN_MS = 5_000;

/**
 * Runs this process's part of the cluster; resolves with its exit code. `workerEnv` is the
 * primary's flags as PAYLOG_… variables, which the workers read instead of a command line.
 */
export function serveWorkers(config: Config, workerEnv: Record<string, string>): Promise<number> {
  return cluster.isPrimary ? runPrimary(config, workerEnv) : runWorker(config);
}

async function runPrimary(config: Config, workerEnv: Record<string, string>): Promise<number> {
  const log = pino({ level: config.logLevel, base: { service: 'paylog', role: 'primary', pid: process.pid } });
  let metricsServer: MetricsServer | null = null;
  if (config.metricsPort > 0) {
    const [{ clusterScrape }, { startMetricsServer }] = await Promise.all([import('../../compose/cluster-metrics.js'), import('../http/metrics-server.js')]);
    try {
      metricsServer = await startMetricsServer({
        host: config.metricsHost, port: config.metricsPort, scrape: clusterScrape(),
        onScrapeError: (err) => log.warn({ err }, 'metrics scrape failed'),
      });
    } catch (err) {
      log.error({ err }, 'metrics listener could not start');
      return EXIT_NOT_STARTED;
    }
    log.info({ url: metricsServer.url }, 'metrics serving');
  }
  // Round robin everywhere (Windows would default to letting the OS pick, which skews load).
  cluster.schedulingPolicy = cluster.SCHED_RR;
  // Workers run `serve` alone on their command line: the settings come in their environment
  // (workerEnv over the inherited one, as a flag wins over a variable), so they parse the same config.
  cluster.setupPrimary({ exec: process.argv[1] as string, args: ['serve'] });

  const workers = new Set<Worker>();
  const listening = new Set<number>();
  let serving = false;
  let stopping = false;
  let code = EXIT_OK;
  let killTimer: NodeJS.Timeout | null = null;

  return new Promise<number>((resolve) => {
    const stopAll = (): void => {
      stopping = true;
      for (const worker of workers) worker.process.kill('SIGTERM');
      const boundMs = config.shutdownTimeoutMs + WORKER_STOP_MARGIN_MS;
      killTimer ??= setTimeout(() => {
        for (const worker of workers) {
          log.error({ worker: worker.id, workerPid: worker.process.pid, afterMs: boundMs }, 'worker did not stop in time; killing it');
          worker.process.kill('SIGKILL');
        }
      }, boundMs);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      log.info({ signal, workers: workers.size }, 'shutting down workers');
      stopAll();
    };
    const fork = (): void => {
      const worker = cluster.fork(workerEnv);
      workers.add(worker);
      // Sending to a worker that just died fails with EPIPE; its exit is handled below.
      worker.on('error', (err) => log.warn({ worker: worker.id, err }, 'worker channel error'));
      worker.on('listening', (address) => {
        // A host such as "localhost" gives a worker several listening sockets: count the worker once.
        if (listening.has(worker.id)) return;
        listening.add(worker.id);
        log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker listening');
        if (stopping) return;
        // The first worker starts alone: on a first run it generates the local keys and creates
        // the schema, which several processes starting at the same instant would race on.
        if (listening.size === 1) for (let i = 1; i < config.workers; i++) fork();
        if (listening.size === config.workers) {
          serving = true;
          log.info({ url: urlOf(address, config.host), workers: config.workers }, 'paylog workers serving');
        }
      });
      worker.once('exit', (exitCode: number | null, signal: NodeJS.Signals | null) => {
        workers.delete(worker);
        if (!stopping) {
          const during = serving ? 'serving' : 'start';
          log.error({ worker: worker.id, workerPid: worker.process.pid, code: exitCode, signal, during }, 'worker exited; stopping the others');
          code = serving ? EXIT_FAILED : EXIT_NOT_STARTED;
          stopAll();
        } else if (exitCode !== 0) {
          log.error({ worker: worker.id, workerPid: worker.process.pid, code: exitCode, signal }, 'worker did not shut down cleanly');
          if (code === EXIT_OK) code = EXIT_FAILED;
        }
        if (workers.size > 0) return;
        if (killTimer) clearTimeout(killTimer);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        log.info({ code }, 'workers stopped');
        void (metricsServer?.close() ?? Promise.resolve()).catch(() => undefined).then(() => resolve(code));
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    log.info({ workers: config.workers }, 'starting workers');
    fork();
  });
}

/**
 * One worker: a single `serve` process's server, until a signal or until it stops on its own.
 * Its IPC channel would keep it alive after that, so it disconnects to exit.
 */
async function runWorker(config: Config): Promise<number> {
  try {
    if (config.metricsPort > 0) {
      // Before anything slow: from now on this worker answers the primary's scrapes.
      const { serverMetrics } = await import('../../compose/metrics.js');
      serverMetrics(config);
    }
    const { serveUntilSignalled } = await import('../http/server.js');
    return await serveUntilSignalled(config);
  } finally {
    // Also after a failed start, whose error the CLI prints on the stderr the primary shares.
    cluster.worker?.disconnect();
  }
}

function urlOf(address: Address, host: string): string {
  // A worker listening on every address reports none.
  const ip = address.address || host;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${address.port}`;
}
