import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, KeyClaim, StoredResponse,
} from '../../../ports/idempotency-store.js';
import { type StoredClaim, claimResult, judgeClaim, takesOver } from '../shared/claim-rules.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import type { TransactItem, UpdateItem } from './commit-plan.js';
import { isConditionFailed, oldItemOf } from './errors.js';

/**
 * Rounds of put-or-read-or-take-over one claim may go through when other claimants keep
 * changing the item under it; past that it reports in_flight (a 409 the client retries).
 */
const CLAIM_ROUNDS_MAX = 4;
/** Expired keys deleted at once by purgeExpired. */
const PURGE_DELETES_PARALLEL_MAX = 25;
/** Items purgeExpired reads at most per expired key it may delete: TTL, not this scan, does the bulk of the work. */
const PURGE_READS_PER_DELETE = 20;
/**
 * No live claim holds the key. An item a journal commit re-created after a purge carries no
 * lease (see idempotencyUpdateItem): nothing holds it.
 */
const LEASE_PASSED = '(attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt <= :now)';
/**
 * judgeClaim's verdicts a write may act on, as conditions on the stored item (`:now` is the
 * claim's time). `fresh`: no item, or an expired one.
 */
const CLAIM_FRESH = 'attribute_not_exists(#pk) OR #expiresAt <= :now';
/** `take_over`: the same body's claim, whose lease ran out before it created anything. */
const CLAIM_TAKE_OVER = `#fingerprint = :fingerprint AND attribute_not_exists(#response) AND attribute_not_exists(#paymentId) AND ${LEASE_PASSED}`;
/** Random bytes of a claim token. */
const CLAIM_TOKEN_BYTES = 16;

/** Merchant IDs and keys are printable ASCII, so a JSON pair is an unambiguous composite key. */
export function idempotencyPk(merchantId: string, key: string): string {
  return JSON.stringify([merchantId, key]);
}

/**
 * Idempotency keys, one item per (merchant, key). Races are settled by conditional writes,
 * never by reading first: of any number of claimants exactly one sees its condition hold, and
 * a losing write hands back the item that beat it (ReturnValuesOnConditionCheckFailure), so
 * losing costs no extra read.
 *
 * Every claim carries a random `claimToken`. The SDK retries a write whose answer was lost
 * (a dropped connection, a timeout); if the first attempt had landed, the retry fails its
 * condition against our own item, and the token tells that this claimant won after all.
 *
 * Items carry `expiresAtEpoch` (epoch seconds, rounded up so TTL never deletes early) for
 * DynamoDB TTL. TTL deletes late (up to days), so an item past `expiresAt` is treated as
 * absent by every read here, and purgeExpired deletes the rest.
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  /** The table's TTL on `expiresAtEpoch` deletes expired keys (TABLES.idempotency, the CDK stack, `paylog doctor`). */
  readonly expiresByTtl = true;
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('idempotency');
  }

  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    const pk = idempotencyPk(claim.merchantId, claim.key);
    const token = randomBytes(CLAIM_TOKEN_BYTES).toString('hex');
    for (let round = 0; round < CLAIM_ROUNDS_MAX; round++) {
      const fresh = await this.claimFresh(pk, claim, token);
      if (fresh === 'won') return { kind: 'claimed' };
      // Someone holds an unexpired item; `fresh` is that item as the condition saw it, or
      // (from an endpoint that does not hand it back) as a strongly consistent read sees it now.
      const row = fresh ?? (await this.read(pk));
      if (row?.claimToken === token) return { kind: 'claimed' };
      const verdict = judgeClaim(row === null ? undefined : storedClaim(row), claim);
      const paymentId = (row?.paymentId as string | undefined) ?? null;
      if (verdict === 'fresh') continue; // released or expired since
      // Taking over keeps what the crashed holder created, conditional on the claim we saw, so of
      // several claimants taking over exactly one wins; one that loses judges the key again.
      if (takesOver(verdict) && !(await this.takeOver(pk, (row as Item).claimToken as string | undefined, (row as Item).leaseExpiresAt as string, claim.leaseExpiresAt, token))) continue;
      return claimResult(verdict, { paymentId }, () => JSON.parse((row as Item).response as string) as StoredResponse);
    }
    return { kind: 'in_flight' };
  }

  async release(merchantId: string, key: string): Promise<void> {
    try {
      await this.conn.run((doc) => doc.send(new DeleteCommand({
        TableName: this.table,
        Key: { pk: idempotencyPk(merchantId, key) },
        // Only an unfinished claim that created nothing: a payment or a response must stay replayable.
        ConditionExpression: 'attribute_not_exists(#response) AND attribute_not_exists(#paymentId)',
        ExpressionAttributeNames: attributeNames('response', 'paymentId'),
      })));
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /**
   * A bounded scan: on AWS, TTL does this work (so the scheduled purge skips this store, see
   * expiresByTtl), and this is for endpoints without TTL. Each delete re-checks the expiry and
   * the lease, so a key claimed afresh between the scan and the delete survives.
   */
  async purgeExpired(now: string, limit: number): Promise<number> {
    if (limit <= 0) {
      this.conn.assertOpen();
      return 0;
    }
    const expired = await this.conn.scanAll({
      TableName: this.table,
      FilterExpression: `#expiresAt <= :now AND ${LEASE_PASSED}`,
      ProjectionExpression: '#pk',
      ExpressionAttributeNames: attributeNames('expiresAt', 'leaseExpiresAt', 'pk'),
      ExpressionAttributeValues: { ':now': now },
      ConsistentRead: true,
    }, limit, limit * PURGE_READS_PER_DELETE);
    let purged = 0;
    for (let i = 0; i < expired.length; i += PURGE_DELETES_PARALLEL_MAX) {
      const deleted = await Promise.all(expired.slice(i, i + PURGE_DELETES_PARALLEL_MAX).map((item) => this.deleteIfExpired(item.pk as string, now)));
      purged += deleted.filter(Boolean).length;
    }
    return purged;
  }

  /**
   * A new item, replacing whatever was there only if it expired (what an expired key held is
   * forgotten). 'won', or the unexpired item that holds the key.
   */
  private async claimFresh(pk: string, claim: IdempotencyClaim, token: string): Promise<'won' | Item | null> {
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.table,
        Item: { ...claimItem(pk, claim), claimToken: token },
        ConditionExpression: CLAIM_FRESH,
        ExpressionAttributeNames: attributeNames('pk', 'expiresAt'),
        ExpressionAttributeValues: { ':now': claim.now },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return 'won';
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const row = oldItemOf(err);
      // Our own earlier attempt, whose answer was lost: the key is ours.
      return row !== null && row.claimToken === token ? 'won' : row;
    }
  }

  private async read(pk: string): Promise<Item | null> {
    const { Item: item } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true })));
    return item ?? null;
  }

  /** Takes over a crashed claim, conditional on the claim seen (its token, or its lease for items without one). */
  private async takeOver(pk: string, seenToken: string | undefined, seenLease: string, newLease: string, token: string): Promise<boolean> {
    const seen = seenToken === undefined
      ? { condition: 'attribute_not_exists(#claimToken) AND #leaseExpiresAt = :seen', value: seenLease }
      : { condition: '#claimToken = :seen', value: seenToken };
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.table,
        Key: { pk },
        UpdateExpression: 'SET #leaseExpiresAt = :new, #claimToken = :token',
        ConditionExpression: `${seen.condition} AND attribute_not_exists(#response)`,
        ExpressionAttributeNames: attributeNames('leaseExpiresAt', 'response', 'claimToken'),
        ExpressionAttributeValues: { ':new': newLease, ':seen': seen.value, ':token': token },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      return oldItemOf(err)?.claimToken === token;
    }
  }

  private async deleteIfExpired(pk: string, now: string): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new DeleteCommand({
        TableName: this.table,
        Key: { pk },
        // A claim a live request still holds stays, however old.
        ConditionExpression: `#expiresAt <= :now AND ${LEASE_PASSED}`,
        ExpressionAttributeNames: attributeNames('expiresAt', 'leaseExpiresAt'),
        ExpressionAttributeValues: { ':now': now },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}

/** What the stored item says, as judgeClaim reads it. An item without a lease (see idempotencyUpdateItem) is held by no one. */
function storedClaim(row: Item): StoredClaim {
  return {
    fingerprint: row.fingerprint as string,
    paymentId: (row.paymentId as string | undefined) ?? null,
    hasResponse: typeof row.response === 'string',
    leaseExpiresAt: (row.leaseExpiresAt as string | undefined) ?? '',
    expiresAt: row.expiresAt as string,
  };
}

/** A new claim's item, with no payment and no response yet. */
function claimItem(pk: string, claim: IdempotencyClaim): Item {
  return {
    pk, merchantId: claim.merchantId, key: claim.key, fingerprint: claim.fingerprint,
    leaseExpiresAt: claim.leaseExpiresAt, expiresAt: claim.expiresAt,
    expiresAtEpoch: Math.ceil(Date.parse(claim.expiresAt) / 1000), createdAt: claim.now,
  };
}

/**
 * A key claimed inside a journal commit (IdempotencyUpdate.claim), as an item of its
 * transaction: a new claim's item, already holding the payment and the response the commit
 * stores, put only where judgeClaim would answer `fresh` or `take_over` (so exactly where
 * claim() would answer `claimed`). Anywhere else the condition cancels the whole transaction.
 * It carries no claimToken: a claim() taking it over later conditions on its lease instead.
 */
export function commitClaimItem(
  table: string, change: Pick<IdempotencyUpdate, 'merchantId' | 'key' | 'paymentId' | 'response'>, claim: KeyClaim,
): TransactItem {
  return {
    Put: {
      TableName: table,
      Item: {
        ...claimItem(idempotencyPk(change.merchantId, change.key), { ...claim, merchantId: change.merchantId, key: change.key }),
        ...(change.paymentId !== undefined && { paymentId: change.paymentId }),
        // As JSON text, as idempotencyUpdateItem stores it.
        ...(change.response !== undefined && { response: JSON.stringify(change.response) }),
      },
      ConditionExpression: `${CLAIM_FRESH} OR (${CLAIM_TAKE_OVER})`,
      ExpressionAttributeNames: attributeNames('pk', 'expiresAt', 'fingerprint', 'response', 'paymentId', 'leaseExpiresAt'),
      ExpressionAttributeValues: { ':now': claim.now, ':fingerprint': claim.fingerprint },
    },
  };
}

/**
 * A claimed key's change, as an item of a journal commit's transaction (no condition: it must
 * not cancel the records). Should the key have been purged since its claim, the update would
 * create an item; it is then created already expired, so every read treats it as absent,
 * exactly as an UPDATE of a missing row changes nothing in the SQL stores.
 */
export function idempotencyUpdateItem(table: string, update: IdempotencyUpdate, now: string): UpdateItem | null {
  const sets: string[] = [];
  const names = ['expiresAt', 'expiresAtEpoch'];
  const values: Item = { ':expired': now, ':expiredEpoch': Math.floor(Date.parse(now) / 1000) };
  if (update.paymentId !== undefined) {
    sets.push('#paymentId = :paymentId');
    names.push('paymentId');
    values[':paymentId'] = update.paymentId;
  }
  if (update.response !== undefined) {
    sets.push('#response = :response');
    names.push('response');
    // As JSON text: replayed exactly as stored, whatever the body holds.
    values[':response'] = JSON.stringify(update.response);
  }
  if (sets.length === 0) return null;
  // The fence (checkClaimHeld, as a condition): the claim still holds the lease it was taken with.
  if (update.heldUntil !== undefined) {
    names.push('leaseExpiresAt');
    values[':heldUntil'] = update.heldUntil;
  }
  return {
    TableName: table,
    Key: { pk: idempotencyPk(update.merchantId, update.key) },
    UpdateExpression: `SET ${sets.join(', ')}, #expiresAt = if_not_exists(#expiresAt, :expired), #expiresAtEpoch = if_not_exists(#expiresAtEpoch, :expiredEpoch)`,
    ...(update.heldUntil !== undefined && { ConditionExpression: '#leaseExpiresAt = :heldUntil' }),
    ExpressionAttributeNames: attributeNames(...names),
    ExpressionAttributeValues: values,
  };
}
