import type { JsonObject, Outcome, RecordDraft, RecordType } from '../core/audit-record.js';
import { rfc3339 } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import { redactedDraft } from './records.js';

/** Distinct values a summary counts per dimension; further values are counted under OTHER_VALUE. */
export const SUMMARY_VALUES_MAX = 32;
export const OTHER_VALUE = '(other)';
/** The key of the summary that counts the events of keys beyond `keysMax`. */
export const OTHER_KEYS = '(other)';
/** Summaries per append: keeps one append within a group commit. */
const SUMMARIES_PER_APPEND_MAX = 256;
/** A timer that fires before the clock has left the window tries again this much later. */
const RETRY_TIMER_MS = 1_000;

/** One event that may be recorded on its own or counted into its key's summary. */
export interface AggregatedEvent {
  /** Events with one key in one window share a summary (a client address; an API key and address). */
  key: string;
  actor: string;
  ip: string | null;
  /** What the event concerned (a transaction ID, a key ID); a summary names up to `resourcesMax`. */
  resource: string | null;
  /** Dimension → value, each counted in the summary, e.g. `{ reason: 'api_key_invalid' }`. Values are codes, never input. */
  counts: Record<string, string>;
}

export interface RecordAggregatorOptions {
  type: RecordType;
  /** The summary's outcome (its counts say more). */
  outcome: Outcome;
  /** Windows are aligned to multiples of this since the epoch (60 000: calendar minutes, UTC). */
  windowMs: number;
  /** Events per key per window recorded on their own (durably, by the caller) before the rest are counted. */
  individualMax: number;
  /** Keys one window tracks; the events of further keys share the OTHER_KEYS summary. */
  keysMax: number;
  /** Resources one summary names; the rest are only counted. */
  resourcesMax: number;
  clock: Clock;
  /** Appends summaries to the journal. */
  write: (records: RecordDraft[]) => Promise<unknown>;
  /** Told when summaries could not be written (they are lost; the caller logs their counts). */
  onError: (err: unknown, records: RecordDraft[]) => void;
}

interface Tally {
  actor: string | null;
  ip: string | null;
  individual: number;
  counted: number;
  dimensions: Map<string, Map<string, number>>;
  resources: Set<string>;
  resourcesOmitted: number;
}

/**
 * Keeps a flood of similar events from flooding the journal. Per key and time window, the
 * first `individualMax` events are recorded on their own, each made durable by the caller
 * before it answers; the rest are counted, and the window's count is appended as one summary
 * record when the window ends (a timer, or the next event after it) and on `close()`. The
 * journal therefore grows by at most `(individualMax + 1) × (keysMax + 1)` records per
 * window, whatever arrives. Counts not yet written are lost if the process is killed (never
 * the individual records); after `close()` every event is recorded on its own.
 *
 * A summary's `data.count` is the number of events it stands for, none of which has a record
 * of its own: summing `data.count` over summaries and 1 over the other records gives the total.
 */
export class RecordAggregator {
  private window = Number.NEGATIVE_INFINITY;
  private tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: RecordAggregatorOptions) {
    for (const name of ['windowMs', 'keysMax', 'resourcesMax'] as const) {
      if (!Number.isSafeInteger(options[name]) || options[name] < 1) throw new RangeError(`${name} must be a whole number >= 1, got ${options[name]}`);
    }
    if (!Number.isSafeInteger(options.individualMax) || options.individualMax < 0) throw new RangeError(`individualMax must be a whole number >= 0, got ${options.individualMax}`);
  }

  /** Keys tracked in the current window (at most keysMax + 1). */
  get size(): number {
    return this.tallies.size;
  }

  /**
   * 'record' when the caller is to write the event's own record (it is among the first of its
   * key in this window, or the aggregator is closed); 'counted' when the summary will hold it.
   */
  note(event: AggregatedEvent): 'record' | 'counted' {
    if (this.closed) return 'record';
    const nowMs = this.options.clock.now();
    this.rollTo(nowMs);
    let tally = this.tallies.get(event.key);
    if (!tally) {
      const key = this.tallies.size < this.options.keysMax ? event.key : OTHER_KEYS;
      tally = this.tallies.get(key);
      if (!tally) {
        tally = { actor: event.actor, ip: event.ip, individual: 0, counted: 0, dimensions: new Map(), resources: new Set(), resourcesOmitted: 0 };
        this.tallies.set(key, tally);
      }
    }
    if (tally.individual < this.options.individualMax) {
      tally.individual++;
      return 'record';
    }
    this.count(tally, event);
    this.arm(nowMs);
    return 'counted';
  }

  /** Writes the summaries of windows that have ended; resolves once they are durable (or failed). */
  flushEnded(): Promise<void> {
    if (!this.closed) this.rollTo(this.options.clock.now());
    return this.writing;
  }

  /** Writes the current window's summary (its end is now) and records every later event on its own. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const nowMs = this.options.clock.now();
    this.rollTo(nowMs);
    this.writeSummaries(this.tallies, this.window * this.options.windowMs, Math.max(nowMs, this.window * this.options.windowMs));
    this.tallies = new Map();
    return this.writing;
  }

  private count(tally: Tally, event: AggregatedEvent): void {
    if (tally.actor !== event.actor) tally.actor = null;
    if (tally.ip !== event.ip) tally.ip = null;
    tally.counted++;
    for (const [dimension, value] of Object.entries(event.counts)) {
      let values = tally.dimensions.get(dimension);
      if (!values) {
        if (tally.dimensions.size >= SUMMARY_VALUES_MAX) continue;
        values = new Map();
        tally.dimensions.set(dimension, values);
      }
      const counted = values.has(value) || values.size < SUMMARY_VALUES_MAX ? value : OTHER_VALUE;
      values.set(counted, (values.get(counted) ?? 0) + 1);
    }
    if (event.resource !== null && !tally.resources.has(event.resource)) {
      if (tally.resources.size < this.options.resourcesMax) tally.resources.add(event.resource);
      else tally.resourcesOmitted++;
    }
  }

  /** Moves to the window of `nowMs`, writing the summaries of the one that ended. A clock that stepped back stays in the current window. */
  private rollTo(nowMs: number): void {
    const window = Math.floor(nowMs / this.options.windowMs);
    if (window <= this.window) return;
    const ended = this.tallies;
    const endedWindow = this.window;
    this.tallies = new Map();
    this.window = window;
    if (Number.isFinite(endedWindow)) this.writeSummaries(ended, endedWindow * this.options.windowMs, (endedWindow + 1) * this.options.windowMs);
  }

  private writeSummaries(tallies: Map<string, Tally>, startMs: number, endMs: number): void {
    const records: RecordDraft[] = [];
    for (const [key, tally] of tallies) if (tally.counted > 0) records.push(redactedDraft(this.summary(key, tally, startMs, endMs)));
    if (records.length === 0) return;
    const previous = this.writing;
    this.writing = (async () => {
      await previous;
      for (let i = 0; i < records.length; i += SUMMARIES_PER_APPEND_MAX) {
        const chunk = records.slice(i, i + SUMMARIES_PER_APPEND_MAX);
        try {
          await this.options.write(chunk);
        } catch (err) {
          this.options.onError(err, chunk);
        }
      }
    })();
  }

  private summary(key: string, tally: Tally, startMs: number, endMs: number): RecordDraft {
    const data: JsonObject = { summary: true, window: { start: rfc3339(startMs), end: rfc3339(endMs) }, count: tally.counted };
    for (const [dimension, values] of tally.dimensions) data[dimension] = Object.fromEntries(values);
    data.resources = [...tally.resources];
    if (tally.resourcesOmitted > 0) data.resourcesOmitted = tally.resourcesOmitted;
    if (key === OTHER_KEYS) data.otherKeys = true;
    return {
      type: this.options.type,
      actor: tally.actor ?? OTHER_VALUE,
      origin: { requestId: null, traceId: null, ip: tally.ip },
      resource: null,
      outcome: this.options.outcome,
      reason: null,
      data,
    };
  }

  /** A timer to the end of the window, so a summary is written even when no later event comes. */
  private arm(nowMs: number): void {
    if (this.timer) return;
    const endMs = (this.window + 1) * this.options.windowMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      void this.flushEnded();
      if ([...this.tallies.values()].some((tally) => tally.counted > 0)) this.arm(endMs);
    }, Math.max(RETRY_TIMER_MS, endMs - nowMs + 1));
    this.timer.unref();
  }
}
