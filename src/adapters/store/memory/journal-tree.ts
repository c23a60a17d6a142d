import type { JournalLeaf, JournalTreeHead, JournalTreeStore } from '../../../ports/journal-tree-store.js';
import { checkTreeAppend, mergeCosignatures } from '../shared/journal-tree-rules.js';
import { type MemoryState, copy } from './state.js';

export class MemoryJournalTreeStore implements JournalTreeStore {
  constructor(private readonly state: MemoryState) {}

  async head(journal: string): Promise<JournalTreeHead | null> {
    this.state.assertOpen();
    const head = this.state.treeHeads.get(journal);
    return head ? copy(head) : null;
  }

  async append(journal: string, expectedSize: number, leaves: JournalLeaf[], next: Omit<JournalTreeHead, 'journal' | 'cosignatures'>): Promise<boolean> {
    this.state.assertOpen();
    checkTreeAppend(expectedSize, leaves, next.size);
    if ((this.state.treeHeads.get(journal)?.size ?? 0) !== expectedSize) return false;
    const stored = this.state.treeLeaves.get(journal) ?? [];
    stored.push(...copy(leaves));
    this.state.treeLeaves.set(journal, stored);
    this.state.treeHeads.set(journal, { ...copy(next), journal, cosignatures: [] });
    return true;
  }

  async readLeaves(journal: string, fromIndex: number, limit: number): Promise<JournalLeaf[]> {
    this.state.assertOpen();
    const leaves = this.state.treeLeaves.get(journal) ?? [];
    return copy(leaves.slice(Math.max(fromIndex, 0), Math.max(fromIndex, 0) + Math.max(limit, 0)));
  }

  async findLeaf(journal: string, hash: string): Promise<number | null> {
    this.state.assertOpen();
    return (this.state.treeLeaves.get(journal) ?? []).find((leaf) => leaf.hash === hash)?.index ?? null;
  }

  async addCosignatures(journal: string, size: number, lines: string[]): Promise<boolean> {
    this.state.assertOpen();
    const head = this.state.treeHeads.get(journal);
    if (!head || head.size !== size) return false;
    head.cosignatures = mergeCosignatures(head.cosignatures, lines);
    return true;
  }
}
