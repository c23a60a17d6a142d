import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { originHash } from '../../src/app/witness/add-checkpoint.js';
import type { WitnessStore, WitnessedCheckpoint } from '../../src/app/witness/witness-store.js';
import { EVIDENCE_PER_ORIGIN_MAX, openSqliteWitnessStore } from '../../src/adapters/witness-store/sqlite.js';
import { StoreUnavailableError } from '../../src/ports/store.js';
import { TestLog } from '../support/witness.js';

let dir: string;
let path: string;
const opened: WitnessStore[] = [];
const log = new TestLog('log.test/store', 50);

const open = (busyTimeoutMs?: number): WitnessStore => {
  const store = openSqliteWitnessStore(path, busyTimeoutMs);
  opened.push(store);
  return store;
};
const checkpoint = (size: number): WitnessedCheckpoint => ({
  origin: log.origin, size, root: log.root(size), note: log.checkpoint(size), cosignature: `\u2014 w ${size}\n`, cosignedAt: size,
});
const heldSize = (store: WitnessStore) => store.latestByOriginHash(Buffer.from(originHash(log.origin), 'hex'))?.size ?? null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paylog-witness-store-'));
  path = join(dir, 'witness.db');
});
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite witness store', () => {
  it('reads back what an update saved, across a reopen, found by origin hash', () => {
    const store = open();
    expect(store.update(log.origin, (held) => ({ save: checkpoint(10), result: held }))).toBeNull();
    store.close();
    const again = open();
    const held = again.latestByOriginHash(Buffer.from(originHash(log.origin), 'hex'));
    expect(held).toEqual(checkpoint(10));
    expect(again.update(log.origin, (h) => ({ result: h?.size }))).toBe(10);
  });

  it('makes the race tlog-witness describes impossible: no other connection can check or write between one update\'s check and write', () => {
    // Request A has checked size 20 against the held 10 and not yet written; request B
    // (another process on the same file) comes with size 30 at that moment.
    const a = open();
    const b = open(50);
    a.update(log.origin, () => ({ save: checkpoint(10), result: null }));
    let bSawDuringA: unknown = 'not run';
    a.update(log.origin, (held) => {
      expect(held?.size).toBe(10);
      try {
        bSawDuringA = b.update(log.origin, (h) => ({ save: checkpoint(30), result: h?.size }));
      } catch (err) {
        bSawDuringA = err;
      }
      return { save: checkpoint(20), result: null };
    });
    expect(bSawDuringA).toBeInstanceOf(StoreUnavailableError);
    expect(heldSize(b)).toBe(20);
    // B, retried, is checked against what A wrote.
    expect(b.update(log.origin, (h) => ({ result: h?.size }))).toBe(20);
  });

  it('refuses to lower a witnessed size, or to write another origin\'s row, whatever the caller decides', () => {
    const store = open();
    store.update(log.origin, () => ({ save: checkpoint(10), result: null }));
    expect(() => store.update(log.origin, () => ({ save: checkpoint(9), result: null }))).toThrow(StoreUnavailableError);
    expect(heldSize(store)).toBe(10);
    expect(() => store.update('log.test/else', () => ({ save: checkpoint(11), result: null }))).toThrow();
  });

  it('rolls the whole step back when the decision throws', () => {
    const store = open();
    expect(() => store.update(log.origin, () => { throw new Error('boom'); })).toThrow('boom');
    expect(heldSize(store)).toBeNull();
  });

  it('keeps each piece of evidence once, and at most EVIDENCE_PER_ORIGIN_MAX per log', () => {
    const store = open();
    const evidence = (i: number) => ({ origin: log.origin, kind: 'proof_invalid' as const, receivedAtMs: i, request: `request ${i}`, held: null });
    store.update(log.origin, () => ({ evidence: evidence(0), result: null }));
    store.update(log.origin, () => ({ evidence: evidence(0), result: null }));
    expect(store.evidence(10)).toEqual([evidence(0)]);
    for (let i = 1; i < EVIDENCE_PER_ORIGIN_MAX + 5; i++) store.update(log.origin, () => ({ evidence: evidence(i), result: null }));
    expect(store.evidence(EVIDENCE_PER_ORIGIN_MAX + 10)).toHaveLength(EVIDENCE_PER_ORIGIN_MAX);
  });
});
