import { Worker } from 'node:worker_threads';
import type { ShareResult, ShareRunner, StreamShare } from '../../app/verify-streams.js';
import type { Config } from '../../config/config.js';

/**
 * Heap limits of a verify thread. Without them V8 sizes each thread's heap for the machine and
 * lets it grow lazily: two threads took 330–370 MiB together on a 24 GiB machine, against about
 * 245 MiB with these and no slower. A thread holds a page of records and its streams' bounded
 * state; one that needs more than this fails the run (exit 2) rather than the machine.
 */
const THREAD_YOUNG_GENERATION_MB = 16;
const THREAD_OLD_GENERATION_MB = 256;

/** What a verify thread is started with. */
export interface VerifyThreadData {
  config: Config;
  share: StreamShare;
}

/** What a verify thread posts: records verified since its last post, then its result. */
export type VerifyThreadMessage = { progress: number } | { result: ShareResult };

/**
 * Runs each share on a worker thread of its own, which opens its own connection to the
 * configured store. Every thread is terminated when the run ends, whether all finished or one
 * failed; a thread that fails, or stops without a result, fails the run (verify exits 2), so a
 * crash can never read as a valid journal.
 */
export function verifyThreads(config: Config): ShareRunner {
  return async (shares, onProgress) => {
    const workers = shares.map((share) => new Worker(new URL('./verify-thread.js', import.meta.url), {
      workerData: { config, share } satisfies VerifyThreadData,
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: THREAD_OLD_GENERATION_MB },
    }));
    try {
      return await Promise.all(workers.map((worker, i) => resultOf(worker, i, onProgress)));
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  };
}

function resultOf(worker: Worker, index: number, onProgress?: (records: number) => void): Promise<ShareResult> {
  return new Promise((resolve, reject) => {
    worker.on('message', (message: VerifyThreadMessage) => {
      if ('progress' in message) onProgress?.(message.progress);
      else resolve(message.result);
    });
    worker.once('error', (err) => reject(new Error(`verify thread ${index + 1} failed: ${err.message}`)));
    // Resolving after a result makes this a no-op; without one, the thread died.
    worker.once('exit', (code) => reject(new Error(`verify thread ${index + 1} stopped before it finished (exit code ${code})`)));
  });
}
