import { describe, expect, it } from 'vitest';
import type { LedgerCall } from '../../src/ports/gateway-ledger.js';
import { at } from '../contract/fixtures.js';
import { proxiedStores } from '../support/proxied-dynamo-store.js';

/**
 * The SDK retries a ledger UpdateItem whose answer was lost after it landed. ADD is not
 * idempotent, so the retry must recognise the call's own write: each call counted once.
 */
const { proxy, freshStore } = proxiedStores('ledger-retries', 2_000);

/** Lands the next UpdateItem but drops its answer, so the SDK sends it again. */
function dropNextUpdateAnswer(): () => number {
  let dropped = 0;
  proxy().decide = (request) => {
    if (request.action !== 'UpdateItem' || dropped > 0) return 'pass';
    dropped += 1;
    return 'drop-after';
  };
  return () => dropped;
}

const approve = (atMs: number, settleFromCall: 1 | 2 = 1): LedgerCall => ({
  gatewayKey: 'gw_1', amount: 1099, currency: 'USD', at: at(atMs), settleFromCall,
  settle: { outcome: 'approved', code: null, declineCode: null, authorizationCode: 'auth_1' },
});

describe('DynamoDB ledger: a call whose answer was lost after it landed', () => {
  it('settling: counted once and reported as the call that settled', async () => {
    const store = await freshStore();
    const dropped = dropNextUpdateAnswer();
    expect(await store.gatewayLedger.recordCall(approve(0))).toMatchObject({ settled: true, entry: { calls: 1, outcome: 'approved' } });
    expect(dropped()).toBe(1);
    expect(await store.gatewayLedger.get('gw_1')).toMatchObject({ calls: 1 });
  });

  it('finding the outcome settled: counted once', async () => {
    const store = await freshStore();
    await store.gatewayLedger.recordCall(approve(0));
    let updates = 0;
    proxy().decide = (request) => {
      if (request.action !== 'UpdateItem') return 'pass';
      updates += 1;
      return updates === 2 ? 'drop-after' : 'pass'; // the settle attempt fails its condition; the count's answer is lost
    };
    expect(await store.gatewayLedger.recordCall(approve(1))).toMatchObject({ settled: false, entry: { calls: 2, outcome: 'approved' } });
    expect(updates).toBe(3); // the settle attempt, the count, the count's retry
    expect(await store.gatewayLedger.get('gw_1')).toMatchObject({ calls: 2 });
  });

  it('settling from the second call: the count and the settlement each applied once', async () => {
    const store = await freshStore();
    await store.gatewayLedger.recordCall(approve(0, 2));
    let updates = 0;
    proxy().decide = (request) => {
      if (request.action !== 'UpdateItem') return 'pass';
      updates += 1;
      return updates === 1 || updates === 3 ? 'drop-after' : 'pass'; // the count's answer, then the settlement's
    };
    expect(await store.gatewayLedger.recordCall(approve(1, 2))).toMatchObject({ settled: true, entry: { calls: 2, outcome: 'approved' } });
    expect(updates).toBe(4);
    expect(await store.gatewayLedger.get('gw_1')).toMatchObject({ calls: 2, outcome: 'approved' });
  });
});
