import { writeSync } from 'node:fs';

/** The shape of fs.writeSync used here: returns how many bytes it wrote (possibly fewer than asked). */
export type WriteSyncFn = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

export interface WriteFullyOptions {
  /** The system call. Default fs.writeSync; tests inject short writes and EAGAIN. */
  writeSync?: WriteSyncFn;
  /** Sleeps synchronously. Default Atomics.wait (no busy loop, nothing scheduled). */
  sleep?: (ms: number) => void;
  /** How long to keep waiting for a blocked descriptor without any progress. Default 10 s. */
  maxBlockedMs?: number;
}

export const DEFAULT_MAX_BLOCKED_MS = 10_000;
const FIRST_WAIT_MS = 1;
const LONGEST_WAIT_MS = 50;
/** Would block or was interrupted: nothing was written, so the same bytes are tried again. */
const RETRY_CODES: ReadonlySet<string> = new Set(['EAGAIN', 'EWOULDBLOCK', 'EBUSY', 'EINTR']);

/** The descriptor stayed blocked past maxBlockedMs, or failed outright, after `written` of `total` bytes. */
export class IncompleteWriteError extends Error {
  constructor(message: string, readonly written: number, readonly total: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IncompleteWriteError';
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for ms without spinning (the value never changes, so the wait always times out). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}

/**
 * Writes every byte of data to fd before returning, synchronously. A non-blocking descriptor
 * (Node and the Lambda runtime put stdout pipes in O_NONBLOCK mode) answers EAGAIN when its
 * pipe is full, and a write may be short: the remaining bytes are retried, waiting 1, 2, 4 …
 * 50 ms between tries, until maxBlockedMs passes without progress.
 */
export function writeFullySync(fd: number, data: Uint8Array, options: WriteFullyOptions = {}): void {
  const write = options.writeSync ?? writeSync;
  const sleep = options.sleep ?? sleepSync;
  const maxBlockedMs = options.maxBlockedMs ?? DEFAULT_MAX_BLOCKED_MS;
  let offset = 0;
  let blockedMs = 0;
  let wait = FIRST_WAIT_MS;
  while (offset < data.length) {
    let written: number;
    try {
      written = write(fd, data, offset, data.length - offset);
    } catch (err) {
      const code = errorCode(err);
      if (code === undefined || !RETRY_CODES.has(code)) {
        throw new IncompleteWriteError(`write to fd ${fd} failed after ${offset} of ${data.length} bytes: ${code ?? String(err)}`, offset, data.length, { cause: err });
      }
      written = 0;
    }
    if (written > 0) {
      offset += written;
      blockedMs = 0;
      wait = FIRST_WAIT_MS;
      continue;
    }
    if (blockedMs >= maxBlockedMs) {
      throw new IncompleteWriteError(`fd ${fd} stayed blocked for ${blockedMs} ms after ${offset} of ${data.length} bytes`, offset, data.length);
    }
    sleep(wait);
    blockedMs += wait;
    wait = Math.min(wait * 2, LONGEST_WAIT_MS);
  }
}
