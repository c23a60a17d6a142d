/**
 * A stream's signed tree head: the C2SP checkpoint note a writer signs with every commit, over
 * the stream's size and RFC 6962 root after that commit, with the signing time in the note.
 * Stores keep the newest one beside the stream's records, written in the same atomic step;
 * exports and the Lambda audit mirror carry it as one JSON line after a commit's records:
 *
 *   {"head":{"stream":"str_…","size":12,"root":"<hex>","note":"<signed note>"}}
 *
 * Every record of an honest journal is covered by a signature: its stream's newest head (or a
 * seal). A record beyond it is one the key holder never signed.
 */
export interface SignedHead {
  stream: string;
  /** Records covered: seq 1 … size. */
  size: number;
  /** Hex RFC 6962 root of those records' leaf hashes. */
  root: string;
  /** The C2SP checkpoint note (origin `<journal>/<stream>`), with a `time` extension line. */
  note: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The JSON line an export or a mirror writes for a head. */
export function headLine(head: SignedHead): string {
  return JSON.stringify({ head: { stream: head.stream, size: head.size, root: head.root, note: head.note } });
}

/** The head a parsed JSON line carries, or null when the line is not a head line. */
export function headOfLine(value: unknown): SignedHead | null {
  if (typeof value !== 'object' || value === null) return null;
  const head = (value as { head?: unknown }).head;
  if (typeof head !== 'object' || head === null) return null;
  const h = head as Record<string, unknown>;
  const ok = typeof h.stream === 'string' && Number.isSafeInteger(h.size) && (h.size as number) >= 0
    && typeof h.root === 'string' && HEX64.test(h.root) && typeof h.note === 'string';
  return ok ? { stream: h.stream as string, size: h.size as number, root: h.root as string, note: h.note as string } : null;
}
