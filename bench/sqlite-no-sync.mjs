// Bench only, never in paylog: `node --import bench/sqlite-no-sync.mjs bin/paylog.js serve` runs
// paylog on SQLite with `synchronous=OFF` (no fsync, so a commit is not durable): the store that
// never syncs, against which http-intake measures what durability costs. Worker threads inherit
// the flag, so the write thread's connection gets it too. Each connection it changes says so on
// stderr, so a run that lost the switch cannot pass for one that had it.
import Database from 'better-sqlite3';
import { threadId } from 'node:worker_threads';

const pragma = Database.prototype.pragma;
Database.prototype.pragma = function noSync(source, options) {
  if (!/^\s*synchronous\s*=/i.test(source)) return pragma.call(this, source, options);
  process.stderr.write(`sqlite-no-sync: synchronous=OFF (thread ${threadId})\n`);
  return pragma.call(this, 'synchronous = OFF', options);
};
