import type Database from 'better-sqlite3';
import type { JournalLeaf, JournalTreeHead } from '../../../ports/journal-tree-store.js';
import { checkTreeAppend, mergeCosignatures } from '../shared/journal-tree-rules.js';

type Statement = Database.Statement<unknown[], unknown>;

/** The journal tree's writes, run on the write thread inside its transaction. */
export type TreeWriteOp =
  | { kind: 'tree.append'; journal: string; expectedSize: number; leaves: JournalLeaf[]; next: Omit<JournalTreeHead, 'journal' | 'cosignatures'> }
  | { kind: 'tree.cosign'; journal: string; size: number; lines: string[] };

export class SqliteTreeWrites {
  private readonly headSize: Statement;
  private readonly insertLeaf: Statement;
  private readonly upsertHead: Statement;
  private readonly cosignatures: Statement;
  private readonly setCosignatures: Statement;
  private readonly appendInSavepoint: (op: Extract<TreeWriteOp, { kind: 'tree.append' }>) => boolean;

  constructor(db: Database.Database) {
    this.headSize = db.prepare('SELECT size FROM journal_tree_heads WHERE journal = ?').pluck();
    this.insertLeaf = db.prepare('INSERT INTO journal_tree (journal, idx, note, hash) VALUES (?, ?, ?, ?)');
    this.upsertHead = db.prepare(`
      INSERT INTO journal_tree_heads (journal, size, root, note, frontier, cosignatures) VALUES (@journal, @size, @root, @note, @frontier, '[]')
      ON CONFLICT (journal) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, frontier = excluded.frontier, cosignatures = '[]'`);
    this.cosignatures = db.prepare('SELECT cosignatures FROM journal_tree_heads WHERE journal = ? AND size = ?').pluck();
    this.setCosignatures = db.prepare('UPDATE journal_tree_heads SET cosignatures = ? WHERE journal = ? AND size = ?');
    // Several statements: a savepoint of its own, so a failure undoes only this append.
    this.appendInSavepoint = db.transaction((op) => this.append(op));
  }

  run(op: TreeWriteOp): boolean {
    switch (op.kind) {
      case 'tree.append': return this.appendInSavepoint(op);
      case 'tree.cosign': {
        const kept = this.cosignatures.get(op.journal, op.size) as string | undefined;
        if (kept === undefined) return false;
        this.setCosignatures.run(JSON.stringify(mergeCosignatures(JSON.parse(kept) as string[], op.lines)), op.journal, op.size);
        return true;
      }
    }
  }

  /** The size check and the writes in one transaction: two appends from the same size cannot both win. */
  private append(op: Extract<TreeWriteOp, { kind: 'tree.append' }>): boolean {
    checkTreeAppend(op.expectedSize, op.leaves, op.next.size);
    const size = (this.headSize.get(op.journal) as number | undefined) ?? 0;
    if (size !== op.expectedSize) return false;
    for (const leaf of op.leaves) this.insertLeaf.run(op.journal, leaf.index, leaf.note, leaf.hash);
    this.upsertHead.run({ journal: op.journal, size: op.next.size, root: op.next.root, note: op.next.note, frontier: JSON.stringify(op.next.frontier) });
    return true;
  }
}
