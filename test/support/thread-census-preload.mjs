// Appends one line per JavaScript thread a paylog process starts to the file named by
// PAYLOG_TEST_THREAD_CENSUS: `main`, `verify` (a `paylog verify` worker thread, told by its
// share of the streams) or `sqlite-write` (a SQLite store's write thread, told by its
// { path, busyTimeoutMs }), so a test can count what a command started without timing it:
//
//   NODE_OPTIONS="--import <this file's URL>" PAYLOG_TEST_THREAD_CENSUS=FILE paylog verify --jobs 2
//
// Preloads run in worker threads too. Nothing in paylog loads it.
import { appendFileSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';

const census = process.env.PAYLOG_TEST_THREAD_CENSUS;
if (census) {
  const data = typeof workerData === 'object' && workerData !== null ? workerData : {};
  const kind = isMainThread ? 'main' : 'share' in data ? 'verify' : 'path' in data && 'busyTimeoutMs' in data ? 'sqlite-write' : 'other';
  appendFileSync(census, `${kind}\n`);
}
