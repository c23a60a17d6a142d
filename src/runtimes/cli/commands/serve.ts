import type { Command } from 'commander';
import { configFrom, settingsAsEnv, withSettings } from '../options.js';

export function registerServe(program: Command, setCode: (code: number) => void): void {
  withSettings(program.command('serve').description('serve the HTTP API (--workers N: N processes sharing the port)'))
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      // Loaded on demand: a cluster primary needs neither the HTTP app nor the store.
      if (config.workers === 1) {
        const { serveUntilSignalled } = await import('../../http/server.js');
        setCode(await serveUntilSignalled(config));
      } else {
        const { serveWorkers } = await import('../cluster.js');
        setCode(await serveWorkers(config, settingsAsEnv(opts)));
      }
    });
}
