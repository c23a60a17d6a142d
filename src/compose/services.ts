import { hostname } from 'node:os';
import { createSimulatedGateway } from '../adapters/gateway/simulated/index.js';
import type { AppContext, Caller } from '../app/context.js';
import { JournalWriter } from '../app/journal-writer.js';
import { draft } from '../app/records.js';
import type { Config } from '../config/config.js';
import { newId } from '../core/ids.js';
import type { Store } from '../ports/store.js';
import { loadFingerprintKey } from './local-keys.js';
import { openStore } from './open-store.js';
import { systemClock, systemRandom } from './system.js';

export const PAYLOG_VERSION = '0.1.0';

export interface Services {
  ctx: AppContext;
  config: Config;
  /** The actor of records the process writes on its own behalf. */
  system: Caller;
  /** Seals the stream with journal.stopped and closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Who writes the stream: "serve", "cli" … (goes into journal.started). */
  role: string;
  store?: Store;
}

/** The composition root: builds every service for a config and opens this process's stream. */
export async function startServices(config: Config, options: StartOptions): Promise<Services> {
  const store = options.store ?? (await openStore(config));
  const clock = systemClock;
  const random = systemRandom;
  const writerName = `${hostname()}:${process.pid}`;
  const writer = new JournalWriter(store.journal, clock, {
    journal: config.journalName,
    streamId: newId('str', clock.now(), random.bytes(16)),
    writer: writerName,
    batchRecordsMax: config.journalBatchRecordsMax,
    queueRecordsMax: 50_000,
  });
  const ctx: AppContext = {
    store, writer, clock, random,
    gateway: createSimulatedGateway({ ledger: store.gatewayLedger, clock, latencyMs: config.gatewayLatencyMs }),
    fingerprintKey: loadFingerprintKey(config),
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
  };
  const system: Caller = { merchantId: '', actor: `system:${options.role}`, origin: { requestId: null, traceId: null, ip: null } };
  await writer.start(draft(system, 'journal.started', writer.streamId, 'success', {
    role: options.role, writer: writerName, version: PAYLOG_VERSION, store: store.kind,
  }));
  let closed = false;
  return {
    ctx, config, system,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await writer.stop(draft(system, 'journal.stopped', writer.streamId, 'success', { role: options.role }));
      } finally {
        await store.close();
      }
    },
  };
}
