import { generateKeyPairSync } from 'node:crypto';
import { consistencyProof, hashLeaf, subtreeRoot } from '../../src/core/merkle.js';
import { type NoteSigner, signNote, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';

/**
 * A transparency log for witness tests, built with paylog's own Merkle code: leaves
 * `leaf <i>`, checkpoints signed with a signed-note Ed25519 key named after the origin (as
 * C2SP logs do), consistency proofs between any two sizes.
 */
export class TestLog {
  readonly signer: NoteSigner;
  readonly vkey: string;
  private readonly leaves: Buffer[] = [];

  private readonly salt: string;

  constructor(readonly origin: string, leafCount = 0, options: { salt?: string; signer?: NoteSigner } = {}) {
    this.signer = options.signer ?? signerFromPrivateKey(origin, generateKeyPairSync('ed25519').privateKey);
    this.vkey = verifierKeyOf(this.signer);
    this.salt = options.salt ?? '';
    this.grow(leafCount);
  }

  /** The same key over other leaves from `from` on: what an equivocating log would show. */
  fork(salt: string, from = 0): TestLog {
    const fork = new TestLog(this.origin, 0, { salt, signer: this.signer });
    fork.leaves.push(...this.leaves.slice(0, from));
    return fork;
  }

  grow(count: number): this {
    for (let i = 0; i < count; i++) this.leaves.push(hashLeaf(Buffer.from(`leaf ${this.leaves.length}${this.salt}`)));
    return this;
  }

  get size(): number {
    return this.leaves.length;
  }

  root(size: number): Buffer {
    return subtreeRoot(this.leaves, 0, size);
  }

  text(size: number, extensions: string[] = []): string {
    return `${this.origin}\n${size}\n${this.root(size).toString('base64')}\n${extensions.map((e) => `${e}\n`).join('')}`;
  }

  /** The checkpoint of the first `size` leaves, signed by this log's key (and any others given). */
  checkpoint(size: number, options: { extensions?: string[]; signers?: NoteSigner[] } = {}): string {
    return signNote(this.text(size, options.extensions), options.signers ?? [this.signer]);
  }

  proof(from: number, to: number): Buffer[] {
    return consistencyProof(this.leaves, from, to);
  }

  /** An add-checkpoint body from `old` to `size`, with the right proof unless one is given. */
  body(old: number, size: number, options: { proof?: Buffer[]; note?: string; extensions?: string[] } = {}): string {
    const proof = options.proof ?? (old === 0 ? [] : this.proof(old, size));
    return addCheckpointBody(old, proof, options.note ?? this.checkpoint(size, { extensions: options.extensions }));
  }
}

export function addCheckpointBody(old: number, proof: Buffer[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${note}`;
}
