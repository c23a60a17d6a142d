import { type AuditRecord, recordLeafHash } from './audit-record.js';
import { type TrustedKey, checkCheckpoint, checkpointOrigin } from './checkpoint.js';
import { journalLeafHash, journalTreeOrigin } from './journal-tree.js';
import { verifyInclusion } from './merkle.js';
import { type WitnessPolicy, checkQuorum, logSignaturesOf } from './witness-quorum.js';

/**
 * Where a receipt's stream checkpoint sits in the journal tree: its leaf index, the RFC 6962
 * audit path to the root of a journal tree checkpoint, and that checkpoint's note with the
 * witnesses' cosignature lines. What lets witnesses vouch for a receipt.
 */
export interface JournalLeafProof {
  index: number;
  /** Hex hashes of the audit path, bottom up. */
  proof: string[];
  /** The journal tree checkpoint (origin `<journal>`), cosignature lines included. */
  checkpoint: string;
}

export interface ReceiptEntry {
  record: AuditRecord;
  leafIndex: number;
  proof: string[];
  treeSize: number;
  checkpoint: string;
  /** Present once the stream checkpoint is in a journal tree checkpoint; needed for a witness quorum. */
  journalLeaf?: JournalLeafProof;
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
 * own journal and stream. With a witness policy, the stream checkpoint must moreover be a leaf
 * of a journal tree checkpoint signed by the journal and cosigned by a quorum of the trusted
 * witnesses (checkJournalLeaf): the record is then in the history those witnesses saw.
 */
export function checkReceiptEntry(entry: ReceiptEntry, trusted: readonly TrustedKey[], witnesses?: WitnessPolicy): ReceiptCheck {
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
  if (!included) return result(false, 'inclusion proof does not lead to the signed root');
  if (witnesses === undefined) return result(true, null);
  const witnessed = checkJournalLeaf(entry.journalLeaf, entry.checkpoint, record.journal, trusted, witnesses);
  return witnessed === null ? result(true, null) : result(false, witnessed);
}

/**
 * The stream checkpoint `note` is leaf `leaf.index` of the journal tree checkpoint
 * `leaf.checkpoint`, which the journal signed (origin `<journal>`) and a quorum of the
 * witnesses cosigned. Null when so; else why not.
 */
export function checkJournalLeaf(leaf: JournalLeafProof | undefined, note: string, journal: string, trusted: readonly TrustedKey[], witnesses: WitnessPolicy): string | null {
  if (typeof leaf !== 'object' || leaf === null || typeof leaf.checkpoint !== 'string' || !Number.isSafeInteger(leaf.index) || !Array.isArray(leaf.proof)) {
    return 'the receipt does not place its checkpoint in the journal tree (no journalLeaf), so no witness vouches for it';
  }
  const tree = checkCheckpoint(logSignaturesOf(leaf.checkpoint), trusted, journalTreeOrigin(journal));
  if (!tree.ok) return `journal tree checkpoint ${tree.reason.replace(/_/g, ' ')}: ${tree.message}`;
  const path = leaf.proof.map((p) => Buffer.from(String(p), 'hex'));
  if (!verifyInclusion(leaf.index, tree.body.size, journalLeafHash(note), path, Buffer.from(tree.body.root, 'hex'))) {
    return `the checkpoint is not leaf ${leaf.index} of the journal tree checkpoint of size ${tree.body.size}`;
  }
  const quorum = checkQuorum(leaf.checkpoint, witnesses);
  if (quorum.forged.length > 0) return `the journal tree checkpoint carries a cosignature by ${quorum.forged.join(', ')} that does not verify`;
  if (!quorum.met) return `the journal tree checkpoint of size ${tree.body.size} carries ${quorum.valid.length} valid cosignature${quorum.valid.length === 1 ? '' : 's'} from the witness keys given, ${witnesses.quorum} required`;
  return null;
}
