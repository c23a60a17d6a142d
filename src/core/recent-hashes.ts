/**
 * The hashes of recently seen seqs of one stream (to tell a duplicate from a different record
 * claiming the same seq), in a ring indexed by seq. A Map trimmed by deleting its oldest entry
 * did the same, but its iterator walked over every deleted slot: a third of verify's time.
 */
export class RecentHashes {
  private readonly seqs: number[];
  private readonly hashes: string[];

  constructor(private readonly capacity: number) {
    this.seqs = new Array<number>(capacity).fill(0);
    this.hashes = new Array<string>(capacity).fill('');
  }

  get(seq: number): string | undefined {
    const slot = seq % this.capacity;
    return this.seqs[slot] === seq ? this.hashes[slot] : undefined;
  }

  set(seq: number, hash: string): void {
    const slot = seq % this.capacity;
    this.seqs[slot] = seq;
    this.hashes[slot] = hash;
  }
}
