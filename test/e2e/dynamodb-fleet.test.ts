import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { type DynamoProxy, startDynamoProxy } from '../support/dynamodb-proxy.js';
import { dynamoEndpoint } from '../support/dynamodb.js';
import {
  type DynamoFleet, IDEMPOTENCY_LEASE_MS, STREAM_LEASE_MS, expectAftermath, startDynamoFleet, stopServer, writesTo,
} from '../support/dynamodb-fleet.js';
import { type Instance, LOAD_CARDS, LoadLog, killMidLoad, paymentJson, runLoad, runPairedLoad } from '../support/load.js';
import { waitUntil } from '../support/wait.js';

/**
 * `paylog serve` instances on the same DynamoDB tables, no coordinator. The conditional writes
 * and transactions of the store must keep one transaction per key, lose nothing acknowledged,
 * charge nothing twice, and leave a journal that verifies once a dead instance's stream is
 * sealed — also when the "dead" instance was only stalled and wakes up after the seal.
 */

const INSTANCES = 3;
const CLIENTS = 6;
/** The kill comes once this many payments are acknowledged (some by the victim)… */
const ACKED_BEFORE_KILL = 10;
/** …and the load goes on until the survivors acknowledged this many more. */
const ACKED_AFTER_KILL = 10;

describe('a fleet of paylog instances on one set of DynamoDB tables', () => {
  const fleets: DynamoFleet[] = [];
  const proxies: DynamoProxy[] = [];

  afterAll(async () => {
    for (const proxy of proxies) await proxy.close();
    for (const fleet of fleets) await fleet.close();
  });

  async function newFleet(): Promise<DynamoFleet> {
    const fleet = await startDynamoFleet('fleet');
    fleets.push(fleet);
    return fleet;
  }

  it('duplicate keys across instances make one transaction each; a kill -9 loses and double-charges nothing; the journal verifies', async () => {
    const fleet = await newFleet();
    const instances: Instance[] = await Promise.all(Array.from({ length: INSTANCES }, async (_, i) => ({ name: `instance-${i}`, server: await fleet.serve(), killed: false })));
    const [survivor, victim] = instances as [Instance, Instance, Instance];
    const log = new LoadLog(fleet.secret);

    // The same key to two different instances at once; the killed one is left out once dead.
    const load = runPairedLoad(log, instances, CLIENTS, LOAD_CARDS, (i) => 700 + i);
    const killedAt = await killMidLoad(log, load, victim, (l) => l.count() >= ACKED_BEFORE_KILL && l.streams.has(victim.name), ACKED_AFTER_KILL);
    const victimStream = log.streams.get(victim.name) as string;

    // Every acknowledged payment, the dead instance's included, reads back from every survivor.
    for (const instance of instances.filter((t) => !t.killed)) await log.expectAcknowledgedKept(instance.server);

    // Clients retry the keys that got no answer (their request died with the instance) once its leases lapsed.
    await waitUntil(killedAt + Math.max(STREAM_LEASE_MS, IDEMPOTENCY_LEASE_MS));
    await log.retryUnanswered(survivor);
    log.expectNothingUnexpected();
    log.expectOnePaymentPerKey();

    // The next writer to start (here `paylog reconcile`, while the survivors still serve) seals the dead stream
    // and settles the payments the kill left processing.
    await fleet.reconcile();
    for (const instance of instances.filter((t) => !t.killed)) expect(await stopServer(instance.server), instance.server.output()).toBe(0);
    await expectAftermath(fleet, log, victimStream);
  }, 90_000);

  it('an instance stalled mid-commit past its lease is sealed by the next one; when it wakes it writes nothing more and halts', async () => {
    // The stalled instance talks to DynamoDB through the proxy. Once armed, its first write to the
    // journal table stops the process (SIGSTOP: a GC pause, a frozen VM) and the request is cut, so
    // the SDK retries it on waking — after another instance sealed the stream. A store that checks
    // the stream is open before writing, rather than in the write, appends after the seal.
    const fleet = await newFleet();
    const proxy = await startDynamoProxy(dynamoEndpoint());
    proxies.push(proxy);
    const stalled: Instance = {
      name: 'stalled',
      server: await fleet.serve({
        PAYLOG_STORE: `dynamodb://${fleet.prefix}?endpoint=${proxy.endpoint}`,
        // Once halted it shuts down gracefully, and `serve` then always waits out the whole
        // shutdown timeout when keep-alive clients had requests in flight (their connections stay
        // open; reported separately, not a store matter): keep that wait short.
        PAYLOG_SHUTDOWN_TIMEOUT_MS: '1000',
      }),
      killed: false,
    };
    let armed = false;
    let stalledAt = 0;
    let stall: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => { stall = resolve; });
    proxy.decide = (request) => {
      if (armed && stalledAt === 0 && writesTo(request, fleet.prefix, 'journal')) {
        stalled.server.child.kill('SIGSTOP');
        stalled.presumedDead = true;
        stalledAt = Date.now();
        stall();
        return 'drop-before';
      }
      return 'pass';
    };

    const log = new LoadLog(fleet.secret);
    const load = runLoad(CLIENTS, (n, i) => {
      const card = LOAD_CARDS[(n + i) % LOAD_CARDS.length]!;
      return log.send(stalled, `stall-${n}-${i}`, card, paymentJson(card, 900 + i));
    });
    await log.until((l) => l.count() >= ACKED_BEFORE_KILL);
    armed = true;
    await stopped;
    // Clients stop once their request in flight is answered: nobody keeps sending to an instance presumed dead.
    const loadStopped = load.stop();
    const stalledStream = log.streams.get(stalled.name) as string;
    expect(stalledStream).toMatch(/^str_/);

    // Its stream lease lapses while it is stopped; the next instance to start seals the stream.
    await waitUntil(stalledAt + Math.max(STREAM_LEASE_MS, IDEMPOTENCY_LEASE_MS));
    const next: Instance = { name: 'next', server: await fleet.serve(), killed: false };
    const exited = once(stalled.server.child, 'exit');
    stalled.server.child.kill('SIGCONT');
    expect(await exited, stalled.server.output()).toEqual([1, null]);
    expect(stalled.server.output()).toMatch(/journal writer halted/);
    await loadStopped;
    log.expectNothingUnexpected();

    // Nothing it acknowledged is lost; clients retry what it left unanswered on the next instance.
    await log.expectAcknowledgedKept(next.server);
    await log.retryUnanswered(next);
    log.expectNothingUnexpected();
    log.expectOnePaymentPerKey();
    expect(await stopServer(next.server), next.server.output()).toBe(0);
    await fleet.reconcile();

    // verify says `appended after seal` if the stalled stream holds anything beyond its seal.
    const records = await expectAftermath(fleet, log, stalledStream);
    const seal = records.find((r) => r.type === 'journal.sealed' && r.data.stream === stalledStream);
    expect(seal?.data.size).toBe(records.filter((r) => r.stream === stalledStream).length);
  }, 90_000);
});
