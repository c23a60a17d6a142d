import type { Command } from 'commander';
import { storeRecords } from '../../../app/journal-source.js';
import { openStore } from '../../../compose/open-store.js';
import { recordLine, type AuditRecord } from '../../../core/audit-record.js';
import { headLine, headOfLine } from '../../../core/signed-head.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

/** Lines buffered before a write to stdout: fewer syscalls, bounded memory. */
const WRITE_LINES_MAX = 1_000;

export function registerExport(program: Command): void {
  withSettings(program.command('export').description('write the journal as JSONL to stdout, stream by stream in seq order, each followed by its signed head'), STORE_FLAGS)
    .option('--since <time>', 'only records at or after this RFC 3339 time')
    .action(async (opts: Record<string, unknown>) => {
      const since = typeof opts.since === 'string' ? normalizeSince(opts.since) : undefined;
      const store = await openStore(configFrom(opts));
      try {
        let buffer: string[] = [];
        for await (const batch of storeRecords(store.journal, since)) {
          for (const { value } of batch) {
            const head = headOfLine(value);
            buffer.push(head ? headLine(head) : recordLine(value as AuditRecord));
            if (buffer.length >= WRITE_LINES_MAX) {
              await write(`${buffer.join('\n')}\n`);
              buffer = [];
            }
          }
        }
        if (buffer.length > 0) await write(`${buffer.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}

function normalizeSince(raw: string): string {
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new Error(`--since: must be an RFC 3339 time, got "${raw}"`);
  return new Date(ms).toISOString();
}

/** Waits for stdout to drain so a large export never buffers in memory. */
function write(chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}
