import type pg from 'pg';
import { recordLine } from '../../../core/audit-record.js';
import type { Payment } from '../../../core/payment.js';
import type { IdempotencyUpdate, KeyClaim } from '../../../ports/idempotency-store.js';
import type { CommitUnit } from '../../../ports/journal-store.js';
import { StreamConflictError } from '../../../ports/store.js';
import { sqlStatusList } from '../shared/payment-transition.js';
import { checkClaimHeld } from '../shared/claim-fence.js';
import { type LockedBatch, keyId } from './batch-lock.js';

/**
 * Every write of a journal commit in ONE statement, so a commit costs a fixed number of round
 * trips however many units it holds: the records, the payments (forward-only: a row leaves only a
 * mutable status), the idempotency keys, the checkpoints, and the streams' heads and seals, each
 * one multi-row statement over arrays. The rows it updates are locked already (lockBatch), and a
 * row is updated at most once per statement, so the batch's changes to one key or one stream are
 * folded into one row first, in unit order. The records' and payments' bodies, most of the bytes,
 * go as one text each, one body a line (JSON.stringify never writes a line break), split by the
 * server: as text arrays the driver would escape every quote of every body.
 */
const WRITE_BATCH = `
WITH records AS (
  INSERT INTO journal (stream, seq, hash, resource, type, ts, body)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], string_to_array($7::text, E'\\n'))
), payments AS (
  INSERT INTO payments (id, merchant_id, status, updated_at, merchant_reference, body)
  SELECT * FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::text[], string_to_array($13::text, E'\\n'))
  ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
    merchant_reference = excluded.merchant_reference, body = excluded.body
  WHERE payments.status IN (${sqlStatusList()})
), keys AS (
  -- A key claimed here (fingerprint given) becomes the claim's row; any other keeps what the batch does not set.
  UPDATE idempotency AS i SET
    fingerprint = coalesce(u.fingerprint, i.fingerprint),
    payment_id = CASE WHEN u.fingerprint IS NULL THEN coalesce(u.payment_id, i.payment_id) ELSE u.payment_id END,
    response = CASE WHEN u.fingerprint IS NULL THEN coalesce(u.response, i.response) ELSE u.response END,
    lease_expires_at = coalesce(u.lease, i.lease_expires_at),
    expires_at = coalesce(u.expires, i.expires_at),
    created_at = coalesce(u.created, i.created_at)
  FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
    AS u (merchant_id, key, payment_id, response, fingerprint, lease, expires, created)
  WHERE i.merchant_id = u.merchant_id AND i.key = u.key
), checkpoints AS (
  INSERT INTO checkpoints (stream, size, root, note, created_at)
  SELECT * FROM unnest($22::text[], $23::bigint[], $24::text[], $25::text[], $26::text[])
), streams AS (
  UPDATE streams AS s SET
    head_size = coalesce(u.size, s.head_size), head_root = coalesce(u.root, s.head_root), head_note = coalesce(u.note, s.head_note),
    state = coalesce(u.state, s.state), closed_by = coalesce(u.closed_by, s.closed_by), closed_at = coalesce(u.closed_at, s.closed_at)
  FROM unnest($27::text[], $28::bigint[], $29::text[], $30::text[], $31::text[], $32::text[], $33::text[])
    AS u (id, size, root, note, state, closed_by, closed_at)
  WHERE s.id = u.id
)
SELECT 1`;

/** A key's changes in one batch, folded in unit order: a claim starts the row afresh. */
interface KeyChange {
  update: Pick<IdempotencyUpdate, 'merchantId' | 'key'>;
  claim?: KeyClaim;
  paymentId?: string;
  response?: string;
}

/** A stream's changes in one batch: its latest signed head, and a seal. */
interface StreamChange {
  size?: number;
  root?: string;
  note?: string;
  sealed?: { by: string; at: string };
}

/**
 * Checks the fences of the batch (IdempotencyUpdate.heldUntil) against the keys as locked, and
 * writes everything. A fenced unit sees the claims of the units before it in the batch.
 */
export async function writeBatch(client: pg.PoolClient, units: readonly CommitUnit[], locked: LockedBatch): Promise<void> {
  const keys = new Map<string, KeyChange>();
  const leases = new Map<string, string>();
  for (const [id, held] of locked.keys) if (!held.inserted) leases.set(id, held.row.leaseExpiresAt);
  const streams = new Map<string, StreamChange>();
  const payments = new Map<string, Payment>();
  for (const unit of units) {
    // The last version of each payment in the batch is the one written.
    if (unit.payment) payments.set(unit.payment.id, unit.payment);
    const update = unit.idempotency;
    if (update) {
      const id = keyId(update);
      if (update.claim) leases.set(id, update.claim.leaseExpiresAt);
      checkClaimHeld(update, leases.get(id));
      // A key without a row was purged: nothing is left to update.
      if (locked.keys.has(id)) {
        const change: KeyChange = update.claim ? { update, claim: update.claim } : keys.get(id) ?? { update };
        if (update.paymentId !== undefined) change.paymentId = update.paymentId;
        if (update.response !== undefined) change.response = JSON.stringify(update.response);
        keys.set(id, change);
      }
    }
    if (unit.head) Object.assign(streamChange(streams, unit.head.stream), { size: unit.head.size, root: unit.head.root, note: unit.head.note });
    if (unit.seal) streamChange(streams, unit.seal.stream).sealed = { by: unit.seal.by, at: unit.seal.at };
  }
  const records = units.flatMap((u) => u.records);
  const checkpoints = units.flatMap((u) => (u.checkpoint ? [u.checkpoint] : []));
  const latest = [...payments.values()];
  const changes = [...keys.values()];
  const streamIds = [...streams.keys()];
  const streamChanges = [...streams.values()];
  await client.query({
    name: 'write-batch',
    text: WRITE_BATCH,
    values: [
      records.map((r) => r.stream), records.map((r) => r.seq), records.map((r) => r.hash), records.map((r) => r.resource),
      records.map((r) => r.type), records.map((r) => r.ts), lines(records.map(recordLine)),
      latest.map((p) => p.id), latest.map((p) => p.merchantId), latest.map((p) => p.status), latest.map((p) => p.updatedAt),
      latest.map((p) => p.merchantReference ?? null), lines(latest.map((p) => JSON.stringify(p))),
      changes.map((c) => c.update.merchantId), changes.map((c) => c.update.key), changes.map((c) => c.paymentId ?? null),
      changes.map((c) => c.response ?? null), changes.map((c) => c.claim?.fingerprint ?? null), changes.map((c) => c.claim?.leaseExpiresAt ?? null),
      changes.map((c) => c.claim?.expiresAt ?? null), changes.map((c) => c.claim?.now ?? null),
      checkpoints.map((c) => c.stream), checkpoints.map((c) => c.size), checkpoints.map((c) => c.root), checkpoints.map((c) => c.note),
      checkpoints.map((c) => c.createdAt),
      streamIds, streamChanges.map((s) => s.size ?? null), streamChanges.map((s) => s.root ?? null), streamChanges.map((s) => s.note ?? null),
      streamChanges.map((s) => (s.sealed ? 'sealed' : null)), streamChanges.map((s) => s.sealed?.by ?? null), streamChanges.map((s) => s.sealed?.at ?? null),
    ],
  }).catch((err: { code?: string; table?: string; detail?: string }) => {
    if (err.table === 'checkpoints') {
      // The key the constraint names: "Key (stream, size)=(str_1, 3) already exists", "Key (stream)=(str_1) is not present …".
      const [, stream = checkpoints[0]?.stream, size = '?'] = /=\(([^,)]*)(?:, (\d+))?\)/.exec(err.detail ?? '') ?? [];
      if (err.code === '23503') throw new StreamConflictError(`stream ${stream} does not exist`);
      if (err.code === '23505') throw new StreamConflictError(`stream ${stream} already has a checkpoint of size ${size}`);
    }
    throw err;
  });
}

/** Texts as one, a text a line: each is JSON, so holds no line break (checked, as a wrong split would shift every row after it). */
function lines(texts: string[]): string {
  for (const text of texts) if (text.includes('\n')) throw new Error('a JSON text holds a line break');
  return texts.join('\n');
}

function streamChange(streams: Map<string, StreamChange>, id: string): StreamChange {
  let change = streams.get(id);
  if (!change) streams.set(id, (change = {}));
  return change;
}
