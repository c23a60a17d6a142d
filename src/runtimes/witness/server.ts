import type { FastifyInstance } from 'fastify';
import type { WitnessConfig } from '../../config/witness.js';
import { openWitness } from '../../compose/witness.js';
import { cosignerKeyOf } from '../../core/cosignature.js';
import { buildWitnessApp } from './app.js';

export interface RunningWitness {
  app: FastifyInstance;
  url: string;
  /** Stops accepting, lets in-flight requests finish, closes the store. */
  stop(): Promise<void>;
}

/** Starts `paylog witness serve` on the configured address. */
export async function startWitnessServer(config: WitnessConfig): Promise<RunningWitness> {
  const opened = openWitness(config);
  let app: FastifyInstance;
  let url: string;
  try {
    app = await buildWitnessApp({ witness: opened.witness, prefix: config.prefix, logger: { level: config.logLevel, base: { service: 'paylog-witness' } } });
    url = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    opened.close();
    throw err;
  }
  const origins = [...opened.witness.logs.keys()];
  app.log.info({ url: `${url}${config.prefix}`, key: cosignerKeyOf(opened.witness.cosigner), logs: origins }, 'paylog witness serving');
  if (origins.length === 0) app.log.warn('no logs configured (--log / PAYLOG_WITNESS_LOGS): every checkpoint gets a 404');
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= app.close().finally(() => opened.close());
    return stopping;
  };
  return { app, url, stop };
}

/** Runs the witness until SIGTERM or SIGINT; resolves with the exit code (0 after a clean stop). */
export async function serveWitnessUntilSignalled(config: WitnessConfig): Promise<number> {
  let wake: (signal: NodeJS.Signals) => void = () => undefined;
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled ??= signal;
    wake(signal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const server = await startWitnessServer(config);
    const signal = signalled ?? await new Promise<NodeJS.Signals>((resolve) => { wake = resolve; });
    server.app.log.info({ signal }, 'shutting down');
    try {
      await server.stop();
      return 0;
    } catch (err) {
      server.app.log.error({ err }, 'shutdown failed');
      return 1;
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
