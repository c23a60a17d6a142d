import { ChainVerifier, type ChainReport, type Problem, type StreamSummary, type VerifierOptions } from '../core/chain-verifier.js';
import type { Pin } from '../core/pinned-roots.js';
import { headOfLine } from '../core/signed-head.js';
import type { JournalStore } from '../ports/journal-store.js';
import { storeRecords, streamRecords } from './journal-source.js';
import { PROGRESS_EVERY_RECORDS, type StreamSetup, type VerifyOptions, prepareStore, run, withTree } from './verify-journal.js';

/*
 * verifyStore with its streams shared out among verifiers that run at the same time (worker
 * threads, each with its own connection to the store), giving the very report verifyStore
 * gives. Streams are independent but for a few things, which decide how it is done:
 *
 * - What verifyStore tells its verifier before any record (the journal tree's and the published
 *   checkpoints, the stored ones, stopped streams) concerns one stream each: it is recorded
 *   here and told to the verifier of that stream, in the same order.
 * - A report lists streams in the order its verifier met them, and problems of what is not a
 *   record first, in the order they came. Every stream is met at a place in verifyStore's one
 *   pass (the n-th call before the records; or record j of the i-th stream listed): each share
 *   says where it met its streams, and the reports are merged in that order.
 * - A record can speak of another stream: a journal.sealed record holds the seal of the stream
 *   it sealed, and a stored head names its stream. The store says which stream sealed which
 *   (a sealed stream's closedBy, written in the same commit as the seal), so a sealed stream
 *   and its sealer go to the same share, and an honest journal is verified once, crash seals
 *   and all. Only a share that still meets such a record about a stream it does not verify
 *   (a store whose rows were changed, or a seal the store does not record) makes the journal
 *   be verified in one pass instead.
 */

/** What verifyStore tells a verifier before the records, about one stream. */
export type SetupCall =
  | { kind: 'checkpoint'; stream: string; checkpoint: { size: number; root: string; note: string }; seal: boolean }
  | { kind: 'pin'; stream: string; pin: Pin }
  | { kind: 'stopped'; stream: string }
  | { kind: 'problem'; problem: Problem };

/** The streams one verifier takes, and what it is told about them. */
export interface StreamShare {
  verifierOptions: VerifierOptions;
  /** Calls about its streams, each with its place among all of them. */
  setup: { at: number; call: SetupCall }[];
  /** Its streams, each with its place in the store's list, in that order. */
  streams: { id: string; at: number }[];
}

/** Where verifyStore's single pass meets something: compared element by element. */
export type Place = number[];

export interface ShareResult {
  /** Problems of values that are not records, in the order they came (each names the stream it was read from). */
  loose: Problem[];
  streams: { place: Place; summary: StreamSummary; problems: Problem[] }[];
  records: number;
  checkpoints: number;
  /** It met a record or head about a stream it does not verify: the journal must be verified in one pass. */
  crossesShares: boolean;
}

/** Runs each share's verifyShare at the same time (each on its own connection to the store); rejects if any fails. */
export type ShareRunner = (shares: StreamShare[], onProgress?: (records: number) => void) => Promise<ShareResult[]>;

/**
 * verifyStore, its streams verified by up to `jobs` verifiers at once through `runShares`.
 * With one job, or fewer than two streams (or groups of streams joined by seals), it is verifyStore itself.
 */
export async function verifyStoreShared(journal: JournalStore, options: VerifyOptions, jobs: number, runShares: ShareRunner): Promise<ChainReport> {
  const recorder = new SetupRecorder();
  const prepared = await prepareStore(journal, options, () => recorder);
  const inOnePass = async (): Promise<ChainReport> => {
    const verifier = new ChainVerifier(prepared.verifierOptions);
    for (const call of recorder.calls) tell(verifier, call);
    return withTree(await run(verifier, storeRecords(journal), options), prepared.problems, prepared.summary);
  };
  const listed = await journal.listStreams();
  // Without a journal name the first record read sets it for every stream: only one pass knows which that is.
  if (jobs <= 1 || listed.length < 2 || prepared.verifierOptions.journal === undefined) return inOnePass();
  const shares = share(listed.map((s) => ({ id: s.id, records: s.head?.size ?? 0, sealedBy: s.state === 'sealed' ? s.closedBy : null })), recorder.calls, jobs, prepared.verifierOptions);
  // Streams that all seal one another are one share: a thread would only add its start-up.
  if (shares.length < 2) return inOnePass();
  let done = 0;
  const results = await runShares(shares, options.onProgress && ((n) => {
    const before = Math.floor(done / PROGRESS_EVERY_RECORDS);
    done += n;
    if (Math.floor(done / PROGRESS_EVERY_RECORDS) > before) options.onProgress?.(done);
  }));
  if (results.some((r) => r.crossesShares)) return inOnePass();
  return withTree(merge(results, listed.map((s) => s.id)), prepared.problems, prepared.summary);
}

/**
 * Shares out the streams, a sealed stream with the stream that sealed it; largest group first,
 * each to the share with the fewest records so far. At most `jobs` shares, none empty.
 */
function share(listed: { id: string; records: number; sealedBy: string | null }[], calls: SetupCall[], jobs: number, verifierOptions: VerifierOptions): StreamShare[] {
  const groups = sealGroups(listed);
  const count = Math.min(jobs, groups.length);
  const shares: StreamShare[] = Array.from({ length: count }, () => ({ verifierOptions, setup: [], streams: [] }));
  const load = new Array<number>(count).fill(0);
  const owner = new Map<string, number>();
  const lightest = (): number => load.indexOf(Math.min(...load));
  const bySize = groups.map((members) => ({ members, records: members.reduce((n, at) => n + Math.max(1, listed[at]?.records ?? 0), 0) }))
    .sort((a, b) => b.records - a.records || (a.members[0] as number) - (b.members[0] as number));
  for (const group of bySize) {
    const to = lightest();
    for (const at of group.members) owner.set((listed[at] as { id: string }).id, to);
    load[to] = (load[to] as number) + group.records;
  }
  for (const [at, s] of listed.entries()) shares[owner.get(s.id) as number]?.streams.push({ id: s.id, at });
  for (const [at, call] of calls.entries()) {
    const stream = call.kind === 'problem' ? call.problem.stream : call.stream;
    let to = owner.get(stream);
    if (to === undefined) {
      // A stream the store does not list (named by the journal tree or a published checkpoint only).
      to = lightest();
      owner.set(stream, to);
      load[to] = (load[to] as number) + 1;
    }
    shares[to]?.setup.push({ at, call });
  }
  return shares;
}

/** The listed streams (by their place in the list) in groups joined by seals: each group in list order. */
function sealGroups(listed: { id: string; sealedBy: string | null }[]): number[][] {
  const at = new Map(listed.map((s, i) => [s.id, i]));
  const root = listed.map((_, i) => i);
  const find = (i: number): number => {
    while (root[i] !== i) i = root[i] = root[root[i] as number] as number;
    return i;
  };
  for (const [i, s] of listed.entries()) {
    const by = s.sealedBy === null ? undefined : at.get(s.sealedBy);
    if (by !== undefined) root[find(i)] = find(by);
  }
  const groups = new Map<number, number[]>();
  for (const i of root.keys()) {
    const r = find(i);
    const group = groups.get(r);
    if (group) group.push(i);
    else groups.set(r, [i]);
  }
  return [...groups.values()];
}

/** One share's streams, as verifyStore's pass would verify them. */
export async function verifyShare(journal: JournalStore, share: StreamShare, onProgress?: (records: number) => void): Promise<ShareResult> {
  const verifier = new ChainVerifier(share.verifierOptions);
  const own = new Set([...share.streams.map((s) => s.id), ...share.setup.map(({ call }) => (call.kind === 'problem' ? call.problem.stream : call.stream))]);
  const places: Place[] = [];
  const met = (place: Place): void => {
    while (places.length < verifier.streamCount) places.push(place);
  };
  for (const { at, call } of share.setup) {
    tell(verifier, call);
    met([0, at]);
  }
  let crossesShares = false;
  let sinceProgress = 0;
  for (const stream of share.streams) {
    let j = 0;
    for await (const batch of streamRecords(journal, stream)) {
      for (const { value, at } of batch) {
        const head = headOfLine(value);
        if (head) {
          if (!own.has(head.stream)) crossesShares = true;
          verifier.expectHead(head.stream, head, at);
        } else {
          if (sealsAnother(value, own)) crossesShares = true;
          verifier.add(value, at);
          if (++sinceProgress === PROGRESS_EVERY_RECORDS) {
            onProgress?.(sinceProgress);
            sinceProgress = 0;
          }
        }
        met([1, stream.at, j++]);
      }
    }
  }
  if (sinceProgress > 0) onProgress?.(sinceProgress);
  const parts = verifier.finishByStream();
  return {
    loose: parts.loose,
    streams: parts.streams.map((s, k) => ({ place: places[k] as Place, ...s })),
    records: parts.records,
    checkpoints: parts.checkpoints,
    crossesShares,
  };
}

/** A journal.sealed record (or what may pass for one) about a stream not in `own`. */
function sealsAnother(value: unknown, own: ReadonlySet<string>): boolean {
  if (typeof value !== 'object' || value === null || (value as { type?: unknown }).type !== 'journal.sealed') return false;
  const data = (value as { data?: unknown }).data;
  const stream = typeof data === 'object' && data !== null ? (data as { stream?: unknown }).stream : undefined;
  return typeof stream === 'string' && !own.has(stream);
}

/** The shares' findings in the order verifyStore's one pass would have reported them. */
function merge(results: ShareResult[], listed: string[]): ChainReport {
  const listedAt = new Map(listed.map((id, at) => [id, at]));
  // A store's loose problems name the stream they were read from, and come stream by stream, in list order.
  const loose = results.flatMap((r) => r.loose).sort((a, b) => (listedAt.get(a.stream) ?? -1) - (listedAt.get(b.stream) ?? -1));
  const streams = results.flatMap((r) => r.streams).sort((a, b) => comparePlaces(a.place, b.place));
  return {
    streams: streams.map((s) => s.summary),
    records: results.reduce((n, r) => n + r.records, 0),
    checkpoints: results.reduce((n, r) => n + r.checkpoints, 0),
    problems: [...loose, ...streams.flatMap((s) => s.problems)],
  };
}

export function comparePlaces(a: Place, b: Place): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function tell(verifier: StreamSetup, call: SetupCall): void {
  switch (call.kind) {
    case 'checkpoint': verifier.expectCheckpoint(call.stream, call.checkpoint, call.seal); break;
    case 'pin': verifier.expectPinned(call.stream, call.pin); break;
    case 'stopped': verifier.expectStopped(call.stream); break;
    case 'problem': verifier.reportProblem(call.problem); break;
  }
}

/** Takes verifyStore's calls before the records, to be told to each stream's verifier. */
class SetupRecorder implements StreamSetup {
  readonly calls: SetupCall[] = [];

  expectCheckpoint(stream: string, checkpoint: { size: number; root: string; note: string }, seal = false): void {
    this.calls.push({ kind: 'checkpoint', stream, checkpoint: { size: checkpoint.size, root: checkpoint.root, note: checkpoint.note }, seal });
  }

  expectPinned(stream: string, pin: Pin): void {
    this.calls.push({ kind: 'pin', stream, pin });
  }

  expectStopped(stream: string): void {
    this.calls.push({ kind: 'stopped', stream });
  }

  reportProblem(problem: Problem): void {
    this.calls.push({ kind: 'problem', problem });
  }
}
