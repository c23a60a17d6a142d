import type { Command } from 'commander';
import { serveUntilSignalled } from '../../http/server.js';
import { configFrom, withSettings } from '../options.js';

export function registerServe(program: Command): void {
  withSettings(program.command('serve').description('serve the HTTP API'))
    .action(async (opts: Record<string, unknown>) => {
      await serveUntilSignalled(configFrom(opts));
    });
}
