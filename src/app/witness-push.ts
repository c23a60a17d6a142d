import { parseCheckpointBody } from '../core/checkpoint.js';
import { type CosignerKey, parseCosignerKey, verifyCosignature } from '../core/cosignature.js';
import { parseRfc3339MsUtc } from '../core/parse-time.js';
import { openNote } from '../core/tlog-checkpoint.js';
import type { Clock } from '../ports/clock.js';
import type { JournalTreeHead } from '../ports/journal-tree-store.js';
import type { WitnessAnswer, WitnessClient } from '../ports/witness-client.js';
import type { SubtreeHashes } from './subtree-hashes.js';

/** Time one add-checkpoint request may take, answer included. */
export const WITNESS_REQUEST_TIMEOUT_MS = 5_000;
/** Tries of one head after transient failures (network, timeout, 5xx, 429) before waiting for the next head. */
export const WITNESS_PUSH_ATTEMPTS_MAX = 6;
/** Backoff ceiling after the first failed try, doubling per try up to the cap; the wait is drawn below it (full jitter). */
export const WITNESS_RETRY_BASE_MS = 500;
export const WITNESS_RETRY_MAX_MS = 30_000;
/** 409s (the witness's size moved) answered in a row in one try; then it counts as a transient failure. */
export const WITNESS_CONFLICTS_MAX = 4;
/** A failing witness is logged at most once per this interval. */
export const WITNESS_WARN_INTERVAL_MS = 60_000;
/** What Lambda's handler waits for pushes at most per invocation: a dead witness must not hold it. */
export const WITNESS_IDLE_MS_MAX = 2_000;
/** What a clean shutdown waits for the final checkpoint's pushes at most. */
export const WITNESS_SHUTDOWN_MS = 5_000;
/** Characters of a witness's answer quoted in a log line. */
const REASON_CHARS_MAX = 200;

/**
 * Heads waiting per witness: one. Only the newest matters — a witness accepts any newer
 * checkpoint consistent with the one it holds — so a newer head replaces a waiting one.
 */
export const WITNESS_PENDING_HEADS_MAX = 1;

export interface WitnessPushLimits {
  requestTimeoutMs: number;
  attemptsMax: number;
  retryBaseMs: number;
  retryMaxMs: number;
  conflictsMax: number;
  warnIntervalMs: number;
}

const DEFAULT_LIMITS: WitnessPushLimits = {
  requestTimeoutMs: WITNESS_REQUEST_TIMEOUT_MS,
  attemptsMax: WITNESS_PUSH_ATTEMPTS_MAX,
  retryBaseMs: WITNESS_RETRY_BASE_MS,
  retryMaxMs: WITNESS_RETRY_MAX_MS,
  conflictsMax: WITNESS_CONFLICTS_MAX,
  warnIntervalMs: WITNESS_WARN_INTERVAL_MS,
};

/** What the pusher tells the operator; `logWitnessEvent` turns each into one log line. */
export type WitnessEvent =
  /** A push failed: at most one per witness per WITNESS_WARN_INTERVAL_MS (`suppressed` counts the ones left out). */
  | { kind: 'failing'; witness: string; name: string; size: number; status: number | null; reason: string; inconsistent: boolean; witnessedAgeMs: number; suppressed: number }
  /** A witness that was reported failing cosigned again. */
  | { kind: 'recovered'; witness: string; name: string; size: number }
  /** Lines of a 200 answer that are not this witness's valid cosignature (another key's, or a bad one), left out. */
  | { kind: 'ignored'; witness: string; name: string; size: number; lines: number }
  /** A valid cosignature that could not be stored (the store failed). */
  | { kind: 'not_stored'; witness: string; name: string; size: number; reason: string }
  /** The stored leaves do not reproduce the head this process signed: no proof is sent from them. */
  | { kind: 'unprovable'; size: number; reason: string };

export interface WitnessPushOptions {
  /** Each witness's submission prefix and cosignature/v1 verifier key. */
  witnesses: readonly { url: string; key: string }[];
  client: WitnessClient;
  /** The journal tree's name and its stored subtree hashes: what consistency proofs are built from. */
  journal: string;
  tree: SubtreeHashes;
  /** Keeps cosignature lines on the stored head of that size (false: the head moved on). */
  saveCosignatures: (size: number, lines: string[]) => Promise<boolean>;
  clock: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random: () => number;
  /** The newest checkpoint this witness cosigned is this old (reported after every try). */
  onAge?: (name: string, ageMs: number) => void;
  onEvent?: (event: WitnessEvent) => void;
  limits?: Partial<WitnessPushLimits>;
}

interface Offer {
  head: JournalTreeHead;
  /** The head's signed time (its note's `time` line), ms. */
  signedMs: number;
}

type Outcome =
  | { kind: 'cosigned' }
  | { kind: 'ahead' }
  | { kind: 'transient'; status: number | null; reason: string }
  | { kind: 'failed'; status: number | null; reason: string; inconsistent?: boolean };

/** One witness as this process follows it. */
class Follower {
  /** The size the witness last acknowledged (a 200 or a 409); 0 until it said. */
  acked = 0;
  pending: Offer | null = null;
  running: Promise<void> | null = null;
  /** While waiting to retry: when it wakes (performance.now() ms). */
  wakeAtMs: number | null = null;
  /** Signed time of the newest head it cosigned; before any, of the first head offered to it. */
  witnessedMs: number | null = null;
  lastWarnMs = Number.NEGATIVE_INFINITY;
  suppressed = 0;
  warned = false;

  constructor(readonly url: string, readonly key: CosignerKey) {}
}

/**
 * Pushes the journal tree's new heads to witnesses (C2SP tlog-witness add-checkpoint), off
 * the payment path: `push` only records the head and starts a background loop per witness,
 * which nobody serving a request awaits. Each witness is sent the newest head with a
 * consistency proof from the size it last acknowledged (0 at first: it answers 409 with its
 * size if it knows the log, and the head is sent again from there). Transient failures are
 * retried with bounded, jittered backoff; refusals are not. Valid cosignatures (checked
 * against the witness's key) are stored on the head; anything else is left out and logged.
 */
export class WitnessPusher {
  private readonly followers: Follower[];
  private readonly limits: WitnessPushLimits;
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  /** Aborted by stop(): a request still under way then does not hold the process up. */
  private readonly aborter = new AbortController();
  /** Settles at the next change idle() cares about (a loop ends, or starts waiting to retry). */
  private changed = signal();
  /** Whether the stored tree reproduces the newest head being pushed, checked once per head for every witness. */
  private provable: { size: number; ok: Promise<boolean> } | null = null;

  constructor(private readonly options: WitnessPushOptions) {
    this.followers = options.witnesses.map((w) => new Follower(w.url, parseCosignerKey(w.key)));
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Offers a head this process appended to every witness; returns at once. */
  push(head: JournalTreeHead): void {
    if (this.stopped || this.followers.length === 0) return;
    const offer: Offer = { head, signedMs: signedTimeMs(head.note) ?? this.options.clock.now() };
    for (const follower of this.followers) {
      if (follower.pending === null || head.size > follower.pending.head.size) follower.pending = offer;
      follower.witnessedMs ??= offer.signedMs;
      if (!follower.running) {
        follower.running = this.follow(follower).finally(() => {
          follower.running = null;
          if (this.followers.every((f) => f.running === null)) this.provable = null;
          this.notify();
        });
      }
    }
  }

  /**
   * Resolves once no push is under way or due to be retried within `timeoutMs`, or after
   * `timeoutMs`, whichever comes first. A retry due later is not waited for: it would not
   * happen in time. (On Lambda, pushes must happen within the invocation: timers do not run
   * while it is frozen.)
   */
  async idle(timeoutMs: number = WITNESS_IDLE_MS_MAX): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<true>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); });
    try {
      for (;;) {
        const busy = this.followers.some((f) => f.running !== null && !(f.wakeAtMs !== null && f.wakeAtMs > deadline));
        if (!busy) return;
        if (await Promise.race([this.changed.promise.then(() => false as const), expired])) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops: waiting retries end, nothing more is sent. */
  stop(): void {
    this.stopped = true;
    this.aborter.abort();
    for (const wake of this.wakers) wake();
    for (const follower of this.followers) follower.pending = null;
  }

  private async follow(f: Follower): Promise<void> {
    let current: Offer | null = null;
    let attempt = 0;
    while (!this.stopped) {
      if (f.pending && (current === null || f.pending.head.size > current.head.size)) current = f.pending;
      f.pending = null;
      if (current === null) return;
      let outcome: Outcome;
      try {
        outcome = await this.pushOnce(f, current.head);
      } catch (err) {
        outcome = { kind: 'transient', status: null, reason: `could not build the proof: ${describe(err)}` };
      }
      if (this.stopped) return;
      attempt++;
      if (outcome.kind === 'cosigned') f.witnessedMs = Math.max(f.witnessedMs ?? current.signedMs, current.signedMs);
      if (outcome.kind !== 'ahead') this.options.onAge?.(f.key.name, Math.max(0, this.options.clock.now() - (f.witnessedMs ?? current.signedMs)));
      if (outcome.kind === 'cosigned') {
        if (f.warned) this.options.onEvent?.({ kind: 'recovered', witness: f.url, name: f.key.name, size: current.head.size });
        f.warned = false;
      } else if (outcome.kind === 'transient' && attempt < this.limits.attemptsMax) {
        // One failed try is common (a witness restarting, a dropped connection): warn from the second on.
        if (attempt > 1) this.warn(f, current.head.size, outcome, ` (try ${attempt} of ${this.limits.attemptsMax}; retrying)`);
        await this.sleep(f, this.backoffMs(attempt));
        continue;
      } else if (outcome.kind !== 'ahead') {
        const suffix = outcome.kind === 'transient' ? ` (gave up after ${attempt} tries; the next checkpoint is pushed anew)` : '';
        this.warn(f, current.head.size, outcome, suffix);
      }
      current = null;
      attempt = 0;
    }
  }

  /** One try: add-checkpoint from the acknowledged size, following the witness's 409s. */
  private async pushOnce(f: Follower, head: JournalTreeHead): Promise<Outcome> {
    let old = f.acked <= head.size ? f.acked : 0;
    for (let conflicts = 0; conflicts <= this.limits.conflictsMax; conflicts++) {
      // Another writer's newer head got there first; it carries this one's leaves.
      if (old > head.size) return { kind: 'ahead' };
      let proof: Buffer[] = [];
      if (old > 0 && old < head.size) {
        if (!(await this.isProvable(head))) return { kind: 'failed', status: null, reason: 'the stored journal tree does not reproduce the head this process signed; not sent' };
        proof = await this.options.tree.consistencyProof(this.options.journal, old, head.size);
      }
      let answer: WitnessAnswer;
      try {
        answer = await this.options.client.addCheckpoint(f.url, addCheckpointBody(old, proof, head.note), this.limits.requestTimeoutMs, this.aborter.signal);
      } catch (err) {
        return { kind: 'transient', status: null, reason: describe(err) };
      }
      if (answer.status === 200) {
        f.acked = head.size;
        return this.accept(f, head, answer.body);
      }
      if (answer.status === 409) {
        const size = /^(0|[1-9][0-9]{0,15})\n?$/.exec(answer.body);
        if (!size || !Number.isSafeInteger(Number(size[1]))) return { kind: 'failed', status: 409, reason: `a 409 without a tree size: ${quote(answer.body)}` };
        f.acked = Number(size[1]);
        old = f.acked;
        continue;
      }
      if (answer.status === 422) return { kind: 'failed', status: 422, reason: `refused as inconsistent with what it holds: ${quote(answer.body)}`, inconsistent: true };
      if (answer.status >= 500 || answer.status === 429) return { kind: 'transient', status: answer.status, reason: quote(answer.body) };
      return { kind: 'failed', status: answer.status, reason: quote(answer.body) };
    }
    return { kind: 'transient', status: 409, reason: `its size kept moving (${this.limits.conflictsMax + 1} answers 409 in a row)` };
  }

  /** Keeps the answer's valid cosignatures by this witness's key; the rest is ignored and reported. */
  private async accept(f: Follower, head: JournalTreeHead, body: string): Promise<Outcome> {
    const text = openNote(head.note).text;
    let reply: ReturnType<typeof openNote>;
    try {
      reply = openNote(`${text}\n${body}`);
    } catch (err) {
      return { kind: 'failed', status: 200, reason: `its answer is not signature lines (${describe(err)}): ${quote(body)}` };
    }
    const valid = reply.lines.filter((_line, i) => verifyCosignature(text, reply.signatures[i]!, f.key) !== null);
    const ignored = reply.lines.length - valid.length;
    if (ignored > 0) this.options.onEvent?.({ kind: 'ignored', witness: f.url, name: f.key.name, size: head.size, lines: ignored });
    if (valid.length === 0) return { kind: 'failed', status: 200, reason: `no valid cosignature by ${f.key.name}+${f.key.keyId.toString('hex')} in its answer` };
    if (this.stopped) return { kind: 'cosigned' }; // the store may be closing
    try {
      // False when the head moved on (another writer appended): the cosignature was still given.
      await this.options.saveCosignatures(head.size, valid);
    } catch (err) {
      this.options.onEvent?.({ kind: 'not_stored', witness: f.url, name: f.key.name, size: head.size, reason: describe(err) });
    }
    return { kind: 'cosigned' };
  }

  /** Whether the stored tree's first `head.size` leaves reproduce its signed root: checked once per head for every witness. */
  private isProvable(head: JournalTreeHead): Promise<boolean> {
    if (this.provable?.size !== head.size) {
      const ok = this.options.tree.range(this.options.journal, 0, head.size).then(
        (root) => {
          if (root.toString('hex') === head.root) return true;
          this.options.onEvent?.({ kind: 'unprovable', size: head.size, reason: 'its stored leaves have another root' });
          return false;
        },
        (err: unknown) => {
          this.options.onEvent?.({ kind: 'unprovable', size: head.size, reason: describe(err) });
          return false;
        },
      );
      this.provable = { size: head.size, ok };
    }
    return this.provable.ok;
  }

  private warn(f: Follower, size: number, outcome: Extract<Outcome, { kind: 'transient' | 'failed' }>, suffix: string): void {
    const now = this.options.clock.now();
    if (now - f.lastWarnMs < this.limits.warnIntervalMs) {
      f.suppressed++;
      return;
    }
    this.options.onEvent?.({
      kind: 'failing', witness: f.url, name: f.key.name, size, status: outcome.status, reason: `${outcome.reason}${suffix}`,
      inconsistent: outcome.kind === 'failed' && outcome.inconsistent === true,
      witnessedAgeMs: Math.max(0, now - (f.witnessedMs ?? now)), suppressed: f.suppressed,
    });
    f.lastWarnMs = now;
    f.suppressed = 0;
    f.warned = true;
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.limits.retryMaxMs, this.limits.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.floor(this.options.random() * ceiling);
  }

  private sleep(f: Follower, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        f.wakeAtMs = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // A retry alone does not keep a process alive; shutdown waits for it on purpose (idle).
      timer.unref();
      this.wakers.add(wake);
      f.wakeAtMs = performance.now() + ms;
      this.notify();
    });
  }

  private notify(): void {
    const changed = this.changed;
    this.changed = signal();
    changed.resolve();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** tlog-witness's request body: `old <size>`, the proof lines, an empty line, the checkpoint. */
export function addCheckpointBody(old: number, proof: readonly Buffer[], note: string): string {
  return `old ${old}\n${proof.map((hash) => `${hash.toString('base64')}\n`).join('')}\n${note}`;
}

function signedTimeMs(note: string): number | null {
  try {
    const time = parseCheckpointBody(openNote(note).text).time;
    return time === undefined ? null : parseRfc3339MsUtc(time);
  } catch {
    return null;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch's "fetch failed" says nothing; its cause (ECONNREFUSED, a timeout) does.
  const cause = (err as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : '';
  return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}${detail}`.slice(0, REASON_CHARS_MAX);
}

function quote(body: string): string {
  const line = body.trim().split('\n')[0] ?? '';
  return line === '' ? '(empty answer)' : JSON.stringify(line.slice(0, REASON_CHARS_MAX));
}

/** The logger the runtimes hand over (pino's, Fastify's). */
export interface WitnessLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** One log line per event: a failing witness at warn (error when it says the journal is inconsistent). */
export function logWitnessEvent(log: WitnessLog, event: WitnessEvent): void {
  switch (event.kind) {
    case 'failing': {
      const { kind: _kind, inconsistent, witnessedAgeMs, ...fields } = event;
      const line = { ...fields, witnessedAgeSeconds: Math.round(witnessedAgeMs / 1000) };
      if (inconsistent) log.error(line, 'witness refused the journal checkpoint as inconsistent');
      else log.warn(line, 'witness not cosigning');
      return;
    }
    case 'recovered':
      log.info({ witness: event.witness, name: event.name, size: event.size }, 'witness cosigning again');
      return;
    case 'ignored':
      log.debug({ witness: event.witness, name: event.name, size: event.size, lines: event.lines }, 'witness answer lines ignored: not valid cosignatures by its key');
      return;
    case 'not_stored':
      log.warn({ witness: event.witness, name: event.name, size: event.size, reason: event.reason }, 'could not store a witness cosignature');
      return;
    case 'unprovable':
      log.error({ size: event.size, reason: event.reason }, 'journal tree not pushed to witnesses: its stored leaves do not reproduce the signed head');
      return;
  }
}
