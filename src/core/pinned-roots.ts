import { HASH_BYTES } from './merkle.js';

/**
 * Roots a stream must reproduce that come from outside it: each leaf of the journal tree (a
 * checkpoint the stream's writer signed, kept in the journal's one witnessed log), and each
 * checkpoint published outside the journal (`paylog checkpoints fetch`). A stream has one leaf
 * per checkpoint it ever made — one a minute while it runs, by default — so they are held
 * packed (a size, a reference and 32 root bytes each, about 50 bytes) rather than as objects,
 * and matched by a cursor as the stream's records go past.
 */
export type PinSource = 'leaf' | 'published';

export interface Pin {
  size: number;
  /** Hex root. */
  root: string;
  source: PinSource;
  /** The leaf's index in the journal tree, or the line of the published checkpoint. */
  ref: number;
}

/** Pins one verification holds at most, over every stream: about 250 MB. */
export const PINS_MAX = 5_000_000;

const INITIAL_CAPACITY = 4;

export class PinnedRoots {
  private sizes: number[] = [];
  /** ref × 2, plus 1 for a published checkpoint. */
  private refs: number[] = [];
  private roots: Buffer = Buffer.alloc(INITIAL_CAPACITY * HASH_BYTES);
  private count = 0;
  /** Pins before it have been taken; those from it on are in size order when `ordered`. */
  private cursor = 0;
  private ordered = true;

  get pending(): number {
    return this.count - this.cursor;
  }

  add(pin: Pin): void {
    const root = Buffer.from(pin.root, 'hex');
    if (root.length !== HASH_BYTES) throw new RangeError('a pinned root is 32 bytes');
    if ((this.count + 1) * HASH_BYTES > this.roots.length) {
      const grown = Buffer.alloc(this.roots.length * 2);
      this.roots.copy(grown);
      this.roots = grown;
    }
    if (this.count > this.cursor && pin.size < (this.sizes[this.count - 1] as number)) this.ordered = false;
    this.sizes.push(pin.size);
    this.refs.push(pin.ref * 2 + (pin.source === 'published' ? 1 : 0));
    root.copy(this.roots, this.count * HASH_BYTES);
    this.count++;
  }

  /** The smallest size among the pins not taken yet; Infinity when there are none. */
  next(): number {
    if (this.cursor === this.count) return Number.POSITIVE_INFINITY;
    this.order();
    return this.sizes[this.cursor] as number;
  }

  /** Takes the pins at the smallest size: those whose root is not `root` (hex) are returned. */
  takeNext(root: Buffer): Pin[] {
    const size = this.next();
    const differing: Pin[] = [];
    while (this.cursor < this.count && this.sizes[this.cursor] === size) {
      const at = this.cursor * HASH_BYTES;
      if (!root.equals(this.roots.subarray(at, at + HASH_BYTES))) differing.push(this.pinAt(this.cursor));
      this.cursor++;
    }
    this.release();
    return differing;
  }

  /** Every pin not taken yet, in size order, and forgets them. */
  takeRest(): Pin[] {
    this.order();
    const rest: Pin[] = [];
    for (let i = this.cursor; i < this.count; i++) rest.push(this.pinAt(i));
    this.cursor = this.count;
    this.release();
    return rest;
  }

  private pinAt(i: number): Pin {
    const ref = this.refs[i] as number;
    return {
      size: this.sizes[i] as number,
      root: this.roots.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES).toString('hex'),
      source: ref % 2 === 1 ? 'published' : 'leaf',
      ref: Math.floor(ref / 2),
    };
  }

  /** Sorts the pins not taken yet by size (stably: leaves and lines keep their order at one size). */
  private order(): void {
    if (this.ordered) return;
    const idx = Array.from({ length: this.count - this.cursor }, (_, i) => this.cursor + i);
    idx.sort((a, b) => (this.sizes[a] as number) - (this.sizes[b] as number) || a - b);
    const roots = Buffer.alloc(this.roots.length);
    this.roots.copy(roots, 0, 0, this.cursor * HASH_BYTES);
    idx.forEach((from, k) => this.roots.copy(roots, (this.cursor + k) * HASH_BYTES, from * HASH_BYTES, (from + 1) * HASH_BYTES));
    // Rebuilt rather than spliced: a spread of millions of arguments would overflow the stack.
    this.sizes = this.sizes.slice(0, this.cursor).concat(idx.map((i) => this.sizes[i] as number));
    this.refs = this.refs.slice(0, this.cursor).concat(idx.map((i) => this.refs[i] as number));
    this.roots = roots;
    this.ordered = true;
  }

  /** Once every pin is taken, their memory goes. */
  private release(): void {
    if (this.cursor < this.count) return;
    this.sizes = [];
    this.refs = [];
    this.roots = Buffer.alloc(INITIAL_CAPACITY * HASH_BYTES);
    this.count = 0;
    this.cursor = 0;
    this.ordered = true;
  }
}
