import { randomFillSync } from 'node:crypto';
import type { Clock, Random } from '../ports/clock.js';

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Bytes from the OS CSPRNG, drawn from a 4 KiB pool refilled when spent: a call into the
 * CSPRNG costs about as much as generating a whole ID, and every payment takes several.
 * Callers get their own copy, never a view of the pool.
 */
const POOL_BYTES = 4_096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomBytesPooled(length: number): Buffer {
  if (length > POOL_BYTES) return randomFillSync(Buffer.alloc(length));
  if (poolOffset + length > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  // Spent bytes are wiped so nothing can read them again from the pool.
  pool.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
  return out;
}

/** Randomness from the OS CSPRNG: IDs, secrets and retry jitter. */
export const systemRandom: Random = {
  next: () => randomBytesPooled(6).readUIntBE(0, 6) / 2 ** 48,
  bytes: (length) => randomBytesPooled(length),
};
