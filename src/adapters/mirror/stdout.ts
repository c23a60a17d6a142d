import { type AuditRecord, recordLine } from '../../core/audit-record.js';
import type { AuditMirror } from '../../ports/audit-mirror.js';
import { type SignedHead, headLine } from '../../core/signed-head.js';
import { IncompleteWriteError, type WriteSyncFn, writeFullySync } from './write-sync.js';
import { redactJsonText } from '../../core/redact.js';

export interface StdoutMirrorOptions {
  /** The descriptor written with fs.writeSync. Default 1 (stdout). */
  fd?: number;
  /**
   * Replaces the descriptor: receives each batch as one string of complete lines (each ending
   * in "\n") and must write all of it or throw.
   */
  write?: (text: string) => void;
  /** The system call behind fd (tests inject short writes and EAGAIN). Default fs.writeSync. */
  writeSync?: WriteSyncFn;
  /** Synchronous sleep between EAGAIN retries. Default Atomics.wait. */
  sleep?: (ms: number) => void;
  /** Give a blocked descriptor this long without progress before the batch is given up. Default 10 s. */
  maxBlockedMs?: number;
  /** A batch that could not be written. Default: one line on stderr. publish() never throws. */
  onError?: (err: unknown) => void;
}

/**
 * The Lambda audit mirror: every record as one JSON line (exactly recordLine) on stdout, which
 * the Lambda runtime ships to CloudWatch Logs. Written synchronously inside publish(), so once
 * publish returns the bytes are in the pipe: a frozen or killed execution environment loses
 * nothing, and flush() and close() have nothing to do. A batch goes out as one buffer.
 */
export function createStdoutMirror(options: StdoutMirrorOptions = {}): AuditMirror {
  const fd = options.fd ?? 1;
  const onError = options.onError ?? reportToStderr;
  const write = options.write ?? ((text: string): void => {
    writeFullySync(fd, Buffer.from(text, 'utf8'), {
      ...(options.writeSync && { writeSync: options.writeSync }),
      ...(options.sleep && { sleep: options.sleep }),
      ...(options.maxBlockedMs !== undefined && { maxBlockedMs: options.maxBlockedMs }),
    });
  });
  /** A batch given up half-way left a partial line behind: end it before the next one. */
  let torn = false;

  return {
    publish(records: readonly AuditRecord[], head: SignedHead | null = null): void {
      if (records.length === 0) return;
      let text = torn ? '\n' : '';
      for (const record of records) text += `${recordLine(record)}\n`;
      if (head) text += `${headLine(head)}\n`;
      try {
        write(text);
        torn = false;
      } catch (err) {
        if (err instanceof IncompleteWriteError && err.written > 0) torn = true;
        try {
          onError(err);
        } catch {
          // publish must not throw: the records are already durable in the store.
        }
      }
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
}

function reportToStderr(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  try {
    // An error's message can quote what failed to be written: masked like every log line.
    writeFullySync(2, Buffer.from(`${redactJsonText(JSON.stringify({ level: 'error', message: `audit mirror (stdout): ${message}` }))}\n`), { maxBlockedMs: 100 });
  } catch {
    // Nowhere left to report to.
  }
}
