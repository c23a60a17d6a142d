import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/app/verify-journal.js';
import { type ShareRunner, type StreamShare, verifyShare, verifyStoreShared } from '../../src/app/verify-streams.js';
import type { JournalStore } from '../../src/ports/journal-store.js';
import { type JournalFixture, buildJournal } from '../support/journal-fixture.js';

/*
 * verifyStoreShared shares a store's streams among verifiers (here in this process, as the
 * worker threads run them): the report must be the one pass's, and each stream read once.
 */
describe('verifyStoreShared with a crash seal', () => {
  let fixture: JournalFixture;
  beforeAll(async () => {
    // Three writers: the first crashes, the second seals its stream as it starts, the third stops cleanly.
    fixture = await buildJournal({ crashFirst: true, writers: 3 });
  }, 30_000);
  afterAll(() => fixture.cleanup());

  /** The store's journal, counting the reads of each stream from its first record. */
  function counted(journal: JournalStore): { journal: JournalStore; passes: Map<string, number> } {
    const passes = new Map<string, number>();
    const proxy = new Proxy(journal, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (name !== 'readStream') return value.bind(target);
        return (stream: string, from: number, limit: number) => {
          if (from === 1) passes.set(stream, (passes.get(stream) ?? 0) + 1);
          return journal.readStream(stream, from, limit);
        };
      },
    });
    return { journal: proxy, passes };
  }

  it('verifies the sealed stream with its sealer, each stream once, and reports what one pass reports', async () => {
    const [crashed, sealer, third] = fixture.streams as [string, string, string];
    expect(await fixture.store.journal.streamStatus(crashed)).toMatchObject({ state: 'sealed', closedBy: sealer });
    const options = { trusted: fixture.trusted, journal: fixture.journal, journalTree: fixture.store.journalTree, nowMs: Date.now() };
    const one = await verifyStore(fixture.store.journal, options);
    expect(one.problems).toEqual([]);
    expect(one.streams.find((s) => s.stream === crashed)?.end).toBe('sealed_after_crash');

    const { journal, passes } = counted(fixture.store.journal);
    const given: StreamShare[][] = [];
    const inProcess: ShareRunner = (shares) => {
      given.push(shares);
      return Promise.all(shares.map((share) => verifyShare(journal, share)));
    };
    // Three jobs would give each stream a verifier of its own, were the seal not followed.
    const shared = await verifyStoreShared(journal, options, 3, inProcess);
    expect(shared).toEqual(one);
    expect(given).toHaveLength(1);
    expect(given[0]?.map((share) => share.streams.map((s) => s.id)).sort()).toEqual([[crashed, sealer], [third]].sort());
    expect(Object.fromEntries(passes)).toEqual({ [crashed]: 1, [sealer]: 1, [third]: 1 });
  });
});
