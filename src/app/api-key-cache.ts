import type { ApiKey } from '../ports/key-store.js';

/** API keys one process remembers at most; past this the longest-held is forgotten. */
export const API_KEY_CACHE_ENTRIES_MAX = 1_000;

interface Cached {
  key: ApiKey;
  cachedAtMs: number;
}

/**
 * API keys that authenticated recently in this process, by the SHA-256 of their secret, so
 * that a request does not cost a store read. Only valid keys are kept (unknown keys are
 * always looked up, so a flood of them cannot fill it), and only the hash and the key's
 * metadata, never a secret.
 *
 * A key revoked by another process keeps working here until its entry is `maxAgeMs` old;
 * `forget` makes a revocation by this process take effect at once.
 */
export class ApiKeyCache {
  /** In insertion order, which is age order: the first entry is the oldest. */
  private readonly entries = new Map<string, Cached>();
  private forgets = 0;

  /** `maxAgeMs` 0 turns the cache off. */
  constructor(private readonly maxAgeMs: number, private readonly entriesMax = API_KEY_CACHE_ENTRIES_MAX) {
    if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 0) throw new RangeError(`maxAgeMs must be a whole number >= 0, got ${maxAgeMs}`);
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) throw new RangeError(`entriesMax must be a whole number >= 1, got ${entriesMax}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Taken before a store read and handed to `set` after it: a revocation in between (this
   * read may have seen the key before it) keeps the result out of the cache.
   */
  get epoch(): number {
    return this.forgets;
  }

  get(secretHash: string, nowMs: number): ApiKey | null {
    const cached = this.entries.get(secretHash);
    if (!cached) return null;
    const ageMs = nowMs - cached.cachedAtMs;
    // A clock that stepped back gives a negative age: not trusted either.
    if (ageMs >= 0 && ageMs < this.maxAgeMs) return cached.key;
    this.entries.delete(secretHash);
    return null;
  }

  /** Remembers a valid key read at `readAtMs` (taken before the read, so its age is never understated). */
  set(key: ApiKey, readAtMs: number, epoch: number): void {
    if (this.maxAgeMs === 0 || key.revokedAt !== null || epoch !== this.forgets) return;
    this.entries.delete(key.secretHash);
    // Shared by every request it authenticates until it expires.
    this.entries.set(key.secretHash, { key: Object.freeze(key), cachedAtMs: readAtMs });
    if (this.entries.size > this.entriesMax) this.entries.delete(this.entries.keys().next().value as string);
  }

  forget(secretHash: string): void {
    this.forgets++;
    this.entries.delete(secretHash);
  }
}
