// Makes every `paylog verify` worker thread fail as it starts, before it has verified anything,
// so a test can check that a crashed thread is an error (exit 2), never a valid journal:
//
//   NODE_OPTIONS="--import <this file's URL>" paylog verify --jobs 2
//
// Preloads run in worker threads too; the one a verify thread gets carries its share of the
// streams, which is how it is told from the main thread and from SQLite's write thread.
// Nothing in paylog loads it.
import { isMainThread, workerData } from 'node:worker_threads';

if (!isMainThread && typeof workerData === 'object' && workerData !== null && 'share' in workerData) {
  setImmediate(() => {
    throw new Error('paylog-test: verify thread crashed');
  });
}
