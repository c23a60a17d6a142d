import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { dynamoEndpoint } from '../support/dynamodb.js';
import {
  type DynamoFleet, IDEMPOTENCY_LEASE_MS, STREAM_LEASE_MS, expectAftermath, startDynamoFleet, stopServer, writesTo,
} from '../support/dynamodb-fleet.js';
import { type Instance, LOAD_CARDS, LoadLog, MALFORMED, killInstance, paymentJson, runLoad } from '../support/load.js';
import { waitUntil } from '../support/wait.js';

/**
 * kill -9 of a `paylog serve` on DynamoDB under load, then a restart: nothing acknowledged is
 * lost, the dead writer's stream is sealed by the next writer once its lease lapsed, clients
 * retrying their unanswered keys get one transaction per key, the journal verifies, and
 * `paylog reconcile` settles what was left processing.
 */

const CLIENTS = 8;
/** The load runs until this many payments are acknowledged, one of them left processing; every client has one in flight then. */
const ACKED_BEFORE_KILL = 12;

describe('paylog serve on DynamoDB survives kill -9 under load', () => {
  // Each test has tables of its own.
  const fleets: DynamoFleet[] = [];
  let proxy: DynamoProxy;

  beforeAll(async () => {
    proxy = await startDynamoProxy(dynamoEndpoint());
  });
  afterAll(async () => {
    await proxy?.close();
    for (const fleet of fleets) await fleet.close();
  });

  async function newFleet(): Promise<DynamoFleet> {
    const fleet = await startDynamoFleet('crash');
    fleets.push(fleet);
    return fleet;
  }

  /** Puts the first server under load, kills it with `kill`, and checks everything that must hold afterwards. */
  async function crashAndRecover(fleet: DynamoFleet, first: Instance, kill: () => Promise<number>): Promise<void> {
    const log = new LoadLog(fleet.secret);
    // Unique keys, one server: neither a 409 nor a recovered answer is possible.
    const load = runLoad(CLIENTS, (n, i) => {
      const card = LOAD_CARDS[(n + i) % LOAD_CARDS.length]!;
      return log.send(first, `${first.name}-${n}-${i}`, card, paymentJson(card, 500 + i));
    });
    await log.until((l) => l.count() >= ACKED_BEFORE_KILL && l.count((a) => a.paymentStatus === 'processing') > 0);
    const killedAt = await kill();
    await load.stop();
    log.expectNothingUnexpected();
    const acked = [...log.acked.values()];
    const killedStream = log.streams.get(first.name) as string;
    expect(killedStream).toMatch(/^str_/);

    // Right after the crash: whatever the dead writer committed verifies, its stream still open.
    const afterCrash = await fleet.verify();
    expect(afterCrash.status, afterCrash.output).toBe(0);
    expect(afterCrash.report.streams.find((s) => s.stream === killedStream)).toMatchObject({ end: 'open', valid: true });

    // Once the dead writer's lease (and its keys' leases) lapsed, the next serve seals its stream as it starts.
    await waitUntil(killedAt + Math.max(STREAM_LEASE_MS, IDEMPOTENCY_LEASE_MS));
    const second: Instance = { name: 'second', server: await fleet.serve(), killed: false };
    await log.expectAcknowledgedKept(second.server);
    // Clients retry what got no answer; a key whose payment was created answers that payment.
    const retried = await log.retryUnanswered(second);
    expect(retried, log.summary()).toBeGreaterThan(0);
    log.expectNothingUnexpected();
    log.expectOnePaymentPerKey();
    expect(await stopServer(second.server), second.server.output()).toBe(0);

    // Reconcile settles every payment left processing: the malformed-answer card's, and those the crash interrupted.
    expect(await fleet.reconcile()).toBeGreaterThanOrEqual(acked.filter((a) => a.card === MALFORMED).length);

    const records = await expectAftermath(fleet, log, killedStream);
    // The second serve sealed the dead stream as it started, not the reconcile that came later.
    const seals = records.filter((r) => r.type === 'journal.sealed');
    expect(seals.map((r) => r.data.stream)).toEqual([killedStream]);
    const sealer = records.find((r) => r.type === 'journal.started' && r.stream === seals[0]?.stream);
    expect(sealer?.data.role).toBe('serve');
  }

  it('kill -9 at an arbitrary moment: keeps every acknowledged payment, seals the dead stream, verifies, reconciles', async () => {
    const fleet = await newFleet();
    const first: Instance = { name: 'arbitrary', server: await fleet.serve(), killed: false };
    await crashAndRecover(fleet, first, () => killInstance(first));
  }, 90_000);

  it('kill -9 the moment a commit that moves a payment goes out to DynamoDB (it never arrives): the same', async () => {
    // The server talks to DynamoDB through the proxy. Once armed, the first write touching the
    // payments table — a commit carrying a payment's new state — kills the server, and neither
    // it nor anything after it reaches DynamoDB: the crash lands exactly inside a commit. A store
    // that commits atomically loses the whole commit; one that wrote its journal records in
    // earlier requests is left with records the payments table does not reflect.
    const fleet = await newFleet();
    const first: Instance = { name: 'in-commit', server: await fleet.serve({ PAYLOG_STORE: `dynamodb://${fleet.prefix}?endpoint=${proxy.endpoint}` }), killed: false };
    let armed = false;
    let sprung: () => void = () => undefined;
    const trapped = new Promise<void>((resolve) => { sprung = resolve; });
    proxy.decide = (request) => {
      if (armed && !first.killed && writesTo(request, fleet.prefix, 'payments')) {
        // Killed before the proxy even decides what to do with the request: the process never learns more.
        first.killed = true;
        first.server.child.kill('SIGKILL');
        sprung();
      }
      return first.killed ? 'drop-before' : 'pass';
    };
    await crashAndRecover(fleet, first, async () => {
      armed = true;
      await trapped;
      return killInstance(first);
    });
  }, 90_000);
});
