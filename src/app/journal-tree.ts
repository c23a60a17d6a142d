import { type TrustedKey, checkCheckpoint, signCheckpoint } from '../core/checkpoint.js';
import { journalLeafHash, journalTreeOrigin } from '../core/journal-tree.js';
import { MerkleFrontier } from '../core/merkle.js';
import type { NoteSigner } from '../core/signed-note.js';
import { rfc3339 } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { JournalLeaf, JournalTreeHead, JournalTreeStore } from '../ports/journal-tree-store.js';

/** Checkpoint notes waiting to join the tree before new ones are dropped (they stay in their streams; only witnessing waits). */
export const TREE_QUEUE_NOTES_MAX = 1_000;
/** Leaves one append carries at most. */
export const TREE_APPEND_LEAVES_MAX = 32;
/** Appends tried in a row when other writers keep appending first. */
export const TREE_APPEND_ATTEMPTS_MAX = 16;
/** Wait before trying again after the store failed, doubling up to the cap. */
export const TREE_RETRY_BASE_MS = 200;
export const TREE_RETRY_MAX_MS = 30_000;

export interface JournalTreeOptions {
  journal: string;
  /** The journal's keys: the current one signs; all of them vouch for the stored head. */
  signers: readonly NoteSigner[];
  trusted: readonly TrustedKey[];
  clock: Clock;
  /** The stored head is not one this journal signed, or does not reproduce its root: nothing more is appended. */
  onConflict?: (reason: string) => void;
  /** Told of every head this process appended, e.g. to push it to witnesses. */
  onAppended?: (head: JournalTreeHead) => void;
}

/**
 * Appends this process's stream checkpoints to the journal tree, after they are durable and
 * off the payment path. The stored head is checked before it is extended: its note must be
 * signed by the journal's keys for origin `<journal>`, and its stored frontier must reproduce
 * the signed root — so the appender signs only an extension of a tree the journal signed,
 * never state someone else wrote. Appends are serialized by the store (a condition on the
 * size); losing a race means reading the new head and trying again.
 */
export class JournalTreeAppender {
  private readonly queue: string[] = [];
  private running: Promise<void> | null = null;
  private retryMs = TREE_RETRY_BASE_MS;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly store: JournalTreeStore, private readonly options: JournalTreeOptions) {}

  /** Queues checkpoint notes (in the order they were made) and starts appending. */
  enqueue(notes: readonly string[]): void {
    if (this.stopped || notes.length === 0) return;
    this.queue.push(...notes.slice(0, Math.max(0, TREE_QUEUE_NOTES_MAX - this.queue.length)));
    this.kick();
  }

  /** Resolves once nothing is queued or being appended (or appending gave up for now). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops retrying; what is queued is not appended. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private kick(): void {
    if (this.running || this.stopped || this.queue.length === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const notes = this.queue.slice(0, TREE_APPEND_LEAVES_MAX);
      let appended: boolean;
      try {
        appended = await this.appendOnce(notes);
      } catch {
        // The store failed: try again later, without holding anything else up.
        this.timer = setTimeout(() => { this.timer = null; this.kick(); }, this.retryMs);
        this.timer.unref();
        this.retryMs = Math.min(this.retryMs * 2, TREE_RETRY_MAX_MS);
        return;
      }
      if (!appended) return;
      this.queue.splice(0, notes.length);
      this.retryMs = TREE_RETRY_BASE_MS;
    }
  }

  /** True once the notes are in the tree; false when the tree cannot be extended safely (appending stops). */
  private async appendOnce(notes: string[]): Promise<boolean> {
    const journal = this.options.journal;
    for (let attempt = 0; attempt < TREE_APPEND_ATTEMPTS_MAX; attempt++) {
      const head = await this.store.head(journal);
      const frontier = head === null ? new MerkleFrontier() : this.vouchedFrontier(head);
      if (frontier === null) {
        this.stop();
        return false;
      }
      const size = frontier.size;
      const leaves: JournalLeaf[] = notes.map((note, i) => {
        const hash = journalLeafHash(note);
        frontier.push(hash);
        return { index: size + i, note, hash: hash.toString('hex') };
      });
      const root = frontier.root().toString('hex');
      const note = signCheckpoint({ origin: journalTreeOrigin(journal), size: frontier.size, root, time: rfc3339(this.options.clock.now()) }, this.options.signers);
      const next = { size: frontier.size, root, note, frontier: frontier.hashes().map((h) => h.toString('hex')) };
      if (await this.store.append(journal, size, leaves, next)) {
        this.options.onAppended?.({ ...next, journal, cosignatures: [] });
        return true;
      }
    }
    throw new Error('other writers kept appending to the journal tree first');
  }

  /** The stored head's frontier, if the journal signed that head and the frontier reproduces its root; else null (a conflict). */
  private vouchedFrontier(head: JournalTreeHead): MerkleFrontier | null {
    const check = checkCheckpoint(head.note, this.options.trusted, journalTreeOrigin(this.options.journal));
    if (!check.ok) {
      this.options.onConflict?.(`the journal tree's stored head is not one this journal signed (${check.reason.replace(/_/g, ' ')}); nothing more is appended`);
      return null;
    }
    try {
      const frontier = MerkleFrontier.of(head.size, head.frontier.map((h) => Buffer.from(h, 'hex')));
      if (check.body.size === head.size && check.body.root === head.root && frontier.root().toString('hex') === head.root) return frontier;
    } catch {
      // Not a frontier of that size at all: reported below.
    }
    this.options.onConflict?.(`the journal tree's stored frontier does not reproduce its signed root at size ${head.size}; nothing more is appended`);
    return null;
  }
}
