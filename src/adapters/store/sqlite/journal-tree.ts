import type Database from 'better-sqlite3';
import type { JournalLeaf, JournalTreeHead, JournalTreeStore } from '../../../ports/journal-tree-store.js';
import { checkTreeAppend } from '../shared/journal-tree-rules.js';
import type { SqliteConnection } from './connection.js';

type Statement = Database.Statement<unknown[], unknown>;
type HeadRow = Omit<JournalTreeHead, 'frontier' | 'cosignatures'> & { frontier: string; cosignatures: string };

/** Reads on the serving connection; appends and cosignatures join the write thread's group commit. */
export class SqliteJournalTreeStore implements JournalTreeStore {
  private readonly headStmt: Statement;
  private readonly leavesStmt: Statement;
  private readonly findLeafStmt: Statement;

  constructor(private readonly conn: SqliteConnection) {
    this.headStmt = conn.db.prepare('SELECT journal, size, root, note, frontier, cosignatures FROM journal_tree_heads WHERE journal = ?');
    this.leavesStmt = conn.db.prepare('SELECT idx AS "index", note, hash FROM journal_tree WHERE journal = ? AND idx >= ? ORDER BY idx LIMIT ?');
    this.findLeafStmt = conn.db.prepare('SELECT min(idx) FROM journal_tree WHERE journal = ? AND hash = ?').pluck();
  }

  head(journal: string): Promise<JournalTreeHead | null> {
    return this.conn.run(() => {
      const row = this.headStmt.get(journal) as HeadRow | undefined;
      return row ? { ...row, frontier: JSON.parse(row.frontier) as string[], cosignatures: JSON.parse(row.cosignatures) as string[] } : null;
    });
  }

  async append(journal: string, expectedSize: number, leaves: JournalLeaf[], next: Omit<JournalTreeHead, 'journal' | 'cosignatures'>): Promise<boolean> {
    checkTreeAppend(expectedSize, leaves, next.size); // here too: an error crosses to the write thread without its class
    return (await this.conn.write({ kind: 'tree.append', journal, expectedSize, leaves, next })) as boolean;
  }

  findLeaf(journal: string, hash: string): Promise<number | null> {
    return this.conn.run(() => (this.findLeafStmt.get(journal, hash) as number | null | undefined) ?? null);
  }

  readLeaves(journal: string, fromIndex: number, limit: number): Promise<JournalLeaf[]> {
    return this.conn.run(() => this.leavesStmt.all(journal, Math.max(fromIndex, 0), Math.max(limit, 0)) as JournalLeaf[]);
  }

  async addCosignatures(journal: string, size: number, lines: string[]): Promise<boolean> {
    return (await this.conn.write({ kind: 'tree.cosign', journal, size, lines })) as boolean;
  }
}
