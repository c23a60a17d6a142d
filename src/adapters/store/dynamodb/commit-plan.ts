/**
 * How a journal commit becomes DynamoDB transactions: pure, so the splitting rules are tested
 * without a table. Each TransactWriteItems holds whole commit units (a unit's records, its
 * payment, its idempotency change and its checkpoint land together or not at all) and, for
 * every stream it appends to, the update of the stream's head, conditional on the stream
 * being open and its head being exactly where the first record continues. A batch that does
 * not fit one transaction becomes several, in order; each one leaves every stream at a
 * consistent prefix: the head names the last record written, and every unit up to it is
 * complete, read model included.
 *
 * A unit may claim its idempotency key (IdempotencyUpdate.claim): a conditional Put of the
 * key's item (commitClaimItem). Every claim of a batch rides in its first transaction, whichever
 * transaction holds the rest of its unit, so a lost claim cancels that first transaction and
 * nothing of the batch is written: the store can say so (ClaimsTakenError) without a durable
 * earlier part. Should a later transaction fail, the keys its units claimed stay claimed with no
 * payment: in flight until their lease runs out, then taken over by a retry (judgeClaim's
 * `take_over`), never claimed twice.
 */
import type { AuditRecord } from '../../../core/audit-record.js';
import { MUTABLE_PAYMENT_STATUSES } from '../../../core/payment.js';
import type { IdempotencyUpdate, KeyClaim } from '../../../ports/idempotency-store.js';
import type { SignedHead } from '../../../core/signed-head.js';
import type { CommitUnit, StoredCheckpoint, StreamSeal } from '../../../ports/journal-store.js';
import { ClaimsTakenError, StoreUnavailableError } from '../../../ports/store.js';
import { checkBatch } from '../shared/batch-rules.js';
import { attributeNames, type Item } from './connection.js';
import { commitClaimItem, idempotencyPk, idempotencyUpdateItem } from './idempotency.js';
import { journalItem } from './journal-items.js';
import { paymentItem } from './payments.js';
import type { TableName } from './tables.js';

/** DynamoDB's limits on one TransactWriteItems and on one item. */
export const TRANSACTION_ITEMS_MAX = 100;
export const TRANSACTION_BYTES_MAX = 4 * 1024 * 1024;
export const ITEM_BYTES_MAX = 400 * 1024;
/**
 * Claims one batch may make (IdempotencyUpdate.claim): all of them ride in its first
 * transaction, and half of it is left for the units. A unit past this is refused before
 * anything is written, as if its key were taken; its caller then claims the key on its own.
 */
export const CLAIMS_PER_COMMIT_MAX = TRANSACTION_ITEMS_MAX / 2;

/** One element of TransactItems, in the document client's (unmarshalled) form. */
export type TransactItem =
  | { Put: { TableName: string; Item: Item; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } }
  | { Update: UpdateItem }
  | { ConditionCheck: { TableName: string; Key: Item; ConditionExpression: string; ExpressionAttributeNames: Record<string, string> } };

export interface UpdateItem {
  TableName: string;
  Key: Item;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Item;
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD';
}

/** What an item of a transaction is for: explains the item's cancellation reason. */
export type ItemRole =
  | { kind: 'head'; stream: string; first: Pick<AuditRecord, 'stream' | 'seq' | 'prev'> }
  | { kind: 'signed-head'; stream: string; size: number }
  | { kind: 'seal'; seal: StreamSeal }
  | { kind: 'stream-exists'; stream: string }
  | { kind: 'record'; stream: string; seq: number }
  | { kind: 'checkpoint'; stream: string; size: number }
  | { kind: 'payment'; id: string }
  | { kind: 'idempotency'; key: string }
  /** A key claimed by the batch's unit `unit` (IdempotencyUpdate.claim). */
  | { kind: 'claim'; key: string; unit: number };

export interface PlannedTransaction {
  items: TransactItem[];
  roles: ItemRole[];
  /** How many of the batch's units it completes (counting from the previous transaction's last). */
  units: number;
}

export type TableNames = Record<TableName, string>;

/**
 * Plans a batch. Refuses, before anything is written, a batch whose records do not chain
 * among themselves, that holds one checkpoint twice, or that holds an item DynamoDB could
 * never take; the store's own state (is the stream open, where is its head) is checked by
 * the transactions' conditions.
 */
export function planCommit(units: CommitUnit[], tables: TableNames, now: string): PlannedTransaction[] {
  checkBatch(units);
  const claims = batchClaims(units);
  const plans: PlannedTransaction[] = [];
  let group = new Group(claims);
  for (const [i, unit] of units.entries()) {
    const prepared = prepare(unit);
    if (!group.fits(prepared) && !group.isEmpty()) {
      plans.push(group.build(tables, now));
      group = new Group();
    }
    if (!group.fits(prepared)) {
      throw new StoreUnavailableError(`DynamoDB store: one commit unit exceeds a transaction (${TRANSACTION_ITEMS_MAX} items, ${TRANSACTION_BYTES_MAX} bytes)`);
    }
    group.add(prepared, i);
  }
  if (!group.isEmpty()) plans.push(group.build(tables, now));
  return plans;
}

/**
 * A unit with its journal and payment items made once (each holds a JSON text: the record's
 * line, the payment's body): sized to split the batch, then put as they are.
 */
interface PreparedUnit {
  unit: CommitUnit;
  records: Item[];
  payment: Item | undefined;
  bytes: number;
}

function prepare(unit: CommitUnit): PreparedUnit {
  const records = unit.records.map(journalItem);
  const payment = unit.payment && paymentItem(unit.payment);
  return { unit, records, payment, bytes: unitBytes(unit, records, payment) };
}

/** A claim a unit of the batch makes, by the unit's index. */
interface BatchClaim {
  unit: number;
  change: IdempotencyUpdate & { claim: KeyClaim };
}

/**
 * The claims of a batch, each the first change of its key in the batch. A unit claiming a key
 * an earlier unit changes or claims loses to it, as judgeClaim would have it (the key is held,
 * by that unit's request); so does a unit past CLAIMS_PER_COMMIT_MAX. Either way nothing is
 * written: ClaimsTakenError names those units, and the writer commits the others without them.
 */
function batchClaims(units: readonly CommitUnit[]): BatchClaim[] {
  const touched = new Set<string>();
  const claims: BatchClaim[] = [];
  const lost: number[] = [];
  for (const [i, { idempotency: change }] of units.entries()) {
    if (!change) continue;
    const pk = idempotencyPk(change.merchantId, change.key);
    if (change.claim) {
      if (touched.has(pk) || claims.length === CLAIMS_PER_COMMIT_MAX) lost.push(i);
      else claims.push({ unit: i, change: { ...change, claim: change.claim } });
    }
    touched.add(pk);
  }
  if (lost.length > 0) throw new ClaimsTakenError(`${lost.length} idempotency key(s) of this batch are held by earlier units of it, or past the claims one commit makes; nothing was written`, lost);
  return claims;
}

/** The units of one transaction, folded per item: DynamoDB refuses two operations on one item in a transaction. */
class Group {
  units = 0;
  private readonly records: AuditRecord[] = [];
  private readonly recordItems: Item[] = [];
  /** Per stream appended to: its first record in this transaction. */
  private readonly firsts = new Map<string, AuditRecord>();
  /** Per stream appended to: its last record in this transaction. */
  private readonly lasts = new Map<string, AuditRecord>();
  private readonly checkpointStreams = new Set<string>();
  /** Per payment: its item, the last unit's. */
  private readonly payments = new Map<string, Item>();
  /** Per key: its change, folded; a claimed key's change keeps the claim and the claiming unit. */
  private readonly keys = new Map<string, IdempotencyUpdate & { unit?: number }>();
  private readonly checkpoints: StoredCheckpoint[] = [];
  /** Per stream: the newest signed head of the units in this transaction. */
  private readonly signedHeads = new Map<string, SignedHead>();
  private readonly seals = new Map<string, StreamSeal>();
  private bytes = 0;

  /**
   * `claims`, given to a batch's first transaction only: every claim of the batch, put here
   * whichever transaction takes its unit (see the file's comment).
   */
  constructor(claims: readonly BatchClaim[] = []) {
    for (const { unit, change } of claims) {
      this.keys.set(idempotencyPk(change.merchantId, change.key), { merchantId: change.merchantId, key: change.key, claim: change.claim, unit });
      this.bytes += jsonBytes(change.claim);
    }
  }

  isEmpty(): boolean {
    return this.units === 0 && this.keys.size === 0;
  }

  fits({ unit, bytes }: PreparedUnit): boolean {
    const streams = new Set([
      ...unit.records.map((r) => r.stream), ...(unit.checkpoint ? [unit.checkpoint.stream] : []),
      ...(unit.head ? [unit.head.stream] : []), ...(unit.seal ? [unit.seal.stream] : []),
    ]);
    const newStreams = [...streams].filter((s) => !this.streamItems().has(s)).length;
    const added = unit.records.length + newStreams + (unit.checkpoint ? 1 : 0)
      + (unit.payment && !this.payments.has(unit.payment.id) ? 1 : 0)
      + (unit.idempotency && !this.keys.has(idempotencyPk(unit.idempotency.merchantId, unit.idempotency.key)) ? 1 : 0);
    return this.itemCount() + added <= TRANSACTION_ITEMS_MAX && this.bytes + bytes <= TRANSACTION_BYTES_MAX;
  }

  add({ unit, records, payment, bytes }: PreparedUnit, index: number): void {
    this.recordItems.push(...records);
    for (const record of unit.records) {
      this.records.push(record);
      if (!this.firsts.has(record.stream)) this.firsts.set(record.stream, record);
      this.lasts.set(record.stream, record);
    }
    // Later units win: applying the units in order would leave exactly that.
    if (unit.payment && payment) this.payments.set(unit.payment.id, payment);
    const change = unit.idempotency;
    if (change) {
      const pk = idempotencyPk(change.merchantId, change.key);
      const before = this.keys.get(pk);
      // A claim is its key's first change in the batch (batchClaims): here already, from the
      // constructor, when this is the first transaction; otherwise put there, and this
      // transaction only links the key to what the unit creates.
      const claimed = before?.claim && { claim: before.claim, unit: before.unit ?? index };
      this.keys.set(pk, {
        merchantId: change.merchantId, key: change.key,
        paymentId: change.paymentId ?? before?.paymentId, response: change.response ?? before?.response,
        heldUntil: change.heldUntil ?? before?.heldUntil, ...claimed,
      });
    }
    if (unit.checkpoint) {
      this.checkpoints.push(unit.checkpoint);
      this.checkpointStreams.add(unit.checkpoint.stream);
    }
    if (unit.head) this.signedHeads.set(unit.head.stream, unit.head);
    if (unit.seal) this.seals.set(unit.seal.stream, unit.seal);
    this.bytes += bytes;
    this.units += 1;
  }

  build(tables: TableNames, now: string): PlannedTransaction {
    const items: TransactItem[] = [];
    const roles: ItemRole[] = [];
    const push = (item: TransactItem, role: ItemRole): void => {
      items.push(item);
      roles.push(role);
    };
    for (const [stream, first] of this.firsts) {
      const last = this.lasts.get(stream) as AuditRecord;
      push({ Update: headUpdate(tables.streams, first, last, this.signedHeads.get(stream)) }, { kind: 'head', stream, first });
    }
    for (const [stream, head] of this.signedHeads) {
      if (!this.firsts.has(stream)) push({ Update: signedHeadUpdate(tables.streams, head) }, { kind: 'signed-head', stream, size: head.size });
    }
    for (const seal of this.seals.values()) push({ Update: sealUpdate(tables.streams, seal) }, { kind: 'seal', seal });
    for (const stream of this.checkpointStreams) {
      if (this.firsts.has(stream) || this.signedHeads.has(stream) || this.seals.has(stream)) continue;
      push({
        ConditionCheck: {
          TableName: tables.streams, Key: { id: stream },
          ConditionExpression: 'attribute_exists(#id)', ExpressionAttributeNames: attributeNames('id'),
        },
      }, { kind: 'stream-exists', stream });
    }
    for (const [i, record] of this.records.entries()) {
      push({
        Put: {
          TableName: tables.journal, Item: this.recordItems[i] as Item,
          // Never overwrite a record, even one written behind the stream head's back.
          ConditionExpression: 'attribute_not_exists(#seq)', ExpressionAttributeNames: attributeNames('seq'),
        },
      }, { kind: 'record', stream: record.stream, seq: record.seq });
    }
    for (const cp of this.checkpoints) {
      push({
        Put: {
          TableName: tables.checkpoints,
          Item: { stream: cp.stream, size: cp.size, root: cp.root, note: cp.note, createdAt: cp.createdAt },
          ConditionExpression: 'attribute_not_exists(#size)', ExpressionAttributeNames: attributeNames('size'),
        },
      }, { kind: 'checkpoint', stream: cp.stream, size: cp.size });
    }
    for (const [id, item] of this.payments) {
      // Forward-only (canTransition): only over no row or a row still in a mutable status. A
      // refused row cancels the transaction; journal.ts then drops that row and tries again.
      push({
        Put: {
          TableName: tables.payments, Item: item,
          ConditionExpression: `attribute_not_exists(#id) OR #status IN (${MUTABLE_PAYMENT_STATUSES.map((_, i) => `:mutable${i}`).join(', ')})`,
          ExpressionAttributeNames: attributeNames('id', 'status'),
          ExpressionAttributeValues: Object.fromEntries(MUTABLE_PAYMENT_STATUSES.map((status, i) => [`:mutable${i}`, status])),
        },
      }, { kind: 'payment', id });
    }
    for (const change of this.keys.values()) {
      if (change.claim) {
        push(commitClaimItem(tables.idempotency, change, change.claim), { kind: 'claim', key: change.key, unit: change.unit as number });
        continue;
      }
      const update = idempotencyUpdateItem(tables.idempotency, change, now);
      if (update) push({ Update: update }, { kind: 'idempotency', key: change.key });
    }
    return { items, roles, units: this.units };
  }

  /** Every stream item this transaction writes or checks: one operation each. */
  private streamItems(): Set<string> {
    return new Set([...this.firsts.keys(), ...this.signedHeads.keys(), ...this.seals.keys(), ...this.checkpointStreams]);
  }

  private itemCount(): number {
    return this.records.length + this.streamItems().size + this.payments.size + this.keys.size + this.checkpoints.length;
  }
}

/**
 * The stream's head moves from just before `first` to `last`, only if the stream is open and
 * its head is where `first` continues: a seal, a stop or another writer's commit in between
 * cancels the whole transaction. ALL_OLD gives the stream back on failure, to say which.
 */
function headUpdate(table: string, first: AuditRecord, last: AuditRecord, signed: SignedHead | undefined): UpdateItem {
  const update: UpdateItem = {
    TableName: table,
    Key: { id: first.stream },
    UpdateExpression: 'SET #headSeq = :seq, #headHash = :hash',
    ConditionExpression: '#state = :open AND #headSeq = :expectedSeq AND #headHash = :expectedHash',
    ExpressionAttributeNames: attributeNames('headSeq', 'headHash', 'state'),
    ExpressionAttributeValues: { ':seq': last.seq, ':hash': last.hash, ':open': 'open', ':expectedSeq': first.seq - 1, ':expectedHash': first.prev },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
  return signed ? withSignedHead(update, signed) : update;
}

/** The stream's signed head, written by the same update that moves its records' head. */
function withSignedHead(update: UpdateItem, head: SignedHead): UpdateItem {
  return {
    ...update,
    UpdateExpression: `${update.UpdateExpression}, #headSize = :headSize, #headRoot = :headRoot, #headNote = :headNote`,
    ExpressionAttributeNames: { ...update.ExpressionAttributeNames, ...attributeNames('headSize', 'headRoot', 'headNote') },
    ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':headSize': head.size, ':headRoot': head.root, ':headNote': head.note },
  };
}

/** A signed head over records already stored (none in this transaction): only if they are all there. */
function signedHeadUpdate(table: string, head: SignedHead): UpdateItem {
  return {
    TableName: table,
    Key: { id: head.stream },
    UpdateExpression: 'SET #headSize = :headSize, #headRoot = :headRoot, #headNote = :headNote',
    ConditionExpression: '#state = :open AND #headSeq = :headSize',
    ExpressionAttributeNames: attributeNames('state', 'headSeq', 'headSize', 'headRoot', 'headNote'),
    ExpressionAttributeValues: { ':open': 'open', ':headSize': head.size, ':headRoot': head.root, ':headNote': head.note },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * Closes a lapsed stream as sealed, only if it is still open at the signed head the sealer
 * checked (no head stored means size 0). Removing `open` takes it out of byOpenLease.
 */
function sealUpdate(table: string, seal: StreamSeal): UpdateItem {
  return {
    TableName: table,
    Key: { id: seal.stream },
    UpdateExpression: 'SET #state = :sealed, #closedBy = :by, #closedAt = :at REMOVE #open',
    ConditionExpression: seal.headSize === 0 ? '#state = :open AND attribute_not_exists(#headSize)' : '#state = :open AND #headSize = :size',
    ExpressionAttributeNames: attributeNames('state', 'closedBy', 'closedAt', 'open', 'headSize'),
    ExpressionAttributeValues: {
      ':sealed': 'sealed', ':by': seal.by, ':at': seal.at, ':open': 'open', ...(seal.headSize === 0 ? {} : { ':size': seal.headSize }),
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * An upper bound of what a unit adds to a transaction's size, by DynamoDB's rule for an item:
 * each attribute's name and value in UTF-8, a number counted at its largest (21 bytes), a map
 * as its JSON. An item over DynamoDB's limit is refused here, with the limit named, rather than
 * by the service.
 */
function unitBytes(unit: CommitUnit, records: readonly Item[], payment: Item | undefined): number {
  const sizes = [
    ...records.map(itemBytes),
    ...(payment ? [itemBytes(payment)] : []),
    ...(unit.idempotency?.response ? [jsonBytes(unit.idempotency.response)] : []),
    ...(unit.checkpoint ? [jsonBytes(unit.checkpoint)] : []),
    ...(unit.head ? [jsonBytes(unit.head)] : []),
  ];
  for (const size of sizes) {
    if (size > ITEM_BYTES_MAX) throw new StoreUnavailableError(`DynamoDB store: an item of about ${size} bytes exceeds DynamoDB's ${ITEM_BYTES_MAX}`);
  }
  return sizes.reduce((a, b) => a + b, 0);
}

/** The largest a number attribute takes in DynamoDB. */
const NUMBER_BYTES_MAX = 21;

function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (typeof value === 'number') bytes += NUMBER_BYTES_MAX;
    else bytes += jsonBytes(value);
  }
  return bytes;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
