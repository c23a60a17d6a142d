import { hashLeaf } from './merkle.js';

/**
 * The journal tree: one RFC 6962 tree per journal, whose leaves are its streams' signed
 * checkpoints — each leaf the whole note, signatures included — in the order they were made.
 * It is the journal's one witnessed log: its own checkpoints (origin `<journal>`) are what
 * witnesses cosign and auditors keep, whatever the number of streams, and a stream that
 * disappears with its checkpoints is still named in it.
 */
export function journalTreeOrigin(journal: string): string {
  return journal;
}

/** A leaf's hash: RFC 6962's over the note's bytes. */
export function journalLeafHash(note: string): Buffer {
  return hashLeaf(Buffer.from(note, 'utf8'));
}
