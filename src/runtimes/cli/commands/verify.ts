import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SourcedRecord } from '../../../app/journal-source.js';
import { verifyRecords } from '../../../app/verify-journal.js';
import { verifyStoreShared } from '../../../app/verify-streams.js';
import { openStore } from '../../../compose/open-store.js';
import { redactStoreUrl } from '../../../config/store-url.js';
import type { ChainReport } from '../../../core/chain-verifier.js';
import type { TrustedKey } from '../../../core/checkpoint.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';
import { localTrustedKeys, parseDuration, trustedKeysFrom } from '../trusted-keys.js';
import { limitHeapGrowth } from '../../heap-growth.js';
import { verifyThreads } from '../verify-threads.js';
import { collect, witnessPolicyFrom } from '../witness-keys.js';
import { publishedLines } from './checkpoints.js';

/** Lines longer than this are not records (a record is well under 16 KiB). */
const LINE_BYTES_MAX = 1024 * 1024;
/** For a store, an open stream whose newest checkpoint is older than this is stale (default checkpoints come every minute). */
export const DEFAULT_MAX_CHECKPOINT_AGE = '15m';
/** How far ahead of this machine's clock a record or signature may be dated (NTP keeps hosts well within it). */
export const DEFAULT_MAX_CLOCK_SKEW = '5m';

export function registerVerify(program: Command, setCode: (code: number) => void): void {
  withSettings(program.command('verify').description('verify the journal: exit 0 valid, 1 invalid, 2 could not run'), [...STORE_FLAGS, 'signing-key-file', 'jobs'])
    .option('--file <path>', 'verify a JSONL export instead of a store')
    .option('--key <verifier-key>', 'a trusted checkpoint key (repeatable) [PAYLOG_VERIFY_KEY]', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--keys <file>', 'a file of trusted keys with validity windows [PAYLOG_VERIFY_KEYS]', process.env.PAYLOG_VERIFY_KEYS)
    .option('--max-checkpoint-age <duration>', `an open stream's newest checkpoint may be this old (default ${DEFAULT_MAX_CHECKPOINT_AGE} for a store, unchecked for a file)`)
    .option('--max-clock-skew <duration>', 'records and signatures may be dated this far after now, and a signature this far before the records it covers', DEFAULT_MAX_CLOCK_SKEW)
    .option('--checkpoints <file>', 'checkpoints published outside the journal (`paylog checkpoints fetch`): the journal must contain and consistently extend each')
    .option('--witness-key <vkey>', "a witness's cosignature key (repeatable; see `paylog witness key`)", collect, [] as string[])
    .option('--witness-quorum <n>', "valid cosignatures of those witnesses the journal tree's newest checkpoint must carry (default: all of them)")
    .option('--json', 'print the result as JSON')
    .action(async (opts: Record<string, unknown>) => {
      // A long verify allocates steadily and keeps little: without this its heap grew past 210 MB (docs/performance.md).
      limitHeapGrowth();
      const config = configFrom(opts);
      const file = typeof opts.file === 'string' ? opts.file : null;
      const checkpoints = typeof opts.checkpoints === 'string' ? opts.checkpoints : null;
      const witnesses = witnessPolicyFrom(opts.witnessKey as string[], typeof opts.witnessQuorum === 'string' ? opts.witnessQuorum : undefined);
      if (witnesses && file && !checkpoints) {
        throw new Error('--witness-quorum: an export holds no journal tree checkpoint; verify the store, or give --checkpoints with the published ones');
      }
      if (checkpoints) await assertReadable(checkpoints);
      const given = [...(opts.key as string[]), ...(process.env.PAYLOG_VERIFY_KEY ? [process.env.PAYLOG_VERIFY_KEY] : [])];
      let trusted: TrustedKey[] = trustedKeysFrom(given, typeof opts.keys === 'string' ? opts.keys : undefined);
      let keySource = `${trusted.length} key${trusted.length === 1 ? '' : 's'} given`;
      if (trusted.length === 0) {
        const local = localTrustedKeys(config);
        if (!local) throw new Error('no verifier key: pass --key <verifier key> (see `paylog keys public`) or --keys <file>');
        trusted = local.keys;
        keySource = `the local signing key (${local.source}); pass --key to verify against a published key`;
      }
      const age = typeof opts.maxCheckpointAge === 'string' ? opts.maxCheckpointAge : file ? undefined : DEFAULT_MAX_CHECKPOINT_AGE;
      const progress = process.stderr.isTTY && !opts.json ? progressBar() : undefined;
      const options = {
        trusted,
        // Every commit is signed: a record no signature covers was never signed by the journal's key.
        requireCoverage: true,
        nowMs: Date.now(),
        maxClockSkewMs: durationFlag('--max-clock-skew', String(opts.maxClockSkew)),
        ...(age !== undefined && { maxCheckpointAgeMs: durationFlag('--max-checkpoint-age', age) }),
        ...(progress && { onProgress: progress }),
        ...(checkpoints && { published: publishedLines(checkpoints), publishedName: checkpoints }),
        ...(witnesses && { witnesses }),
      };
      let report: ChainReport;
      let target: string;
      const fileStats: FileStats = { skipped: 0 };
      if (file) {
        target = file;
        report = await verifyRecords(fileRecords(file, fileStats), { ...options, ...(typeof opts.journal === 'string' && { journal: opts.journal }) });
      } else {
        target = redactStoreUrl(config.storeUrl);
        // verify writes nothing: a SQLite store opens without its write thread, and its threads' likewise.
        const store = await openStore(config, { readOnly: true });
        try {
          // A store held in memory is this process's alone: another thread would open an empty one.
          const inMemory = config.store.kind === 'memory' || (config.store.kind === 'sqlite' && config.store.path === ':memory:');
          report = await verifyStoreShared(store.journal, { ...options, journal: config.journalName, journalTree: store.journalTree }, inMemory ? 1 : config.verifyJobs, verifyThreads(config));
        } finally {
          await store.close();
        }
      }
      if (progress) process.stderr.write('\r\x1b[K');
      if (fileStats.skipped > 0) keySource += `\nSkipped ${fileStats.skipped.toLocaleString('en-US')} lines that are not audit records (logs, metrics)`;
      process.stdout.write(opts.json ? `${JSON.stringify({ ...(toJson(report, target) as object), skippedLines: fileStats.skipped }, null, 2)}\n` : toText(report, target, keySource));
      setCode(report.problems.length === 0 ? 0 : 1);
    });
}

/** A duration flag's value in ms; a bad one names its flag. */
function durationFlag(flag: string, raw: string): number {
  try {
    return parseDuration(raw);
  } catch {
    throw new Error(`${flag}: expected a duration such as 90s, 5m or 2h, got "${raw}"`);
  }
}

function progressBar(): (n: number) => void {
  const started = Date.now();
  return (n) => {
    const rate = n / Math.max(0.001, (Date.now() - started) / 1000);
    process.stderr.write(`\rverifying… ${n.toLocaleString('en-US')} records (${Math.round(rate).toLocaleString('en-US')}/s)`);
  };
}

export interface FileStats {
  /** JSON lines that are plainly neither audit records nor signed heads (operational logs, EMF metrics in a CloudWatch export). */
  skipped: number;
}

/** Read size: large reads, and one batch of records per read. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Line breaks as readline knows them: LF, CRLF, and a lone CR. */
const LINE_BREAK = /\r\n|\n|\r/;

/**
 * Reads a JSONL export line by line, a batch of records per read; an unreadable line is passed
 * on as a malformed record. A CloudWatch Logs export interleaves audit records with operational
 * log and metric lines, and S3 exports prefix each line with a timestamp: such prefixes are
 * dropped, and JSON objects with none of a record's identifying fields are counted and
 * skipped. (A record stripped of those fields is still caught: its seq goes missing.) Head
 * lines (`{"head":{…}}`) are passed on: the verifier takes them as signed heads.
 */
export async function* fileRecords(path: string, stats: FileStats = { skipped: 0 }, chunkBytes = READ_CHUNK_BYTES): AsyncGenerator<SourcedRecord[]> {
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes });
  let line = 0;
  let rest = '';
  const parse = (lines: string[]): SourcedRecord[] => {
    const batch: SourcedRecord[] = [];
    for (const raw of lines) {
      line++;
      const value = parseLine(raw);
      if (value === SKIP) continue;
      if (isOtherJson(value)) {
        stats.skipped++;
        continue;
      }
      batch.push({ value, at: { line } });
    }
    return batch;
  };
  for await (const chunk of input as AsyncIterable<string>) {
    let text = rest + chunk;
    // A CR at the end may be the first half of a CRLF split across reads.
    const heldCr = text.endsWith('\r');
    if (heldCr) text = text.slice(0, -1);
    // A plain split where there is no CR at all (the usual export): the regular expression costs more per line.
    const lines = text.includes('\r') ? text.split(LINE_BREAK) : text.split('\n');
    rest = (lines.pop() ?? '') + (heldCr ? '\r' : '');
    const batch = parse(lines);
    if (batch.length > 0) yield batch;
  }
  // What follows the last line break: a last line without one, and a held CR.
  const tail = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  const last = parse(tail === '' ? [] : [tail]);
  if (last.length > 0) yield last;
}

const SKIP = Symbol('blank line');

function parseLine(raw: string): unknown {
  // The usual line is a bare JSON object: no prefix to drop, not blank.
  if (raw.charCodeAt(0) === OPEN_BRACE) return raw.length > LINE_BYTES_MAX ? null : parseJson(raw);
  const brace = raw.indexOf('{');
  const text = brace > 0 && /^\S+ $/.test(raw.slice(0, brace)) ? raw.slice(brace) : raw;
  if (text.trim() === '') return SKIP;
  if (text.length > LINE_BYTES_MAX) return null;
  return parseJson(text);
}

const OPEN_BRACE = '{'.charCodeAt(0);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isOtherJson(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return !('hash' in value) && !('seq' in value) && !('stream' in value) && !('prev' in value) && !('head' in value);
}

const END_LABELS = { stopped: 'stopped', sealed_after_crash: 'sealed after a crash', open: 'open' } as const;

function toText(report: ChainReport, target: string, keySource: string): string {
  const out: string[] = [`Validating journal in ${target}`, `Checkpoint keys: ${keySource}`, ''];
  for (const p of report.problems) {
    out.push(`INVALID: stream ${p.stream}${p.seq === null ? '' : ` seq ${p.seq}`}: ${p.kind.replace(/_/g, ' ')} — ${p.message}`);
  }
  if (report.problems.length > 0) out.push('');
  out.push(...treeLines(report));
  for (const s of report.streams) {
    const uncovered = s.uncovered > 0 ? `, ${s.uncovered.toLocaleString('en-US')} not covered by a signature` : '';
    out.push(`${s.valid ? 'valid  ' : 'INVALID'}  ${s.stream}  ${s.records.toLocaleString('en-US')} records, ${s.checkpoints} checkpoint${s.checkpoints === 1 ? '' : 's'}, ${END_LABELS[s.end]}${uncovered}`);
  }
  out.push('');
  const valid = report.streams.filter((s) => s.valid).length;
  out.push(`${valid}/${report.streams.length} streams valid, ${report.records.toLocaleString('en-US')} records, ${report.checkpoints.toLocaleString('en-US')} checkpoints`);
  return `${out.join('\n')}\n`;
}

function toJson(report: ChainReport, target: string): unknown {
  return {
    target,
    valid: report.problems.length === 0,
    streams: report.streams,
    streamsValid: report.streams.filter((s) => s.valid).length,
    records: report.records,
    checkpoints: report.checkpoints,
    journalTree: report.journalTree ?? null,
    problems: report.problems,
  };
}

/** What the journal tree, the published checkpoints and the witnesses came to. */
function treeLines(report: ChainReport): string[] {
  const tree = report.journalTree;
  if (!tree) return [];
  const n = (count: number, one: string, many: string): string => `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
  const out: string[] = [];
  if (tree.leaves !== null) {
    out.push(tree.headSize === null && tree.leaves === 0
      ? 'journal tree: none (a store written before the journal tree, or before its first checkpoint)'
      : `journal tree: ${n(tree.leaves, 'leaf', 'leaves')}, signed head of size ${tree.headSize ?? 'none'}`);
  }
  const { journal, streams, unchecked } = tree.published;
  if (journal + streams + unchecked > 0) {
    const held = [unchecked === 0 && journal > 0 ? n(journal, 'journal tree checkpoint', 'journal tree checkpoints') : '', streams > 0 ? n(streams, 'stream checkpoint', 'stream checkpoints') : '']
      .filter(Boolean).join(' and ');
    out.push(`published: ${held || 'nothing'} held against the journal${unchecked > 0 ? `; ${n(unchecked, 'journal tree checkpoint', 'journal tree checkpoints')} not (an export holds no journal tree)` : ''}`);
  }
  if (tree.witnesses) {
    const w = tree.witnesses;
    out.push(`witnesses: ${w.valid} valid cosignature${w.valid === 1 ? '' : 's'} of ${w.required} required${w.checkpointSize === null ? '' : ` on the journal tree checkpoint of size ${w.checkpointSize}`}`);
  }
  return out.length > 0 ? [...out, ''] : [];
}

/** A checkpoints file that cannot be read stops verify before it starts (exit 2), not halfway. */
async function assertReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new Error(`--checkpoints: cannot read ${path}`);
  }
}
