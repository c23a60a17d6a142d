import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { type SourcedRecord, storeRecords } from '../../../app/journal-source.js';
import { verifyJournal } from '../../../app/verify-journal.js';
import { openStore } from '../../../compose/open-store.js';
import { redactStoreUrl } from '../../../config/store-url.js';
import type { ChainReport } from '../../../core/chain-verifier.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

/** Lines longer than this are not records (a record is well under 16 KiB). */
const LINE_BYTES_MAX = 1024 * 1024;

export function registerVerify(program: Command, setCode: (code: number) => void): void {
  withSettings(program.command('verify').description('verify the journal: exit 0 valid, 1 invalid, 2 could not run'), STORE_FLAGS)
    .option('--file <path>', 'verify a JSONL export instead of a store')
    .option('--json', 'print the result as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const file = typeof opts.file === 'string' ? opts.file : null;
      const progress = process.stderr.isTTY && !opts.json
        ? (n: number) => process.stderr.write(`\rverifying… ${n.toLocaleString('en-US')} records`)
        : undefined;
      let report: ChainReport;
      let target: string;
      if (file) {
        target = file;
        report = await verifyJournal(fileRecords(file), { ...(progress && { onProgress: progress }) });
      } else {
        target = redactStoreUrl(config.storeUrl);
        const store = await openStore(config);
        try {
          report = await verifyJournal(storeRecords(store.journal), { journal: config.journalName, ...(progress && { onProgress: progress }) });
        } finally {
          await store.close();
        }
      }
      if (progress) process.stderr.write('\r\x1b[K');
      process.stdout.write(opts.json ? `${JSON.stringify(toJson(report, target), null, 2)}\n` : toText(report, target));
      setCode(report.problems.length === 0 ? 0 : 1);
    });
}

/** Reads a JSONL export line by line; an unreadable line is passed on as a malformed record. */
export async function* fileRecords(path: string): AsyncGenerator<SourcedRecord> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown = null;
    if (text.length <= LINE_BYTES_MAX) {
      try {
        value = JSON.parse(text);
      } catch {
        value = null;
      }
    }
    yield { value, at: { line } };
  }
}

function toText(report: ChainReport, target: string): string {
  const out: string[] = [`Validating journal in ${target}`, ''];
  for (const p of report.problems) {
    out.push(`INVALID: stream ${p.stream}${p.seq === null ? '' : ` seq ${p.seq}`}: ${p.kind.replace(/_/g, ' ')} — ${p.message}`);
  }
  if (report.problems.length > 0) out.push('');
  const valid = report.streams.filter((s) => s.valid).length;
  const open = report.streams.filter((s) => !s.stopped).length;
  out.push(`${valid}/${report.streams.length} streams valid, ${report.records.toLocaleString('en-US')} records, 0 checkpoints`);
  if (open > 0) out.push(`${open} stream${open === 1 ? '' : 's'} still open or ended without journal.stopped`);
  return `${out.join('\n')}\n`;
}

function toJson(report: ChainReport, target: string): unknown {
  return {
    target,
    valid: report.problems.length === 0,
    streams: report.streams,
    streamsValid: report.streams.filter((s) => s.valid).length,
    records: report.records,
    checkpoints: 0,
    problems: report.problems,
  };
}
