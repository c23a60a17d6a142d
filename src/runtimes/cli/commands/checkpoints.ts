import { closeSync, createReadStream, existsSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { PublishedInput } from '../../../app/verify-journal.js';
import { secretFlagError } from '../../../config/settings.js';
import {
  type PublishedCheckpoint, checkpointListOf, parsePublished, publishedLine, publishedOf, streamCheckpointKey,
} from '../../../core/published-checkpoints.js';

/** A checkpoint list larger than this is refused (a list of 100,000 streams is about 60 MB). */
export const CHECKPOINTS_RESPONSE_BYTES_MAX = 128 * 1024 * 1024;
/** Time the whole fetch may take, answer included. */
export const CHECKPOINTS_FETCH_TIMEOUT_MS = 30_000;
/** A line of a published-checkpoints file longer than this is not one (a note is at most 64 KiB). */
export const PUBLISHED_LINE_BYTES_MAX = 256 * 1024;
/** Of a non-2xx answer, this much is read to say what it was. */
const ERROR_BODY_BYTES_MAX = 4096;

export function registerCheckpoints(program: Command): void {
  const checkpoints = program.command('checkpoints').description('keep the journal\'s published checkpoints outside it, for `paylog verify --checkpoints`');
  checkpoints.command('fetch')
    .description("GET <url>/v1/audit/checkpoints and keep what it returns — the journal tree's checkpoint with its cosignatures, and every stream's — as JSON lines")
    .option('--url <url>', 'the paylog server [PAYLOG_URL]', process.env.PAYLOG_URL ?? 'http://127.0.0.1:3000')
    // Registered only to refuse it with the alternative: a secret on a command line is read by every local user (ps).
    .option('--key <secret>', 'refused: give an auditor key (keys create --role auditor), sent as a bearer token, in PAYLOG_API_KEY')
    .option('--out <file>', 'append to this file (made if missing), each stream checkpoint once; without it, the lines are printed')
    .action(async (opts: { url: string; key?: string; out?: string }) => {
      if (opts.key !== undefined) throw secretFlagError('PAYLOG_API_KEY', 'key', 'PAYLOG_API_KEY');
      const base = opts.url.replace(/\/+$/, '');
      const fetchedAt = new Date().toISOString();
      const answer = await fetchCheckpointList(base, process.env.PAYLOG_API_KEY || undefined);
      const lines = publishedOf(answer, fetchedAt, base);
      if (opts.out === undefined) {
        if (lines.length > 0) process.stdout.write(`${lines.map(publishedLine).join('\n')}\n`);
        return;
      }
      const kept = await keptStreamCheckpoints(opts.out);
      const fresh = lines.filter((cp) => cp.kind === 'journal' || !kept.has(streamCheckpointKey(cp)));
      appendLines(opts.out, fresh.map(publishedLine));
      process.stderr.write(`${describe(fresh, lines, opts.out)}\n`);
    });
}

/** GETs the checkpoint list: one-line errors for a server that cannot be reached, a non-2xx answer, or one too large. */
export async function fetchCheckpointList(base: string, secret: string | undefined): Promise<ReturnType<typeof checkpointListOf>> {
  const url = `${base}/v1/audit/checkpoints`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', ...(secret !== undefined && { authorization: `Bearer ${secret}` }) },
      signal: AbortSignal.timeout(CHECKPOINTS_FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`cannot reach ${base}: ${reasonOf(err)}`);
  }
  if (!response.ok) {
    const body = await readBounded(response, ERROR_BODY_BYTES_MAX, url).catch(() => '');
    throw new Error(`${url} answered ${response.status}${errorCodeOf(body)}`);
  }
  const text = await readBounded(response, CHECKPOINTS_RESPONSE_BYTES_MAX, url);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} did not answer JSON`);
  }
  try {
    return checkpointListOf(body);
  } catch (err) {
    throw new Error(`${url} did not answer a checkpoint list: ${reasonOf(err)}`);
  }
}

/** The body as text, refused past `limit` bytes (announced or read) without reading the rest. */
async function readBounded(response: Response, limit: number, url: string): Promise<string> {
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  const tooLarge = (): Error => new Error(`${url} answered more than ${limit.toLocaleString('en-US')} bytes`);
  if (announced > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (bytes > limit) throw err;
    throw new Error(`${url}: the answer broke off: ${reasonOf(err)}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorCodeOf(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? ` (${code.slice(0, 80)})` : '';
  } catch {
    return '';
  }
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? cause.message : err.name === 'TimeoutError' ? `no answer within ${CHECKPOINTS_FETCH_TIMEOUT_MS / 1000} s` : err.message;
  return (detail.split('\n')[0] ?? '').slice(0, 200);
}

/** Keys of the stream checkpoints a file already holds (none when it does not exist yet). */
async function keptStreamCheckpoints(path: string): Promise<Set<string>> {
  const kept = new Set<string>();
  if (!existsSync(path)) return kept;
  for await (const batch of publishedLines(path)) {
    for (const { value } of batch) {
      const cp = parsePublished(value);
      if (!('error' in cp) && cp.kind === 'stream') kept.add(streamCheckpointKey(cp));
    }
  }
  return kept;
}

/**
 * Appends lines in one write and makes them durable before saying so. A file whose last line
 * was cut short (a crash mid-write) gets a line break first, so the new lines stay whole.
 */
function appendLines(path: string, lines: string[]): void {
  if (lines.length === 0) return;
  const fd = openSync(path, 'a+', 0o644);
  try {
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, `${prefix}${lines.join('\n')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function describe(fresh: PublishedCheckpoint[], all: PublishedCheckpoint[], path: string): string {
  const journal = fresh.find((cp) => cp.kind === 'journal');
  const streams = fresh.length - (journal ? 1 : 0);
  const known = all.length - fresh.length;
  // Not verified here: signature lines under another name than the journal's are, in an honest answer, witnesses'.
  const cosignatures = journal ? journal.note.slice(journal.note.lastIndexOf('\n\n') + 2).split('\n').filter((l) => l !== '' && !l.startsWith(`\u2014 ${journal.journal} `)).length : 0;
  const tree = journal
    ? `the journal tree checkpoint of size ${journal.size} with ${cosignatures} cosignature${cosignatures === 1 ? '' : 's'}`
    : 'no journal tree checkpoint (the server has none yet)';
  return `${path}: kept ${tree} and ${streams} new stream checkpoint${streams === 1 ? '' : 's'}${known > 0 ? ` (${known} already kept)` : ''}`;
}

/**
 * A published-checkpoints file, a batch of lines at a time: each non-blank line parsed as
 * JSON (null when it is not, or longer than PUBLISHED_LINE_BYTES_MAX), with its line number.
 */
export async function* publishedLines(path: string): AsyncGenerator<PublishedInput[]> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  let batch: PublishedInput[] = [];
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown = null;
    if (text.length <= PUBLISHED_LINE_BYTES_MAX) {
      try {
        value = JSON.parse(text);
      } catch {
        value = null;
      }
    }
    batch.push({ value, line });
    if (batch.length >= 1_000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
