import { randomBytes } from 'node:crypto';
import type { Clock, Random } from '../ports/clock.js';

export const systemClock: Clock = { now: () => Date.now() };

/** Randomness from the OS CSPRNG: IDs, secrets and retry jitter. */
export const systemRandom: Random = {
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  bytes: (length) => randomBytes(length),
};
