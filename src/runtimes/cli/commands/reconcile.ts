import type { Command } from 'commander';
import { reconcile } from '../../../app/reconcile.js';
import { startServices } from '../../../compose/services.js';
import { configFrom, withSettings } from '../options.js';

export function registerReconcile(program: Command): void {
  withSettings(program.command('reconcile').description('resolve payments left processing'), ['store', 'data-dir', 'journal', 'reconcile-after-ms', 'gateway-latency-ms'])
    .action(async (opts: Record<string, unknown>) => {
      const services = await startServices(configFrom(opts), { role: 'cli' });
      try {
        let total = 0;
        for (;;) {
          const result = await reconcile(services.ctx, services.system);
          for (const { id, status } of result.resolved) process.stdout.write(`${id}  processing → ${status}\n`);
          for (const id of result.unresolved) process.stdout.write(`${id}  still processing (gateway did not answer)\n`);
          for (const id of result.overtaken) process.stdout.write(`${id}  settled by another reconciler (this one stalled past its claim)\n`);
          total += result.resolved.length;
          if (result.resolved.length === 0) break;
        }
        process.stdout.write(`Reconciled ${total} payment${total === 1 ? '' : 's'}.\n`);
      } finally {
        await services.close();
      }
    });
}
