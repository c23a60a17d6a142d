import { type AuditRecord, recordLeafHash } from './audit-record.js';
import { type TrustedKey, checkCheckpoint, checkpointOrigin } from './checkpoint.js';
import { verifyInclusion } from './merkle.js';

export interface ReceiptEntry {
  record: AuditRecord;
  leafIndex: number;
  proof: string[];
  treeSize: number;
  checkpoint: string;
}

export interface ReceiptCheck {
  seq: number;
  stream: string;
  type: string;
  ok: boolean;
  reason: string | null;
}

/**
 * Checks one proven record offline: its hash matches its content, its inclusion proof leads
 * to the checkpoint's root, and the checkpoint is signed by a trusted key for the record's
 * own journal and stream.
 */
export function checkReceiptEntry(entry: ReceiptEntry, trusted: readonly TrustedKey[]): ReceiptCheck {
  const { record } = entry;
  const result = (ok: boolean, reason: string | null): ReceiptCheck => ({ seq: record?.seq, stream: record?.stream, type: record?.type, ok, reason });
  if (typeof record !== 'object' || record === null || typeof record.hash !== 'string') return result(false, 'not a record');
  if (recordLeafHash(record) !== record.hash) return result(false, 'record content does not match its hash');
  if (entry.leafIndex !== record.seq - 1) return result(false, 'leaf index does not match the record seq');
  // Key validity windows are judged at the note's own signed time, never at the record's unsigned ts.
  const check = checkCheckpoint(entry.checkpoint, trusted, checkpointOrigin(record.journal, record.stream));
  if (!check.ok) return result(false, `checkpoint ${check.reason.replace(/_/g, ' ')}: ${check.message}`);
  if (check.body.size !== entry.treeSize) return result(false, 'tree size does not match the checkpoint');
  const proof = Array.isArray(entry.proof) ? entry.proof.map((p) => Buffer.from(String(p), 'hex')) : [];
  const included = verifyInclusion(entry.leafIndex, entry.treeSize, Buffer.from(record.hash, 'hex'), proof, Buffer.from(check.body.root, 'hex'));
  return included ? result(true, null) : result(false, 'inclusion proof does not lead to the signed root');
}
