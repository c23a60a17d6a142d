import type { MerkleFrontier } from './merkle.js';

/** A stream's tree as it stood at one size: its frontier, and the newest record time up to it. */
export interface TreeAt {
  frontier: MerkleFrontier;
  maxMs: number | null;
}

/**
 * The tree at each of a stream's last sizes, in a ring indexed by size, so a signature that
 * arrives after more records (a store's head read after a tail nobody signed) can still have
 * its root checked. A frontier is O(log n) references to hashes already made: keeping one per
 * record costs a small array copy, and computing a root happens only when one is asked for.
 */
export class RecentFrontiers {
  private readonly sizes: number[] = [];
  private readonly trees: TreeAt[] = [];

  constructor(private readonly capacity: number) {}

  set(size: number, tree: TreeAt): void {
    const slot = size % this.capacity;
    this.sizes[slot] = size;
    this.trees[slot] = tree;
  }

  at(size: number): TreeAt | undefined {
    const slot = size % this.capacity;
    return this.sizes[slot] === size ? this.trees[slot] : undefined;
  }
}
