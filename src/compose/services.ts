import { hostname } from 'node:os';
import { createSimulatedGateway } from '../adapters/gateway/simulated/index.js';
import { ApiKeyCache } from '../app/api-key-cache.js';
import type { AppContext, Caller } from '../app/context.js';
import { DEFAULT_QUEUE_RECORDS_MAX, JournalWriter } from '../app/journal-writer.js';
import { sealAbandonedStreams } from '../app/seal-streams.js';
import { IdempotencyPurgeSchedule, type PurgeResult, purgeExpiredIdempotencyKeys } from '../app/purge-idempotency.js';
import { JournalTreeAppender } from '../app/journal-tree.js';
import { SubtreeHashes } from '../app/subtree-hashes.js';
import { WITNESS_SHUTDOWN_MS, type WitnessEvent, WitnessPusher } from '../app/witness-push.js';
import { createHttpWitnessClient } from '../adapters/witness-client/http.js';
import type { JournalTreeHead } from '../ports/journal-tree-store.js';
import { parseVerifierKey, verifierKeyOf } from '../core/signed-note.js';
import { loadSigningKeys } from './signing-keys.js';
import { draft } from '../app/records.js';
import type { RecordDraft } from '../core/audit-record.js';
import type { Config } from '../config/config.js';
import { newId } from '../core/ids.js';
import type { AuditMirror } from '../ports/audit-mirror.js';
import { type Metrics, NO_METRICS } from '../ports/metrics.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { loadFingerprintKey } from './local-keys.js';
import { openMirror } from './mirror.js';
import { openStore } from './open-store.js';
import { countStoreErrors } from './store-errors.js';
import { wrapGateway, wrapStore } from './adapter-wrappers.js';
import { systemClock, systemRandom } from './system.js';

export const PAYLOG_VERSION = '0.1.0';

export interface Services {
  ctx: AppContext;
  config: Config;
  /** The actor of records the process writes on its own behalf. */
  system: Caller;
  /** Pushes the journal tree's new heads to PAYLOG_WITNESS; Lambda awaits `idle()` before returning. */
  witnesses: WitnessPusher;
  /** Seals the stream with journal.stopped and closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Who writes the stream: "serve", "cli" … (goes into journal.started). */
  role: string;
  store?: Store;
  /** Seal crashed writers' streams at start (default true). */
  sealAbandoned?: boolean;
  onHalt?: (reason: string) => void;
  /** Told when the journal writer finds records it did not write, or a lapsed stream cannot be sealed. */
  onConflict?: (reason: string) => void;
  /** Told of every journal tree head this process appends (to push it to witnesses). */
  onJournalTreeAppended?: (head: JournalTreeHead) => void;
  /** Told when a witness stops (or resumes) cosigning, at most once a minute per witness (see logWitnessEvent). */
  onWitnessEvent?: (event: WitnessEvent) => void;
  mirror?: AuditMirror;
  metrics?: Metrics;
  /** The system clock unless given (tests move time forward without waiting). */
  clock?: Clock;
  /** Purge expired idempotency keys every PAYLOG_IDEMPOTENCY_PURGE_INTERVAL_MS (long-running processes: `serve`). */
  purgeIdempotency?: boolean;
  /** Told of each purge run that deleted keys, and of failed runs (the next run tries again). */
  onPurge?: (result: PurgeResult) => void;
  onPurgeError?: (err: unknown) => void;
}

/** The composition root: builds every service for a config and opens this process's stream. */
export async function startServices(config: Config, options: StartOptions): Promise<Services> {
  // Keys first: a bad key must stop the process before it creates or migrates a store.
  const keys = loadSigningKeys(config);
  const fingerprintKey = loadFingerprintKey(config);
  // Hoisted so the store, the writer and the writer's callbacks report to the metrics the context carries.
  const metrics = options.metrics ?? NO_METRICS;
  const opened = wrapStore(options.store ?? (await openStore(config)));
  const store = metrics === NO_METRICS ? opened : countStoreErrors(opened, metrics);
  const clock = options.clock ?? systemClock;
  const random = systemRandom;
  const writerName = `${hostname()}:${process.pid}`;
  const streamId = newId('str', clock.now(), random.bytes(16));
  const mirror = options.mirror ?? (await openMirror(config, streamId));
  const signers = keys.previous ? [keys.current, keys.previous] : [keys.current];
  const actor = `system:${options.role}`;
  const system: Caller = { merchantId: '', actor, origin: { requestId: null, traceId: null, ip: null } };
  const startedRecord = (stream: string): RecordDraft => draft(system, 'journal.started', stream, 'success', {
    role: options.role, writer: writerName, version: PAYLOG_VERSION, store: store.kind, signingKey: verifierKeyOf(keys.current),
  });
  const conflict = (reason: string): void => {
    metrics.journalConflict();
    options.onConflict?.(reason);
  };
  // Set once the context exists; heads are appended only after the writer starts, later still.
  let witnesses: WitnessPusher | null = null;
  const journalTree = new JournalTreeAppender(store.journalTree, {
    journal: config.journalName,
    signers,
    trusted: signers.map((signer) => ({ key: parseVerifierKey(verifierKeyOf(signer)), validFrom: null, validUntil: null })),
    clock,
    onConflict: (reason) => conflict(reason),
    onAppended: (head) => {
      witnesses?.push(head);
      options.onJournalTreeAppended?.(head);
    },
  });
  const writer = new JournalWriter(store.journal, clock, {
    journal: config.journalName,
    streamId,
    writer: writerName,
    actor,
    batchRecordsMax: config.journalBatchRecordsMax,
    queueRecordsMax: DEFAULT_QUEUE_RECORDS_MAX,
    checkpoints: {
      signers,
      everyRecords: config.checkpointEveryRecords,
      intervalMs: config.checkpointIntervalMs,
      leaseMs: config.streamLeaseMs,
    },
    ...(options.onHalt && { onHalt: options.onHalt }),
    onConflict: (reason) => conflict(reason),
    onCheckpoints: (notes) => journalTree.enqueue(notes),
    // A stream holding records this writer did not write is left for good; the service goes on with a new one.
    newStream: () => {
      const next = newId('str', clock.now(), random.bytes(16));
      return { streamId: next, started: startedRecord(next) };
    },
    ...(mirror && { mirror }),
    metrics,
  });
  const ctx: AppContext = {
    store, writer, clock, random,
    gateway: wrapGateway(createSimulatedGateway({ ledger: store.gatewayLedger, clock, latencyMs: config.gatewayLatencyMs })),
    fingerprintKey,
    metrics,
    settings: {
      retry: {
        maxAttempts: config.gatewayMaxAttempts,
        attemptTimeoutMs: config.gatewayAttemptTimeoutMs,
        budgetMs: config.gatewayBudgetMs,
        backoffBaseMs: config.gatewayBackoffBaseMs,
        backoffMaxMs: config.gatewayBackoffMaxMs,
      },
      idempotencyLeaseMs: config.idempotencyLeaseMs,
      idempotencyTtlMs: config.idempotencyTtlHours * 3_600_000,
      reconcileAfterMs: config.reconcileAfterMs,
    },
    apiKeyCache: new ApiKeyCache(config.apiKeyCacheMs),
    journalTree,
  };
  const pusher = new WitnessPusher({
    witnesses: config.witnesses,
    client: createHttpWitnessClient(),
    journal: config.journalName,
    tree: SubtreeHashes.ofJournalTrees(store.journalTree),
    saveCosignatures: (size, lines) => store.journalTree.addCosignatures(config.journalName, size, lines),
    clock,
    random: () => random.next(),
    onAge: (name, ageMs) => metrics.witnessCheckpointAge(name, ageMs),
    ...(options.onWitnessEvent && { onEvent: options.onWitnessEvent }),
  });
  witnesses = pusher;

  await writer.start(startedRecord(writer.streamId));
  if (keys.previous) {
    // Announced in the stream and covered by checkpoints signed with both keys, so the old key vouches for the new one.
    await writer.append({
      records: [draft(system, 'journal.key_rotated', writer.streamId, 'success', { previous: verifierKeyOf(keys.previous), next: verifierKeyOf(keys.current) })],
      checkpointOwn: true,
    });
  }
  if (options.sealAbandoned ?? true) {
    const { refused } = await sealAbandonedStreams(ctx, system, signers);
    for (const stream of refused) conflict(`stream ${stream.stream} was not sealed: ${stream.reason}`);
  }
  const purge = new IdempotencyPurgeSchedule(
    () => purgeExpiredIdempotencyKeys(ctx, system),
    options.purgeIdempotency ? config.idempotencyPurgeIntervalMs : 0,
    (result) => { if (result.count > 0) options.onPurge?.(result); },
    (err) => options.onPurgeError?.(err),
  );
  purge.start();
  let closed = false;
  return {
    ctx, config, system, witnesses: pusher,
    async close() {
      if (closed) return;
      closed = true;
      try {
        // A purge under way finishes (and journals its count) before the stream stops.
        await purge.stop();
        await writer.stop(draft(system, 'journal.stopped', writer.streamId, 'success', { role: options.role }));
        // The final checkpoint joins the journal tree before the store closes (one try: a store
        // that is down leaves it out of the tree, not out of its stream).
        await journalTree.idle();
        // …and reaches the witnesses, for as long as a dead one may hold a shutdown.
        await pusher.idle(WITNESS_SHUTDOWN_MS);
      } finally {
        journalTree.stop();
        pusher.stop();
        await mirror?.close().catch(() => undefined);
        await store.close();
      }
    },
  };
}
