import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  ClaimResult, IdempotencyClaim, IdempotencyStore, IdempotencyUpdate, StoredResponse,
} from '../../../ports/idempotency-store.js';
import { type DynamoConnection, type Item, attributeNames } from './connection.js';
import { isConditionFailed } from './errors.js';

/**
 * Rounds of put-or-read-or-take-over one claim may go through when other claimants keep
 * changing the item under it; past that it reports in_flight (a 409 the client retries).
 */
const CLAIM_ROUNDS_MAX = 4;
/** Expired keys deleted at once by purgeExpired. */
const PURGE_DELETES_PARALLEL_MAX = 25;

/** Merchant IDs and keys are printable ASCII, so a JSON pair is an unambiguous composite key. */
export function idempotencyPk(merchantId: string, key: string): string {
  return JSON.stringify([merchantId, key]);
}

/**
 * Idempotency keys, one item per (merchant, key). Races are settled by conditional writes,
 * never by reading first: of any number of claimants exactly one sees its condition hold.
 *
 * Items carry `expiresAtEpoch` (epoch seconds, rounded up so TTL never deletes early) for
 * DynamoDB TTL. TTL deletes late (up to days) and dynalite has none, so an item past
 * `expiresAt` is treated as absent by every read here, and purgeExpired deletes the rest.
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  private readonly table: string;

  constructor(private readonly conn: DynamoConnection) {
    this.table = conn.table('idempotency');
  }

  async claim(claim: IdempotencyClaim): Promise<ClaimResult> {
    const pk = idempotencyPk(claim.merchantId, claim.key);
    for (let round = 0; round < CLAIM_ROUNDS_MAX; round++) {
      if (await this.claimFresh(pk, claim)) return { kind: 'claimed' };
      // Someone holds an unexpired item. Read what (strongly: it may have been written just now).
      const { Item: row } = await this.conn.run((doc) => doc.send(new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true })));
      // Released, purged or expired since our put: try the put again.
      if (!row || (row.expiresAt as string) <= claim.now) continue;
      if (row.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
      const paymentId = (row.paymentId as string | undefined) ?? null;
      if (typeof row.response === 'string') {
        return { kind: 'completed', response: JSON.parse(row.response) as StoredResponse, paymentId };
      }
      if ((row.leaseExpiresAt as string) > claim.now) return { kind: 'in_flight' };
      // The holder's lease ran out: it crashed. Take the key over, keeping what it created —
      // conditional on the lease we saw, so of several claimants taking over exactly one wins.
      if (await this.takeOver(pk, row.leaseExpiresAt as string, claim.leaseExpiresAt)) {
        return paymentId === null ? { kind: 'claimed' } : { kind: 'recovered', paymentId };
      }
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
   * A scan: on AWS, TTL does this work and this runs rarely (`paylog` calls it periodically);
   * on dynalite it is all there is. Each delete re-checks the expiry, so a key claimed afresh
   * between the scan and the delete survives.
   */
  async purgeExpired(now: string, limit: number): Promise<number> {
    if (limit <= 0) {
      this.conn.assertOpen();
      return 0;
    }
    const expired = await this.conn.scanAll({
      TableName: this.table,
      FilterExpression: '#expiresAt <= :now',
      ProjectionExpression: '#pk',
      ExpressionAttributeNames: attributeNames('expiresAt', 'pk'),
      ExpressionAttributeValues: { ':now': now },
      ConsistentRead: true,
    }, limit);
    let purged = 0;
    for (let i = 0; i < expired.length; i += PURGE_DELETES_PARALLEL_MAX) {
      const deleted = await Promise.all(expired.slice(i, i + PURGE_DELETES_PARALLEL_MAX).map((item) => this.deleteIfExpired(item.pk as string, now)));
      purged += deleted.filter(Boolean).length;
    }
    return purged;
  }

  /** Part of a journal commit. A key that is gone (purged) has nothing left to update. */
  async apply(update: IdempotencyUpdate): Promise<void> {
    const sets: string[] = [];
    const values: Item = {};
    if (update.paymentId !== undefined) {
      sets.push('#paymentId = :paymentId');
      values[':paymentId'] = update.paymentId;
    }
    if (update.response !== undefined) {
      sets.push('#response = :response');
      // As JSON text: replayed exactly as stored, whatever the body holds.
      values[':response'] = JSON.stringify(update.response);
    }
    if (sets.length === 0) return;
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.table,
        Key: { pk: idempotencyPk(update.merchantId, update.key) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: attributeNames('pk', ...(update.paymentId !== undefined ? ['paymentId'] : []), ...(update.response !== undefined ? ['response'] : [])),
        ExpressionAttributeValues: values,
      })));
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /** A new item, replacing whatever was there only if it expired (what an expired key held is forgotten). */
  private async claimFresh(pk: string, claim: IdempotencyClaim): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new PutCommand({
        TableName: this.table,
        Item: {
          pk, merchantId: claim.merchantId, key: claim.key, fingerprint: claim.fingerprint,
          leaseExpiresAt: claim.leaseExpiresAt, expiresAt: claim.expiresAt,
          expiresAtEpoch: Math.ceil(Date.parse(claim.expiresAt) / 1000), createdAt: claim.now,
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
        ExpressionAttributeNames: attributeNames('pk', 'expiresAt'),
        ExpressionAttributeValues: { ':now': claim.now },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  private async takeOver(pk: string, seenLease: string, newLease: string): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new UpdateCommand({
        TableName: this.table,
        Key: { pk },
        UpdateExpression: 'SET #leaseExpiresAt = :new',
        ConditionExpression: '#leaseExpiresAt = :seen AND attribute_not_exists(#response)',
        ExpressionAttributeNames: attributeNames('leaseExpiresAt', 'response'),
        ExpressionAttributeValues: { ':new': newLease, ':seen': seenLease },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  private async deleteIfExpired(pk: string, now: string): Promise<boolean> {
    try {
      await this.conn.run((doc) => doc.send(new DeleteCommand({
        TableName: this.table,
        Key: { pk },
        ConditionExpression: '#expiresAt <= :now',
        ExpressionAttributeNames: attributeNames('expiresAt'),
        ExpressionAttributeValues: { ':now': now },
      })));
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}
