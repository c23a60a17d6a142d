import { DEFAULT_MAX_CLOCK_SKEW_MS, JOURNAL_TREE_STREAM, type Problem, type ProblemKind } from './chain-report.js';
import { type TrustedKey, checkCheckpoint } from './checkpoint.js';
import { journalLeafHash, journalTreeOrigin } from './journal-tree.js';
import { EMPTY_ROOT, MerkleFrontier } from './merkle.js';
import type { Pin } from './pinned-roots.js';
import { RecentFrontiers } from './recent-frontiers.js';

/**
 * Checks a journal tree (core/journal-tree.ts) as a store holds it, in one pass over its
 * leaves with memory bounded by its depth:
 *
 * - each leaf sits at its index and its stored hash is the RFC 6962 leaf hash of its note;
 * - each leaf is a stream checkpoint signed by a trusted key for `<journal>/<stream>`: it is
 *   returned, for the chain verifier to hold the stream to (ChainVerifier.expectPinned);
 * - the head is signed by a trusted key for origin `<journal>`, says the size and root the
 *   store says, has exactly that many leaves under it, and their tree has its root;
 * - each journal checkpoint published outside the store (`expectPublished`) is a prefix of
 *   the tree: the tree has at least its size, and its first `size` leaves have its root.
 *
 * Problems name the stream JOURNAL_TREE_STREAM. Leaves are handed over as the store lists
 * them; the head after them (a store appends leaves and head in one step, so leaves read
 * before the head and beyond it were never signed).
 */
export interface JournalTreeVerifierOptions {
  journal: string;
  trusted: readonly TrustedKey[];
  /** The time of verification: a signed time more than maxClockSkewMs after it is refused. */
  nowMs?: number;
  maxClockSkewMs?: number;
  /** What problems call the published checkpoints. */
  publishedName?: string;
}

/** A leaf's checkpoint, for the stream it names. */
export interface LeafCheckpoint {
  stream: string;
  pin: Pin;
}

/** Sizes back from the newest at which a head read after more leaves can still be checked. */
export const TREE_RECENT_MAX = 1024;

interface PublishedPin {
  size: number;
  root: string;
  line: number;
}

export class JournalTreeVerifier {
  private readonly frontier = new MerkleFrontier();
  private readonly recent = new RecentFrontiers(TREE_RECENT_MAX);
  private readonly problems: Problem[] = [];
  /** Published journal checkpoints, by size, matched as the leaves go past. */
  private readonly published = new Map<number, PublishedPin[]>();
  private readonly origin: string;
  private readonly skewMs: number;
  private leafProblems = 0;
  /** The index the next leaf should have: one past the last stored index seen. */
  private nextIndex = 0;
  /** The first published journal checkpoint the tree contradicts, and how many more it does. */
  private forked: { problem: Problem; more: number } | null = null;

  constructor(private readonly options: JournalTreeVerifierOptions) {
    this.origin = journalTreeOrigin(options.journal);
    this.skewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.recent.set(0, { frontier: this.frontier.clone(), maxMs: null });
  }

  get leaves(): number {
    return this.frontier.size;
  }

  /**
   * A journal tree checkpoint published outside the store (its note already checked: signed
   * by a trusted key for origin `<journal>`). Give them all before the leaves.
   */
  expectPublished(size: number, root: string, line: number): void {
    const pin = { size, root, line };
    const at = this.published.get(size);
    if (at) at.push(pin);
    else this.published.set(size, [pin]);
  }

  /** One leaf, in index order. Returns its stream checkpoint when the leaf is a valid one. */
  addLeaf(leaf: { index: number; note: string; hash: string }): LeafCheckpoint | null {
    this.matchPublished();
    const index = this.frontier.size;
    const note = typeof leaf.note === 'string' ? leaf.note : '';
    const recomputed = journalLeafHash(note);
    const expected = this.nextIndex;
    if (leaf.index !== expected) {
      this.leafProblem(leaf.index > expected ? 'missing' : 'duplicate',
        leaf.index > expected
          ? `${leaf.index === expected + 1 ? `leaf ${expected} is` : `leaves ${expected}–${leaf.index - 1} are`} missing (the next stored is leaf ${leaf.index})`
          : `leaf ${leaf.index} appears again after leaf ${expected - 1}`);
    }
    this.nextIndex = Math.max(expected, (Number.isSafeInteger(leaf.index) ? leaf.index : expected) + 1);
    const stored = typeof leaf.hash === 'string' && /^[0-9a-f]{64}$/.test(leaf.hash) ? Buffer.from(leaf.hash, 'hex') : null;
    if (stored === null || !stored.equals(recomputed)) this.leafProblem('modified', `leaf ${index}: its stored hash is not the hash of its note`);
    // The stored hash joins the tree, so one altered note is reported once, here, not again at the head.
    this.frontier.push(stored ?? recomputed);
    this.recent.set(this.frontier.size, { frontier: this.frontier.clone(), maxMs: null });
    return this.leafCheckpoint(index, note);
  }

  /**
   * The store's head, read after the leaves; null when the store has none (written before the
   * journal tree existed, or before its first checkpoint). Returns every problem found.
   */
  finish(head: { size: number; root: string; note: string; frontier?: readonly string[] } | null): Problem[] {
    this.matchPublished();
    const leaves = this.frontier.size;
    if (head === null) {
      if (leaves > 0) this.problem('unauthenticated', `${plural(leaves, 'leaf', 'leaves')} but no signed head: none of them is covered by a signature of the journal tree`);
    } else {
      this.checkHead(head);
    }
    this.publishedBeyondEnd();
    const more = this.forked?.more ?? 0;
    if (this.forked && more > 0) this.forked.problem.message += ` (and ${more.toLocaleString('en-US')} more published checkpoint${more === 1 ? ' does' : 's do'} not either)`;
    if (this.leafProblems > LEAF_PROBLEMS_SHOWN) {
      this.problems.push({ stream: JOURNAL_TREE_STREAM, seq: null, kind: 'modified', message: `${(this.leafProblems - LEAF_PROBLEMS_SHOWN).toLocaleString('en-US')} more leaf problems not shown` });
    }
    return this.problems;
  }

  private checkHead(head: { size: number; root: string; note: string; frontier?: readonly string[] }): void {
    const leaves = this.frontier.size;
    const check = checkCheckpoint(head.note, this.options.trusted, this.origin);
    if (!check.ok) {
      this.problem('checkpoint_invalid', `the head: ${check.reason.replace(/_/g, ' ')} — ${check.message}`);
      return;
    }
    if (check.body.size !== head.size || check.body.root !== head.root) {
      this.problem('checkpoint_invalid', `the store says its head has ${head.size} leaves and root ${head.root.slice(0, 16)}…, but its signed note says ${check.body.size} and ${check.body.root.slice(0, 16)}…`);
      return;
    }
    const now = this.options.nowMs;
    if (check.timeMs !== null && now !== undefined && check.timeMs > now + this.skewMs) {
      this.problem('time_invalid', `the head was signed at ${check.body.time}, more than ${Math.round(this.skewMs / 1000)} s after the time of verification`);
    }
    if (head.size > leaves) {
      this.problem('truncated', `the journal tree has ${plural(leaves, 'leaf', 'leaves')}, but its signed head covers ${head.size}`);
      return;
    }
    if (head.size < leaves) {
      const extra = leaves - head.size;
      this.problem('unauthenticated', `${plural(extra, 'leaf', 'leaves')} from leaf ${head.size} on ${extra === 1 ? 'is' : 'are'} covered by no signed head (it covers ${head.size})`);
    }
    const at = head.size === 0 ? { frontier: new MerkleFrontier() } : this.recent.at(head.size);
    if (!at) {
      this.problem('checkpoint_mismatch', `the head of size ${head.size} lies too far behind the ${leaves} leaves read to be checked`);
      return;
    }
    if (at.frontier.root().toString('hex') !== head.root) {
      this.problem('checkpoint_mismatch', `the signed head's root is not the root of the first ${plural(head.size, 'leaf', 'leaves')}`);
      return;
    }
    // Writers extend the tree from the stored frontier, and refuse one that is not the leaves'.
    const frontier = at.frontier.hashes().map((h) => h.toString('hex'));
    if (head.frontier !== undefined && (head.frontier.length !== frontier.length || head.frontier.some((h, i) => h !== frontier[i]))) {
      this.problem('checkpoint_mismatch', 'the stored frontier is not the frontier of the leaves: writers will append nothing more to the journal tree');
    }
  }

  /** Published checkpoints at the size the tree has reached. */
  private matchPublished(): void {
    const size = this.frontier.size;
    const due = this.published.get(size);
    if (!due) return;
    this.published.delete(size);
    const root = (size === 0 ? EMPTY_ROOT : this.frontier.root()).toString('hex');
    const forked = due.filter((p) => p.root !== root);
    const first = forked[0];
    if (!first) return;
    if (this.forked) {
      this.forked.more += forked.length;
      return;
    }
    const problem = this.problem('forked', `the journal tree checkpoint of ${plural(size, 'leaf', 'leaves')} published on line ${first.line} of ${this.publishedName()}: the first ${plural(size, 'leaf', 'leaves')} of the journal tree do not have its root — the tree was rewritten after it was published`);
    this.forked = { problem, more: forked.length - 1 };
  }

  /** Published checkpoints larger than the tree: it was cut back (or deleted). */
  private publishedBeyondEnd(): void {
    if (this.published.size === 0) return;
    const sizes = [...this.published.keys()].sort((a, b) => a - b);
    const largest = sizes[sizes.length - 1] as number;
    const line = (this.published.get(largest) as PublishedPin[])[0]?.line;
    const count = sizes.reduce((n, s) => n + (this.published.get(s)?.length ?? 0), 0);
    const others = count > 1 ? ` (${count} published checkpoints are larger than it)` : '';
    this.problem('truncated', `the journal tree has ${plural(this.frontier.size, 'leaf', 'leaves')}, but the checkpoint published on line ${line} of ${this.publishedName()} covers ${largest}${others}`);
    this.published.clear();
  }

  /** The leaf as a stream checkpoint: signed by a trusted key, for a stream of this journal. */
  private leafCheckpoint(index: number, note: string): LeafCheckpoint | null {
    const check = checkCheckpoint(note, this.options.trusted, null);
    if (!check.ok) {
      const claimed = note.slice(0, Math.max(0, note.indexOf('\n'))).slice(0, QUOTED_ORIGIN_MAX);
      this.leafProblem('checkpoint_invalid', `leaf ${index}${claimed === '' ? '' : ` (a checkpoint of "${claimed}")`}: ${check.reason.replace(/_/g, ' ')} — ${check.message}`);
      return null;
    }
    const prefix = `${this.options.journal}/`;
    const stream = check.body.origin.startsWith(prefix) ? check.body.origin.slice(prefix.length) : '';
    if (stream === '' || stream.includes('/')) {
      this.leafProblem('wrong_journal', `leaf ${index} is a checkpoint of "${check.body.origin}", not of a stream of journal "${this.options.journal}"`);
      return null;
    }
    const now = this.options.nowMs;
    if (check.timeMs !== null && now !== undefined && check.timeMs > now + this.skewMs) {
      this.leafProblem('time_invalid', `leaf ${index} was signed at ${check.body.time}, more than ${Math.round(this.skewMs / 1000)} s after the time of verification`);
      return null;
    }
    return { stream, pin: { size: check.body.size, root: check.body.root, source: 'leaf', ref: index } };
  }

  /** Leaf problems are counted past LEAF_PROBLEMS_SHOWN: a tree of rewritten leaves says so once, not a million times. */
  private leafProblem(kind: ProblemKind, message: string): void {
    if (++this.leafProblems <= LEAF_PROBLEMS_SHOWN) this.problem(kind, message);
  }

  /** Journal tree problems carry no seq: their messages name the leaf. */
  private problem(kind: ProblemKind, message: string): Problem {
    const problem: Problem = { stream: JOURNAL_TREE_STREAM, seq: null, kind, message };
    this.problems.push(problem);
    return problem;
  }

  private publishedName(): string {
    return this.options.publishedName ?? 'the published checkpoints';
  }
}

/** Leaf problems reported one by one before the rest are counted. */
export const LEAF_PROBLEMS_SHOWN = 20;
/** A claimed origin quoted in a problem is cut to this many characters: it may be anything. */
const QUOTED_ORIGIN_MAX = 100;

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
