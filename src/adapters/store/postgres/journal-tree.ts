import type { JournalLeaf, JournalTreeHead, JournalTreeStore } from '../../../ports/journal-tree-store.js';
import { checkTreeAppend, mergeCosignatures } from '../shared/journal-tree-rules.js';
import type { PostgresConnection } from './connection.js';

type HeadRow = Omit<JournalTreeHead, 'size'> & { size: string };

export class PostgresJournalTreeStore implements JournalTreeStore {
  constructor(private readonly conn: PostgresConnection) {}

  async head(journal: string): Promise<JournalTreeHead | null> {
    const { rows } = await this.conn.query<HeadRow>({
      name: 'tree-head', text: 'SELECT journal, size, root, note, frontier, cosignatures FROM journal_tree_heads WHERE journal = $1', values: [journal],
    });
    const row = rows[0];
    return row ? { ...row, size: Number(row.size) } : null;
  }

  /** The head row is locked for the size check and the writes: of two appends from one size, one wins. */
  async append(journal: string, expectedSize: number, leaves: JournalLeaf[], next: Omit<JournalTreeHead, 'journal' | 'cosignatures'>): Promise<boolean> {
    checkTreeAppend(expectedSize, leaves, next.size);
    return this.conn.transaction(async (client) => {
      // A first append has no row to lock; the leaf's primary key then settles a race.
      const { rows } = await client.query<{ size: string }>({ name: 'tree-lock', text: 'SELECT size FROM journal_tree_heads WHERE journal = $1 FOR UPDATE', values: [journal] });
      if (Number(rows[0]?.size ?? 0) !== expectedSize) return false;
      const inserted = await client.query({
        name: 'tree-insert',
        text: `INSERT INTO journal_tree (journal, idx, note, hash) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
        values: [journal, leaves.map((l) => l.index), leaves.map((l) => l.note), leaves.map((l) => l.hash)],
      });
      if (inserted.rowCount !== leaves.length) throw new RaceLost();
      await client.query({
        name: 'tree-head-upsert',
        text: `INSERT INTO journal_tree_heads (journal, size, root, note, frontier, cosignatures) VALUES ($1, $2, $3, $4, $5, '[]')
               ON CONFLICT (journal) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, frontier = excluded.frontier, cosignatures = '[]'`,
        values: [journal, next.size, next.root, next.note, JSON.stringify(next.frontier)],
      });
      return true;
    }).catch((err: unknown) => {
      if (err instanceof RaceLost) return false;
      throw err;
    });
  }

  async readLeaves(journal: string, fromIndex: number, limit: number): Promise<JournalLeaf[]> {
    const { rows } = await this.conn.query<{ index: string; note: string; hash: string }>({
      name: 'tree-leaves', text: 'SELECT idx AS "index", note, hash FROM journal_tree WHERE journal = $1 AND idx >= $2 ORDER BY idx LIMIT $3',
      values: [journal, Math.max(fromIndex, 0), Math.max(limit, 0)],
    });
    return rows.map((r) => ({ index: Number(r.index), note: r.note, hash: r.hash }));
  }

  async findLeaf(journal: string, hash: string): Promise<number | null> {
    const { rows: [row] } = await this.conn.query<{ index: string | null }>({
      name: 'tree-find-leaf', text: 'SELECT min(idx) AS "index" FROM journal_tree WHERE journal = $1 AND hash = $2', values: [journal, hash],
    });
    return row?.index == null ? null : Number(row.index);
  }

  async addCosignatures(journal: string, size: number, lines: string[]): Promise<boolean> {
    return this.conn.transaction(async (client) => {
      const { rows } = await client.query<{ cosignatures: string[] }>({
        name: 'tree-cosignatures', text: 'SELECT cosignatures FROM journal_tree_heads WHERE journal = $1 AND size = $2 FOR UPDATE', values: [journal, size],
      });
      const row = rows[0];
      if (!row) return false;
      await client.query({
        name: 'tree-cosign', text: 'UPDATE journal_tree_heads SET cosignatures = $1 WHERE journal = $2 AND size = $3',
        values: [JSON.stringify(mergeCosignatures(row.cosignatures, lines)), journal, size],
      });
      return true;
    });
  }
}

/** Another writer inserted the first leaf at the same time: its transaction is rolled back, and the append reported lost. */
class RaceLost extends Error {}
