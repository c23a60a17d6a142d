import { parentPort, workerData } from 'node:worker_threads';
import { verifyShare } from '../../app/verify-streams.js';
import { openStore } from '../../compose/open-store.js';
import type { TrustedKey } from '../../core/checkpoint.js';
import type { VerifyThreadData, VerifyThreadMessage } from './verify-threads.js';

/*
 * A verify thread (verify-threads.ts): verifies one share of the journal's streams on its own
 * connection to the store, and posts what it found. Anything thrown fails the thread, and so
 * the run.
 */

const { config, share } = workerData as VerifyThreadData;
const post = (message: VerifyThreadMessage): void => parentPort?.postMessage(message);

// Buffers arrive as Uint8Arrays (structured clone); key IDs are compared as Buffers.
const trusted = share.verifierOptions.trusted?.map((t): TrustedKey => ({
  ...t, key: { ...t.key, keyId: Buffer.from(t.key.keyId), publicKey: Buffer.from(t.key.publicKey) },
}));
// Reads only: a SQLite store opens without its write thread.
const store = await openStore(config, { readOnly: true });
try {
  const result = await verifyShare(store.journal, { ...share, verifierOptions: { ...share.verifierOptions, ...(trusted && { trusted }) } }, (progress) => post({ progress }));
  post({ result });
} finally {
  await store.close();
}
