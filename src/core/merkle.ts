import { createHash } from 'node:crypto';
import { sha256 } from './sha256.js';

/**
 * RFC 6962 Merkle trees over 32-byte leaf hashes: leaf = SHA-256(0x00 ‖ data),
 * node = SHA-256(0x01 ‖ left ‖ right). Sizes and indexes are plain numbers (safe up to
 * 2^53) and use arithmetic, not 32-bit bit operations.
 */
export const HASH_BYTES = 32;
const NODE_PREFIX = Buffer.from([0x01]);
const LEAF_PREFIX = Buffer.from([0x00]);
export const EMPTY_ROOT = createHash('sha256').digest();

export function hashLeaf(data: Buffer): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** 0x01 ‖ left ‖ right, reused: hashing is synchronous, and a node costs one allocation fewer. */
const nodeInput = Buffer.alloc(1 + 2 * HASH_BYTES, 0x01);

export function hashChildren(left: Buffer, right: Buffer): Buffer {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) {
    return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  }
  left.copy(nodeInput, 1);
  right.copy(nodeInput, 1 + HASH_BYTES);
  return sha256(nodeInput);
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** The largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The right frontier of a tree: the roots of its perfect subtrees, left to right.
 * O(log n) hashes; appending a leaf and computing the root cost O(log n) hashing.
 */
export class MerkleFrontier {
  private nodes: Buffer[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(leafHash: Buffer): void {
    let carry = leafHash;
    for (let n = this.count; isOdd(n); n = half(n)) carry = hashChildren(this.nodes.pop() as Buffer, carry);
    this.nodes.push(carry);
    this.count++;
  }

  root(): Buffer {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let acc = this.nodes[this.nodes.length - 1] as Buffer;
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = hashChildren(this.nodes[i] as Buffer, acc);
    return acc;
  }

  clone(): MerkleFrontier {
    const copy = new MerkleFrontier();
    copy.nodes = [...this.nodes];
    copy.count = this.count;
    return copy;
  }

  /** The frontier's hashes, left to right: with its size, all it takes to go on appending. */
  hashes(): Buffer[] {
    return [...this.nodes];
  }

  /**
   * A frontier from its size and hashes (as `hashes()` gave them). Throws when their number
   * cannot be a frontier of that size; whether they are the right hashes only a signed root
   * they reproduce can tell.
   */
  static of(size: number, hashes: readonly Buffer[]): MerkleFrontier {
    let expected = 0;
    for (let n = size; n > 0; n = Math.floor(n / 2)) expected += n % 2;
    if (!Number.isSafeInteger(size) || size < 0 || hashes.length !== expected || hashes.some((h) => h.length !== HASH_BYTES)) {
      throw new RangeError(`not a frontier of a tree of ${size} leaves`);
    }
    const frontier = new MerkleFrontier();
    frontier.nodes = [...hashes];
    frontier.count = size;
    return frontier;
  }
}

/** MTH over leaves[lo, hi). */
export function subtreeRoot(leaves: readonly Buffer[], lo: number, hi: number): Buffer {
  const frontier = new MerkleFrontier();
  for (let i = lo; i < hi; i++) frontier.push(leaves[i] as Buffer);
  return frontier.root();
}

/** RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(leaves: readonly Buffer[], index: number, size: number): Buffer[] {
  if (!(index >= 0 && index < size && size <= leaves.length)) throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  const path = (m: number, lo: number, hi: number): Buffer[] => {
    if (hi - lo === 1) return [];
    const k = splitPoint(hi - lo);
    return m < k
      ? [...path(m, lo, lo + k), subtreeRoot(leaves, lo + k, hi)]
      : [...path(m - k, lo + k, hi), subtreeRoot(leaves, lo, lo + k)];
  };
  return path(index, 0, size);
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]): proves the tree of `size1` leaves is a prefix of the one of `size2`. */
export function consistencyProof(leaves: readonly Buffer[], size1: number, size2: number): Buffer[] {
  if (!(size1 >= 0 && size1 <= size2 && size2 <= leaves.length)) throw new RangeError(`no consistency from ${size1} to ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const sub = (m: number, lo: number, hi: number, whole: boolean): Buffer[] => {
    if (m === hi - lo) return whole ? [] : [subtreeRoot(leaves, lo, hi)];
    const k = splitPoint(hi - lo);
    return m <= k
      ? [...sub(m, lo, lo + k, whole), subtreeRoot(leaves, lo + k, hi)]
      : [...sub(m - k, lo + k, hi, false), subtreeRoot(leaves, lo, lo + k)];
  };
  return sub(size1, 0, size2, true);
}

const validHash = (h: Buffer): boolean => h.length === HASH_BYTES;

/** RFC 9162 §2.1.3.2: does `proof` place `leafHash` at `index` of the tree with `root`? */
export function verifyInclusion(index: number, size: number, leafHash: Buffer, proof: readonly Buffer[], root: Buffer): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  if (!validHash(leafHash) || !validHash(root) || !proof.every(validHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!isOdd(fn) && fn !== 0);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: is the tree (size1, root1) a prefix of (size2, root2)? */
export function verifyConsistency(size1: number, size2: number, proof: readonly Buffer[], root1: Buffer, root2: Buffer): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 >= 0 && size1 <= size2)) return false;
  if (!proof.every(validHash)) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0 || !validHash(root1) || !validHash(root2)) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!isOdd(fn) && fn !== 0);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
