import {
  ChainVerifier, type ChainReport, DEFAULT_MAX_CLOCK_SKEW_MS, JOURNAL_TREE_STREAM, type JournalTreeSummary, type Problem, type VerifierOptions,
} from '../core/chain-verifier.js';
import { JournalTreeVerifier } from '../core/journal-tree-verifier.js';
import { PINS_MAX, type Pin } from '../core/pinned-roots.js';
import { type PublishedCheckpoint, checkPublished, parsePublished } from '../core/published-checkpoints.js';
import { headOfLine } from '../core/signed-head.js';
import { type WitnessPolicy, checkQuorum } from '../core/witness-quorum.js';
import type { JournalStore } from '../ports/journal-store.js';
import type { JournalTreeHead, JournalTreeStore } from '../ports/journal-tree-store.js';
import { type SourcedRecord, storeRecords } from './journal-source.js';
import { cosignedNote } from './journal-tree-proofs.js';

/** One line of a published-checkpoints file, parsed as JSON (null when it is not JSON), with its line number. */
export interface PublishedInput {
  value: unknown;
  line: number;
}

export interface VerifyOptions extends VerifierOptions {
  onProgress?: (records: number) => void;
  /** The store's journal tree: its leaves and signed head are checked, and every stream held to its leaves. */
  journalTree?: JournalTreeStore;
  /** Checkpoints kept outside the journal (`paylog checkpoints fetch`): the journal must contain and extend each. */
  published?: AsyncIterable<PublishedInput[]>;
  /** Witnesses whose cosignatures the journal tree's newest checkpoint must carry, and how many. */
  witnesses?: WitnessPolicy;
}

/** Progress is reported every this many records. */
export const PROGRESS_EVERY_RECORDS = 10_000;
/** Leaves read per store round trip. */
export const TREE_READ_PAGE_LEAVES = 1_000;
/** The stream named by problems with the published-checkpoints file itself (a line that is not one). */
export const PUBLISHED_STREAM = '(published)';

/**
 * Verifies every record of a source (an export, a mirror's lines) in one pass; memory is
 * bounded per stream. An export holds no journal tree: published stream checkpoints are held
 * against its streams, published journal tree checkpoints only have their signatures (and,
 * with a witness policy, the newest its cosignatures) checked.
 */
export async function verifyRecords(source: AsyncIterable<SourcedRecord[]>, options: VerifyOptions = {}): Promise<ChainReport> {
  const published = options.published ? await readPublished(options.published, options.journal, options) : null;
  const journal = options.journal ?? published?.journal;
  const verifier = new ChainVerifier({ ...options, ...(journal !== undefined && { journal }) });
  const problems: Problem[] = [];
  if (published) {
    holdStreams(verifier, published);
    problems.push(...published.problems);
  }
  const summary = published || options.witnesses ? summaryOf(null, null, published) : undefined;
  if (summary && published) summary.published.unchecked = published.journalPins.length;
  if (options.witnesses && summary) problems.push(...witnessProblems(published?.newest ?? null, options.witnesses, summary));
  return withTree(await run(verifier, source, options), problems, summary);
}

/**
 * Verifies a store: every stream in seq order, plus the latest checkpoint the store keeps
 * of each stream, so a stream cut back below its last checkpoint is caught even when the
 * checkpoint records went with it; with `journalTree`, the journal tree too, and every
 * stream against every checkpoint of it the tree holds, so a stream rolled back, rewritten
 * or deleted with its checkpoints contradicts the tree. A store written before the journal
 * tree existed has no head and no leaves: there is nothing to check.
 */
export async function verifyStore(journal: JournalStore, options: VerifyOptions = {}): Promise<ChainReport> {
  const prepared = await prepareStore(journal, options, (verifierOptions) => new ChainVerifier(verifierOptions));
  return withTree(await run(prepared.verifier, storeRecords(journal), options), prepared.problems, prepared.summary);
}

/** What a stream's verifier is told about it before its records: the calls verifyStore makes first. */
export type StreamSetup = Pick<ChainVerifier, 'expectCheckpoint' | 'expectPinned' | 'expectStopped' | 'reportProblem'>;

export interface PreparedStore<T extends StreamSetup> {
  verifier: T;
  /** The verifier's options: every stream's verifier gets these. */
  verifierOptions: VerifierOptions;
  /** Problems of the journal tree, published checkpoints and witnesses: reported before every stream's. */
  problems: Problem[];
  summary: JournalTreeSummary | undefined;
}

/**
 * Everything verifyStore checks before a stream's records: the published checkpoints, the
 * journal tree and the witnesses; and, told to `verifier` as the expectations streams are held
 * to, the tree's and the published checkpoints, the checkpoints the store keeps and the
 * streams it says were stopped.
 */
export async function prepareStore<T extends StreamSetup>(journal: JournalStore, options: VerifyOptions, make: (options: VerifierOptions) => T): Promise<PreparedStore<T>> {
  const published = options.published ? await readPublished(options.published, options.journal, options) : null;
  const journalName = options.journal ?? published?.journal;
  // Every commit stores a signed head, so every record a store holds must be covered by one.
  const verifierOptions: VerifierOptions = { requireCoverage: true, ...verifierOnly(options), ...(journalName !== undefined && { journal: journalName }) };
  const verifier = make(verifierOptions);
  const problems: Problem[] = [];
  let pins = 0;
  if (published) {
    pins += holdStreams(verifier, published);
    problems.push(...published.problems);
  }
  let summary: JournalTreeSummary | undefined;
  if (options.journalTree && journalName !== undefined && options.trusted) {
    const tree = new JournalTreeVerifier({
      journal: journalName, trusted: options.trusted,
      ...(options.nowMs !== undefined && { nowMs: options.nowMs }),
      ...(options.maxClockSkewMs !== undefined && { maxClockSkewMs: options.maxClockSkewMs }),
      ...(options.publishedName !== undefined && { publishedName: options.publishedName }),
    });
    for (const pin of published?.journalPins ?? []) tree.expectPublished(pin.size, pin.root, pin.ref);
    const head = await readTree(options.journalTree, journalName, tree, (stream, pin) => {
      if (++pins > PINS_MAX) throw new Error(`the journal tree and the published checkpoints hold more than ${PINS_MAX.toLocaleString('en-US')} checkpoints: more than verify holds in memory`);
      verifier.expectPinned(stream, pin);
    });
    problems.push(...tree.finish(head));
    summary = summaryOf(tree.leaves, head, published);
    if (options.witnesses) {
      // The newest journal checkpoint published, if any was; else the store's head with the cosignatures it keeps.
      const target = published?.newest ?? (head ? { size: head.size, note: cosignedNote(head.note, head.cosignatures), source: 'the journal tree head' } : null);
      problems.push(...witnessProblems(target, options.witnesses, summary));
    }
  } else if (published || options.witnesses) {
    summary = summaryOf(null, null, published);
    if (published) summary.published.unchecked = published.journalPins.length;
    if (options.witnesses) problems.push(...witnessProblems(published?.newest ?? null, options.witnesses, summary));
  }
  for (const checkpoint of await journal.latestCheckpoints()) verifier.expectCheckpoint(checkpoint.stream, checkpoint);
  for (const stream of await journal.listStreams()) if (stream.state === 'stopped') verifier.expectStopped(stream.id);
  return { verifier, verifierOptions, problems, summary };
}

/** The options a ChainVerifier takes, without the use case's own (sources, callbacks, stores). */
function verifierOnly(options: VerifyOptions): VerifierOptions {
  const { onProgress: _p, journalTree: _t, published: _pub, witnesses: _w, ...rest } = options;
  return rest;
}

/**
 * Reads the journal tree's leaves, then its head (leaves and head are written in one step,
 * so leaves read before the head and beyond it were never signed; leaves a live writer
 * appended meanwhile are read up to the head). Each valid leaf's checkpoint goes to `pin`.
 */
async function readTree(store: JournalTreeStore, journal: string, tree: JournalTreeVerifier, pin: (stream: string, pin: Pin) => void): Promise<JournalTreeHead | null> {
  let next = 0;
  const readUpTo = async (last: number): Promise<void> => {
    while (next < last) {
      const wanted = Math.min(TREE_READ_PAGE_LEAVES, last - next);
      const page = await store.readLeaves(journal, next, wanted);
      for (const leaf of page) {
        const checkpoint = tree.addLeaf(leaf);
        if (checkpoint) pin(checkpoint.stream, checkpoint.pin);
      }
      // Paged by the stored index, not by the count read: a deleted leaf must not make the next page repeat one.
      const lastIndex = page[page.length - 1]?.index;
      next = Number.isSafeInteger(lastIndex) && (lastIndex as number) >= next ? (lastIndex as number) + 1 : next + page.length;
      if (page.length < wanted) return;
    }
  };
  await readUpTo(Number.MAX_SAFE_INTEGER);
  const head = await store.head(journal);
  if (head && head.size > next) await readUpTo(head.size);
  return head;
}

interface Published {
  journal: string | undefined;
  streamPins: { stream: string; pin: Pin }[];
  journalPins: Pin[];
  /** The newest valid journal tree checkpoint: the largest, the last line of that size. */
  newest: { size: number; note: string; source: string } | null;
  problems: Problem[];
  streamProblems: Problem[];
}

/**
 * Reads a published-checkpoints file: each line must be a checkpoint the journal's key signed
 * (for this journal — the first line's when none is given — and its own origin). Valid ones
 * become pins; the others problems, of the stream they name or of the file.
 */
async function readPublished(source: AsyncIterable<PublishedInput[]>, journalGiven: string | undefined, options: VerifyOptions): Promise<Published> {
  const out: Published = { journal: journalGiven, streamPins: [], journalPins: [], newest: null, problems: [], streamProblems: [] };
  const name = options.publishedName ?? 'the published checkpoints';
  for await (const batch of source) {
    for (const { value, line } of batch) {
      const cp = parsePublished(value);
      if ('error' in cp) {
        out.problems.push({ stream: PUBLISHED_STREAM, seq: null, kind: 'malformed', message: `line ${line} of ${name} is not a published checkpoint: ${value === null ? 'not JSON' : cp.error}` });
        continue;
      }
      out.journal ??= cp.journal;
      if (out.streamPins.length + out.journalPins.length >= PINS_MAX) throw new Error(`${name} holds more than ${PINS_MAX.toLocaleString('en-US')} checkpoints: more than verify holds in memory`);
      judge(out, cp, line, name, options);
    }
  }
  return out;
}

function judge(out: Published, cp: PublishedCheckpoint, line: number, name: string, options: VerifyOptions): void {
  const stream = cp.kind === 'journal' ? JOURNAL_TREE_STREAM : cp.stream as string;
  if (!options.trusted) return;
  const check = checkPublished(cp, {
    journal: out.journal as string, trusted: options.trusted, ...(options.nowMs !== undefined && { nowMs: options.nowMs }),
    maxClockSkewMs: options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
  });
  if (!check.ok) {
    const problem = { stream, seq: null, kind: check.kind, message: `the ${cp.kind === 'journal' ? 'journal tree ' : ''}checkpoint published on line ${line} of ${name}: ${check.message}` };
    (cp.kind === 'journal' ? out.problems : out.streamProblems).push(problem);
    return;
  }
  const pin: Pin = { size: cp.size, root: cp.root, source: 'published', ref: line };
  if (cp.kind === 'stream') {
    out.streamPins.push({ stream, pin });
    return;
  }
  out.journalPins.push(pin);
  if (out.newest === null || cp.size >= out.newest.size) out.newest = { size: cp.size, note: cp.note, source: `the journal tree checkpoint published on line ${line} of ${name}` };
}

/** Hands published stream checkpoints to the chain verifier; returns how many. */
function holdStreams(verifier: StreamSetup, published: Published): number {
  for (const problem of published.streamProblems) verifier.reportProblem(problem);
  for (const { stream, pin } of published.streamPins) verifier.expectPinned(stream, pin);
  return published.streamPins.length;
}

/** The newest journal tree checkpoint must carry a quorum of the witnesses' valid cosignatures. */
function witnessProblems(target: { size: number; note: string; source: string } | null, policy: WitnessPolicy, summary: JournalTreeSummary): Problem[] {
  const problem = (kind: Problem['kind'], message: string): Problem => ({ stream: JOURNAL_TREE_STREAM, seq: null, kind, message });
  if (target === null) {
    summary.witnesses = { checkpointSize: null, valid: 0, required: policy.quorum };
    return [problem('witness_quorum', `no journal tree checkpoint to hold to a quorum of ${policy.quorum} witness${policy.quorum === 1 ? '' : 'es'}`)];
  }
  const result = checkQuorum(target.note, policy);
  summary.witnesses = { checkpointSize: target.size, valid: result.valid.length, required: policy.quorum };
  const problems: Problem[] = [];
  if (result.malformed) problems.push(problem('witness_quorum', `${target.source} is malformed: ${result.malformed}`));
  for (const key of result.forged) problems.push(problem('checkpoint_invalid', `${target.source}: the cosignature by ${key} does not verify`));
  if (!result.met) {
    problems.push(problem('witness_quorum', `${target.source} (size ${target.size}) carries ${result.valid.length} valid cosignature${result.valid.length === 1 ? '' : 's'} from the ${policy.keys.length} witness key${policy.keys.length === 1 ? '' : 's'} given; ${policy.quorum} required`));
  }
  return problems;
}

function summaryOf(leaves: number | null, head: JournalTreeHead | null, published: Published | null): JournalTreeSummary {
  return {
    leaves,
    headSize: head?.size ?? null,
    published: { journal: published?.journalPins.length ?? 0, streams: published?.streamPins.length ?? 0, unchecked: 0 },
    witnesses: null,
  };
}

export function withTree(report: ChainReport, problems: Problem[], summary: JournalTreeSummary | undefined): ChainReport {
  return { ...report, problems: [...problems, ...report.problems], ...(summary && { journalTree: summary }) };
}

/**
 * Head values among the records (`{ head }`: a file's head lines, a store's newest head after
 * its stream's records) are signed heads of their streams, handed over in their place, after
 * the records they cover; everything else is a record.
 */
export async function run(verifier: ChainVerifier, source: AsyncIterable<SourcedRecord[]>, options: VerifyOptions): Promise<ChainReport> {
  let count = 0;
  for await (const batch of source) {
    for (const { value, at } of batch) {
      const head = headOfLine(value);
      if (head) {
        verifier.expectHead(head.stream, head, at);
        continue;
      }
      verifier.add(value, at);
      if (++count % PROGRESS_EVERY_RECORDS === 0) options.onProgress?.(count);
    }
  }
  return verifier.finish();
}
