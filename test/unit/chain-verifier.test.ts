import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord, GENESIS_PREV, type RecordDraft, type RecordType, recordLine, sealRecord,
} from '../../src/core/audit-record.js';
import {
  type ChainReport, ChainVerifier, type Location, RECENT_TREES_MAX, type VerifierOptions,
} from '../../src/core/chain-verifier.js';
import { type TrustedKey, checkpointOrigin, signCheckpoint } from '../../src/core/checkpoint.js';
import { MerkleFrontier } from '../../src/core/merkle.js';
import { type SignedHead, headLine } from '../../src/core/signed-head.js';
import { type NoteSigner, parseVerifierKey, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';

const JOURNAL = 'paylog-local';
const A = 'str_01jdq1aaaaaaaaaaaaaaaaaa';
const B = 'str_01jdq1bbbbbbbbbbbbbbbbbb';
const C = 'str_01jdq1cccccccccccccccccc';
const T0 = Date.parse('2026-11-26T16:00:00.000Z');
const PER_STREAM = 10;

function draft(type: RecordType, i: number): RecordDraft {
  return {
    type,
    actor: type.startsWith('journal.') ? 'system' : 'key_01jdq0000000000000000000',
    origin: { requestId: `req_${i}`, traceId: null, ip: '127.0.0.1' },
    resource: type.startsWith('payment.') ? `txn_${i}` : null,
    outcome: 'success',
    reason: null,
    data: { amount: 1000 + i, currency: 'USD', card: { brand: 'visa', bin: '424242', last4: '4242' } },
  };
}

/** A valid stream: journal.started, payments, and optionally journal.stopped at the end. */
function buildStream(stream: string, count: number, options: { journal?: string; stopped?: boolean; firstType?: RecordType } = {}): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prev = GENESIS_PREV;
  for (let seq = 1; seq <= count; seq++) {
    const type: RecordType =
      seq === 1 ? (options.firstType ?? 'journal.started')
        : seq === count && options.stopped ? 'journal.stopped'
          : (['payment.received', 'payment.attempted', 'payment.succeeded'] as const)[seq % 3]!;
    const record = sealRecord(draft(type, seq), {
      journal: options.journal ?? JOURNAL, stream, seq, prev, ts: new Date(T0 + seq * 1000).toISOString(),
    });
    records.push(record);
    prev = record.hash;
  }
  return records;
}

/** Records of several streams, interleaved one by one (A1 B1 A2 B2 …). */
function interleave(...streams: AuditRecord[][]): AuditRecord[] {
  const out: AuditRecord[] = [];
  const longest = Math.max(...streams.map((s) => s.length));
  for (let i = 0; i < longest; i++) for (const s of streams) if (s[i]) out.push(s[i]!);
  return out;
}

function verify(values: unknown[], options: { journal?: string; at?: (value: unknown, index: number) => Location } = {}): ChainReport {
  const verifier = new ChainVerifier(options.journal);
  values.forEach((value, i) => verifier.add(value, options.at?.(value, i) ?? {}));
  return verifier.finish();
}

const problemsOf = (report: ChainReport) => report.problems.map(({ stream, seq, kind }) => ({ stream, seq, kind }));
const find = (records: AuditRecord[], stream: string, seq: number) => records.findIndex((r) => r.stream === stream && r.seq === seq);
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Re-seals a record after changing it, so its own hash is right again. */
function reseal(record: AuditRecord, change: Partial<AuditRecord>): AuditRecord {
  const changed = { ...record, ...change };
  return sealRecord(changed, changed);
}

const streamA = buildStream(A, PER_STREAM);
const streamB = buildStream(B, PER_STREAM, { stopped: true });
const chain = interleave(streamA, streamB);

describe('ChainVerifier on a valid journal', () => {
  it('reports no problems for two interleaved streams', () => {
    const report = verify(chain, { journal: JOURNAL });
    expect(chain).toHaveLength(2 * PER_STREAM);
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(2 * PER_STREAM);
  });

  it('summarises every stream', () => {
    const report = verify(chain, { journal: JOURNAL });
    expect(report.streams).toEqual([
      { stream: A, records: PER_STREAM, lastSeq: PER_STREAM, lastHash: streamA.at(-1)!.hash, stopped: false, end: 'open', checkpoints: 0, uncovered: PER_STREAM, valid: true },
      { stream: B, records: PER_STREAM, lastSeq: PER_STREAM, lastHash: streamB.at(-1)!.hash, stopped: true, end: 'stopped', checkpoints: 0, uncovered: PER_STREAM, valid: true },
    ]);
  });

  it('accepts records parsed back from their JSON lines', () => {
    expect(verify(chain.map((r) => JSON.parse(recordLine(r)) as unknown), { journal: JOURNAL }).problems).toEqual([]);
  });

  it('accepts streams one after the other as well as interleaved', () => {
    expect(verify([...streamB, ...streamA], { journal: JOURNAL }).problems).toEqual([]);
  });

  it('accepts every record at the location it claims', () => {
    const report = verify(chain, { journal: JOURNAL, at: (_v, i) => ({ stream: chain[i]!.stream, seq: chain[i]!.seq, line: i + 1 }) });
    expect(report.problems).toEqual([]);
  });

  it('takes the journal name from the first record when none is given, so a record of another journal stands out', () => {
    const report = verify(interleave(streamA, buildStream(C, 3, { journal: 'paylog-other' })));
    expect(new Set(problemsOf(report).map((p) => `${p.stream}:${p.kind}`))).toEqual(new Set([`${C}:wrong_journal`]));
    expect(problemsOf(report)).toHaveLength(3);
  });
});

describe('ChainVerifier on a tampered journal', () => {
  it('reports a modified field as "modified" at that seq only', () => {
    const tampered = clone(chain);
    const i = find(tampered, A, 5);
    (tampered[i]!.data as { amount: number }).amount = 1;
    const report = verify(tampered, { journal: JOURNAL });
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 5, kind: 'modified' }]);
    expect(report.streams.find((s) => s.stream === A)?.valid).toBe(false);
    expect(report.streams.find((s) => s.stream === B)?.valid).toBe(true);
  });

  it('reports a changed hash as "modified", and the next link as broken', () => {
    const tampered = clone(chain);
    const i = find(tampered, B, 3);
    tampered[i]!.hash = 'f'.repeat(64);
    const report = verify(tampered, { journal: JOURNAL });
    // seq 4's prev no longer matches the (forged) claimed hash of seq 3.
    expect(problemsOf(report)).toEqual([
      { stream: B, seq: 3, kind: 'modified' },
      { stream: B, seq: 4, kind: 'chain_broken' },
    ]);
  });

  it('reports a deleted record as "missing"', () => {
    const tampered = chain.filter((_r, i) => i !== find(chain, A, 5));
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: A, seq: 5, kind: 'missing' }]);
  });

  it('reports deleted first records as "missing"', () => {
    const tampered = chain.filter((r) => !(r.stream === B && r.seq <= 2));
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([
      { stream: B, seq: 1, kind: 'missing' },
      { stream: B, seq: 2, kind: 'missing' },
    ]);
  });

  it('reports two swapped records as "reordered"', () => {
    const tampered = [...chain];
    const i = find(tampered, A, 5);
    const j = find(tampered, A, 6);
    [tampered[i], tampered[j]] = [tampered[j]!, tampered[i]!];
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: A, seq: 5, kind: 'reordered' }]);
  });

  it('reports a duplicated record as "duplicate"', () => {
    const tampered = [...chain];
    const i = find(tampered, A, 5);
    tampered.splice(i + 1, 0, tampered[i]!);
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: A, seq: 5, kind: 'duplicate' }]);
  });

  it('reports a record copied to a later position as "duplicate"', () => {
    const tampered = [...chain];
    tampered.splice(find(tampered, A, 8) + 1, 0, chain[find(chain, A, 3)]!);
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: A, seq: 3, kind: 'duplicate' }]);
  });

  it('reports an inserted, validly sealed record claiming an existing seq as "duplicate"', () => {
    const tampered = [...chain];
    const original = chain[find(chain, B, 4)]!;
    const forged = reseal(original, { data: { amount: 1 } });
    tampered.splice(find(tampered, B, 4) + 1, 0, forged);
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: B, seq: 4, kind: 'duplicate' }]);
  });

  it('reports a record whose prev was changed and re-hashed as "chain_broken", and its successor too', () => {
    const tampered = [...chain];
    const i = find(tampered, A, 5);
    tampered[i] = reseal(tampered[i]!, { prev: 'e'.repeat(64) });
    // seq 5 no longer links to seq 4; and seq 6 links to the old hash of seq 5, not the new one.
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([
      { stream: A, seq: 5, kind: 'chain_broken' },
      { stream: A, seq: 6, kind: 'chain_broken' },
    ]);
  });

  it('reports a re-hashed last record with a changed prev as "chain_broken" at that seq only', () => {
    const tampered = [...chain];
    const i = find(tampered, A, PER_STREAM);
    tampered[i] = reseal(tampered[i]!, { prev: 'e'.repeat(64) });
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([{ stream: A, seq: PER_STREAM, kind: 'chain_broken' }]);
  });

  it('reports a first record whose prev is not 64 zeros as "chain_broken"', () => {
    const tampered = [...chain];
    const i = find(tampered, B, 1);
    tampered[i] = reseal(tampered[i]!, { prev: '1'.repeat(64) });
    expect(problemsOf(verify(tampered, { journal: JOURNAL }))).toEqual([
      { stream: B, seq: 1, kind: 'chain_broken' },
      { stream: B, seq: 2, kind: 'chain_broken' },
    ]);
  });

  it('reports a record found at another stream\'s location as "misplaced"', () => {
    // A's seq 3 copied to the end of stream B, where B's seq 11 would go.
    const tampered = [...chain, chain[find(chain, A, 3)]!];
    const at = (_v: unknown, i: number): Location =>
      i === tampered.length - 1 ? { stream: B, seq: PER_STREAM + 1 } : { stream: tampered[i]!.stream, seq: tampered[i]!.seq };
    const report = verify(tampered, { journal: JOURNAL, at });
    expect(problemsOf(report)).toEqual([{ stream: B, seq: PER_STREAM + 1, kind: 'misplaced' }]);
    expect(report.problems[0]!.message).toContain(`${A} seq 3`);
  });

  it('reports a record stored under another seq of its own stream as "misplaced"', () => {
    const tampered = [...chain, chain[find(chain, A, 2)]!];
    const at = (_v: unknown, i: number): Location => (i === tampered.length - 1 ? { stream: A, seq: PER_STREAM + 1 } : {});
    expect(problemsOf(verify(tampered, { journal: JOURNAL, at }))).toEqual([{ stream: A, seq: PER_STREAM + 1, kind: 'misplaced' }]);
  });

  it('reports a record replacing another stream\'s record as "misplaced", and that seq as missing', () => {
    const tampered = [...chain];
    const i = find(tampered, B, 5);
    tampered[i] = chain[find(chain, A, 5)]!;
    const at = (_v: unknown, k: number): Location => (k === i ? { stream: B, seq: 5 } : {});
    expect(problemsOf(verify(tampered, { journal: JOURNAL, at }))).toEqual([
      { stream: B, seq: 5, kind: 'misplaced' },
      { stream: B, seq: 5, kind: 'missing' },
    ]);
  });

  it('reports records of another journal as "wrong_journal"', () => {
    const other = buildStream(C, 2, { journal: 'paylog-other' });
    const report = verify(interleave(streamA, other, streamB), { journal: JOURNAL });
    expect(problemsOf(report)).toEqual([
      { stream: C, seq: 1, kind: 'wrong_journal' },
      { stream: C, seq: 2, kind: 'wrong_journal' },
    ]);
    expect(report.problems[0]!.message).toContain('paylog-other');
  });

  it('reports values that are not records as "malformed", with their line number', () => {
    const garbage: unknown[] = [
      'not json',
      null,
      42,
      [],
      { v: 1 },
      { ...chain[0]!, v: 2 },
      { ...chain[0]!, seq: 0 },
      { ...chain[0]!, seq: 1.5 },
      { ...chain[0]!, seq: '1' },
      { ...chain[0]!, hash: 'XYZ' },
      { ...chain[0]!, prev: GENESIS_PREV.toUpperCase().replace(/0/g, 'A') },
      // The right hash and the right prev, in upper case: still not a record's form.
      { ...chain[0]!, hash: chain[0]!.hash.toUpperCase() },
      { ...chain[1]!, prev: chain[0]!.hash.toUpperCase() },
      { ...chain[0]!, type: 'payment.stolen' },
      { ...chain[0]!, origin: null },
      { ...chain[0]!, data: 'x' },
    ];
    const lines = [...chain, ...garbage];
    const report = verify(lines, { journal: JOURNAL, at: (_v, i) => ({ line: i + 1 }) });
    expect(problemsOf(report)).toEqual(garbage.map(() => ({ stream: '?', seq: null, kind: 'malformed' })));
    expect(report.problems.map((p) => p.message)).toEqual(garbage.map((_g, k) => `line ${chain.length + k + 1} is not an audit record`));
    expect(report.records).toBe(lines.length);
    expect(report.streams.every((s) => s.valid)).toBe(true);
  });

  it('reports a stream that does not begin with journal.started', () => {
    const headless = buildStream(C, 3, { firstType: 'payment.received' });
    const report = verify(interleave(streamA, headless, streamB), { journal: JOURNAL });
    expect(problemsOf(report)).toEqual([{ stream: C, seq: 1, kind: 'chain_broken' }]);
    expect(report.problems[0]!.message).toContain('journal.started');
  });
});

describe('ChainVerifier against random tampering (property)', () => {
  const lines = chain.map(recordLine);
  const streamOf = (line: string) => (JSON.parse(line) as AuditRecord).stream;
  const isLastOfStream = (index: number) => {
    const record = chain[index]!;
    return record.seq === Math.max(...chain.filter((r) => r.stream === record.stream).map((r) => r.seq));
  };
  /** Per-stream order of lines, as the verifier sees it. */
  const perStreamOrder = (ls: string[]) => {
    const order = new Map<string, string[]>();
    for (const line of ls) {
      const stream = streamOf(line);
      order.set(stream, [...(order.get(stream) ?? []), line]);
    }
    return JSON.stringify([...order.entries()].sort());
  };

  function verifyLines(ls: string[]): ChainReport {
    const verifier = new ChainVerifier(JOURNAL);
    ls.forEach((line, i) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = line;
      }
      verifier.add(value, { line: i + 1 });
    });
    return verifier.finish();
  }

  const index = fc.nat({ max: lines.length - 1 });
  const replacement = fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('0', '1', 'a', 'f', '"', '\\', '{', '}', ',', ':', 'é', '\u0000'),
  );
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('char' as const), line: index, at: fc.nat(), to: replacement }),
    fc.record({ kind: fc.constant('delete' as const), line: index }),
    fc.record({ kind: fc.constant('swap' as const), line: index, other: index }),
  );

  it('the untampered lines verify', () => {
    expect(verifyLines(lines).problems).toEqual([]);
  });

  it('reports at least one problem after any one-character change, deletion or swap', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const tampered = [...lines];
        if (m.kind === 'char') {
          const line = tampered[m.line]!;
          const at = m.at % line.length;
          const changed = line.slice(0, at) + m.to + line.slice(at + 1);
          fc.pre(changed !== line);
          tampered[m.line] = changed;
        } else if (m.kind === 'delete') {
          // Cutting a stream's tail leaves a shorter valid chain: that is caught against a
          // signed checkpoint (SPEC §3), not by the hash chain alone.
          fc.pre(!isLastOfStream(m.line));
          tampered.splice(m.line, 1);
        } else {
          fc.pre(m.line !== m.other);
          [tampered[m.line], tampered[m.other]] = [tampered[m.other]!, tampered[m.line]!];
          // Swapping lines of two streams without changing either stream's own order is a
          // different but equally valid interleaving.
          fc.pre(perStreamOrder(tampered) !== perStreamOrder(lines));
        }
        return verifyLines(tampered).problems.length >= 1;
      }),
      { numRuns: 200, seed: 6962 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Signatures (checkpoint records, signed heads), coverage, and times.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const signer = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
const trustedKey = (s: NoteSigner, validFrom: number | null = null, validUntil: number | null = null): TrustedKey =>
  ({ key: parseVerifierKey(verifierKeyOf(s)), validFrom, validUntil });
const TRUSTED = [trustedKey(signer)];
/** Verification one minute after the journals below were written. */
const NOW = T0 + 100 * SECOND + MINUTE;
const STRICT: VerifierOptions = { journal: JOURNAL, trusted: TRUSTED, requireCoverage: true, nowMs: NOW };

const rootOf = (records: readonly AuditRecord[], size: number): string => {
  const frontier = new MerkleFrontier();
  for (const r of records.slice(0, size)) frontier.push(Buffer.from(r.hash, 'hex'));
  return frontier.root().toString('hex');
};

/** A head over a stream's first `size` records, signed at the last one's time unless told. */
function headOf(records: readonly AuditRecord[], size: number, options: { time?: string | null; signers?: NoteSigner[]; origin?: string } = {}): SignedHead {
  const stream = (records[0] as AuditRecord).stream;
  const root = rootOf(records, size);
  const time = options.time === undefined ? (records[size - 1] as AuditRecord).ts : options.time;
  const origin = options.origin ?? checkpointOrigin(JOURNAL, stream);
  const note = signCheckpoint({ origin, size, root, ...(time !== null && { time }) }, options.signers ?? [signer]);
  return { stream, size, root, note };
}

/**
 * A stream as a signing writer makes it: journal.started, payments, a journal.checkpoint (timed)
 * every `every` records, optionally journal.stopped and its checkpoint; record i at T0 + i s.
 */
function signedStream(stream: string, count: number, options: { every?: number; stop?: boolean; ts?: (seq: number) => string } = {}): AuditRecord[] {
  const records: AuditRecord[] = [];
  const tsOf = options.ts ?? ((seq: number) => rfc3339(T0 + seq * SECOND));
  const push = (d: RecordDraft): void => {
    const seq = records.length + 1;
    records.push(sealRecord(d, { journal: JOURNAL, stream, seq, prev: records[seq - 2]?.hash ?? GENESIS_PREV, ts: tsOf(seq) }));
  };
  const checkpoint = (): void => {
    const size = records.length;
    const root = rootOf(records, size);
    const time = tsOf(size + 1);
    push({ ...draft('journal.checkpoint', size), data: { size, root, note: signCheckpoint({ origin: checkpointOrigin(JOURNAL, stream), size, root, time }, [signer]) } });
  };
  push(draft('journal.started', 1));
  while (records.length < count) {
    push(draft('payment.received', records.length + 1));
    if (options.every && records.length % options.every === 0 && records.length < count) checkpoint();
  }
  if (options.stop) {
    push(draft('journal.stopped', records.length + 1));
    checkpoint();
  }
  return records;
}

/** One record chained onto the end of a stream. */
const after = (records: readonly AuditRecord[], type: RecordType = 'payment.received', ts?: string): AuditRecord => {
  const last = records[records.length - 1] as AuditRecord;
  return sealRecord(draft(type, last.seq + 1), { journal: JOURNAL, stream: last.stream, seq: last.seq + 1, prev: last.hash, ts: ts ?? last.ts });
};

type Item = AuditRecord | { head: SignedHead };
/** Feeds records and head lines, in order, as verifyRecords does. */
function check(items: readonly Item[], options: VerifierOptions = STRICT, storeHeads: readonly SignedHead[] = []): ChainReport {
  const verifier = new ChainVerifier(options);
  for (const h of storeHeads) verifier.expectHead(h.stream, h);
  items.forEach((item, i) => {
    if ('head' in item) verifier.expectHead(item.head.stream, item.head, { line: i + 1 });
    else verifier.add(JSON.parse(recordLine(item)) as unknown, { line: i + 1 });
  });
  return verifier.finish();
}
const withHead = (records: AuditRecord[], size = records.length): Item[] => [...records, { head: headOf(records, size) }];

describe('ChainVerifier: coverage by signed heads (requireCoverage)', () => {
  const stream = signedStream(A, 12, { every: 5 });

  it('a head after the records it covers (a file), or given before them (a store): every record covered', () => {
    for (const report of [check(withHead(stream)), check(stream, STRICT, [headOf(stream, stream.length)])]) {
      expect(report.problems).toEqual([]);
      expect(report.streams[0]).toMatchObject({ records: 12, uncovered: 0, valid: true });
    }
  });

  it('records beyond the newest head → unauthenticated at the first, with how many', () => {
    const one = [...withHead(stream), after(stream)];
    expect(problemsOf(check(one))).toEqual([{ stream: A, seq: 13, kind: 'unauthenticated' }]);
    expect(check(one).problems[0]!.message).toBe('seq 13 is covered by no valid signature: valid signatures cover seq 1–12 only');
    // The checkpoint record at seq 11 covers seq 1–10: only seq 11 and 12 are beyond every signature.
    const more = [...stream.slice(0, 9), { head: headOf(stream, 9) }, ...stream.slice(9)];
    expect(problemsOf(check(more))).toEqual([{ stream: A, seq: 11, kind: 'unauthenticated' }]);
    expect(check(more).problems[0]!.message).toBe('2 records from seq 11 on are covered by no valid signature: valid signatures cover seq 1–10 only');
  });

  it('a stream with no valid signature at all → unauthenticated from seq 1', () => {
    const report = check(streamA);
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 1, kind: 'unauthenticated' }]);
    expect(report.problems[0]!.message).toContain('no valid signature covers any of its records');
  });

  it('checkpoint records cover what they sign, not themselves: without a head, a stream ending in one is unauthenticated there', () => {
    const ending = stream.slice(0, 11);
    expect(ending[10]!.type).toBe('journal.checkpoint');
    expect(problemsOf(check(ending))).toEqual([{ stream: A, seq: 11, kind: 'unauthenticated' }]);
    // Without requireCoverage, as before signed heads: counted as covered by itself.
    const lenient = check(ending, { journal: JOURNAL, trusted: TRUSTED });
    expect(lenient.problems).toEqual([]);
    expect(lenient.streams[0]!.uncovered).toBe(0);
  });

  it('without trusted keys, requireCoverage asks nothing: records are only counted', () => {
    const report = check([...stream, after(stream)], { journal: JOURNAL, requireCoverage: true });
    expect(report.problems).toEqual([]);
    expect(report.streams[0]!.uncovered).toBe(2);
  });

  it('a head that arrives after later records (a store read after a forged tail) is still checked, within the trees kept', () => {
    const tail = [after(stream)];
    tail.push(after([...stream, ...tail]));
    expect(problemsOf(check([...stream, ...tail, { head: headOf(stream, 12) }]))).toEqual([{ stream: A, seq: 13, kind: 'unauthenticated' }]);
    // Its root is checked against the tree as it was at its size.
    const rewritten = signedStream(A, 12, { every: 5, ts: (seq) => rfc3339(T0 + seq * SECOND + (seq === 3 ? 1 : 0)) });
    expect(problemsOf(check([...stream, ...tail, { head: headOf(rewritten, 12) }]))).toEqual([
      { stream: A, seq: 11, kind: 'unauthenticated' },
      { stream: A, seq: 12, kind: 'checkpoint_mismatch' },
    ]);
  });

  it('a head further back than the trees kept covers nothing (its root cannot be checked in one pass)', () => {
    const long = signedStream(B, RECENT_TREES_MAX + 20);
    const options = { ...STRICT, nowMs: undefined };
    const report = check([...long, { head: headOf(long, 10) }], options);
    expect(problemsOf(report)).toEqual([{ stream: B, seq: 1, kind: 'unauthenticated' }]);
    const recent = check([...long, { head: headOf(long, long.length - RECENT_TREES_MAX + 1) }], options);
    expect(problemsOf(recent)).toEqual([{ stream: B, seq: long.length - RECENT_TREES_MAX + 2, kind: 'unauthenticated' }]);
  });

  it('a forged head (altered signature) → checkpoint_invalid at its size; what only it covered is unauthenticated', () => {
    const head = headOf(stream, 12);
    const sig = head.note.match(/\u2014 \S+ (\S+)\n$/)![1]!;
    const bytes = Buffer.from(sig, 'base64');
    bytes[10]! ^= 1;
    const report = check([...stream, { head: { ...head, note: head.note.replace(sig, bytes.toString('base64')) } }]);
    expect(problemsOf(report)).toEqual([
      { stream: A, seq: 12, kind: 'checkpoint_invalid' },
      { stream: A, seq: 11, kind: 'unauthenticated' },
    ].sort((a, b) => a.seq - b.seq));
    expect(report.problems.find((p) => p.kind === 'checkpoint_invalid')!.message).toMatch(/^signed head on line 13: forged/);
  });

  it('a head signed by an unknown key, for another stream, for another journal, or saying another size → checkpoint_invalid', () => {
    const other = signedStream(B, 12, { every: 5 });
    const stranger = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
    const cases: [SignedHead, RegExp][] = [
      [headOf(stream, 12, { signers: [stranger] }), /unknown key/],
      [{ ...headOf(other, 12), stream: A }, /wrong origin/],
      [headOf(stream, 12, { origin: `paylog-other/${A}` }), /wrong origin/],
      [{ ...headOf(stream, 12), size: 11, root: rootOf(stream, 11) }, /signed note says size 12, not 11/],
    ];
    for (const [head, message] of cases) {
      const report = check([...stream, { head }]);
      expect(report.problems.filter((p) => p.kind === 'checkpoint_invalid').map((p) => p.message)).toEqual([expect.stringMatching(message)]);
      expect(report.problems.every((p) => p.stream === A)).toBe(true);
    }
    // A head whose own stream field names another stream than the one it is given for.
    const verifier = new ChainVerifier(STRICT);
    stream.forEach((r) => verifier.add(r));
    verifier.expectHead(A, headOf(other, 12));
    expect(problemsOf(verifier.finish())).toEqual([{ stream: A, seq: 11, kind: 'unauthenticated' }, { stream: A, seq: 12, kind: 'checkpoint_invalid' }]);
  });

  it('a head covering more records than the stream has → truncated after its last record', () => {
    const longer = [...stream, after(stream)];
    expect(problemsOf(check([...stream, { head: headOf(longer, 13) }, { head: headOf(stream, 12) }]))).toEqual([{ stream: A, seq: 13, kind: 'truncated' }]);
    expect(problemsOf(check(stream, STRICT, [headOf(longer, 13)]))).toEqual([
      { stream: A, seq: 11, kind: 'unauthenticated' },
      { stream: A, seq: 13, kind: 'truncated' },
    ]);
  });

  it('a validly signed head whose root the records do not reproduce → checkpoint_mismatch, even when a later head covers them', () => {
    const rewritten = signedStream(A, 12, { every: 5, ts: (seq) => rfc3339(T0 + seq * SECOND + (seq === 3 ? 1 : 0)) });
    const report = check([...stream.slice(0, 8), { head: headOf(rewritten, 8) }, ...stream.slice(8), { head: headOf(stream, 12) }]);
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 8, kind: 'checkpoint_mismatch' }]);
  });

  it('a stream that lacks its first records (a --since export): only they are reported, as missing; roots are not checked', () => {
    const since = [...stream.slice(6), after(stream)];
    const report = check([...since, { head: headOf([...stream, after(stream)], 13) }], { ...STRICT });
    expect(problemsOf(report)).toEqual([1, 2, 3, 4, 5, 6].map((seq) => ({ stream: A, seq, kind: 'missing' })));
  });

  it('a head line before any record names the journal, as a record would, when its signature is trusted', () => {
    const verifier = new ChainVerifier({ trusted: TRUSTED, requireCoverage: true, nowMs: NOW });
    verifier.expectHead(A, headOf(stream, 12));
    stream.forEach((r) => verifier.add(r));
    const foreign = buildStream(C, 1, { journal: 'paylog-other' })[0]!;
    verifier.add(foreign);
    const report = verifier.finish();
    expect(problemsOf(report).filter((p) => p.stream === A)).toEqual([]);
    expect(problemsOf(report).filter((p) => p.kind === 'wrong_journal')).toEqual([{ stream: C, seq: 1, kind: 'wrong_journal' }]);
  });

  it('a stopped stream\'s final checkpoint and the head over it: no problem; the checkpoint removed → truncated (said once), and what the head alone covered unauthenticated', () => {
    const stopped = signedStream(A, 8, { every: 5, stop: true });
    expect(check(withHead(stopped)).problems).toEqual([]);
    expect(problemsOf(check([...stopped.slice(0, -1), { head: headOf(stopped, stopped.length) }]))).toEqual([
      { stream: A, seq: 6, kind: 'unauthenticated' },
      { stream: A, seq: stopped.length, kind: 'truncated' },
    ]);
  });
});

describe('ChainVerifier: records after journal.stopped', () => {
  const stopped = signedStream(A, 8, { every: 5, stop: true });

  it('the checkpoint right after journal.stopped is the clean stop\'s; anything else after the stop → appended_after_stop at the first', () => {
    expect(stopped.at(-2)!.type).toBe('journal.stopped');
    const one = [...stopped, after(stopped)];
    const report = check(withHead(one));
    expect(problemsOf(report)).toEqual([{ stream: A, seq: stopped.length + 1, kind: 'appended_after_stop' }]);
    expect(report.problems[0]!.message).toBe(`seq ${stopped.length + 1} follows journal.stopped at seq ${stopped.length - 1}`);
    const two = [...one, after(one, 'journal.checkpoint')];
    expect(check(withHead(two)).problems[0]!.message).toBe(`2 records from seq ${stopped.length + 1} on follow journal.stopped at seq ${stopped.length - 1}`);
  });

  it('a record between journal.stopped and its checkpoint, and a second journal.stopped, are after the stop', () => {
    const cut = stopped.slice(0, -1);
    const wedged = [...cut, after(cut)];
    expect(problemsOf(check(withHead(wedged)))).toEqual([{ stream: A, seq: cut.length + 1, kind: 'appended_after_stop' }]);
    const again = [...stopped, after(stopped, 'journal.stopped')];
    expect(problemsOf(check(withHead(again)))).toEqual([{ stream: A, seq: stopped.length + 1, kind: 'appended_after_stop' }]);
  });

  it('is reported without keys too (it needs no signature)', () => {
    expect(problemsOf(check([...stopped, after(stopped)], { journal: JOURNAL }))).toEqual([{ stream: A, seq: stopped.length + 1, kind: 'appended_after_stop' }]);
  });
});

describe('ChainVerifier: record times', () => {
  const at = (seconds: number) => rfc3339(T0 + seconds * SECOND);

  it('a ts earlier than the previous record\'s → time_invalid at it; equal times are fine (a clock that stepped back)', () => {
    const backwards = signedStream(A, 6, { ts: (seq) => at(seq === 4 ? 2.5 : seq) });
    const report = check(withHead(backwards));
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 4, kind: 'time_invalid' }]);
    expect(report.problems[0]!.message).toBe(`ts ${at(2.5)} is earlier than the previous record's, ${at(3)}`);
    expect(check(withHead(signedStream(A, 6, { ts: (seq) => at(Math.min(seq, 3)) }))).problems).toEqual([]);
  });

  it('times are compared as instants, whatever their offset', () => {
    const offset = signedStream(A, 4, { ts: (seq) => (seq === 3 ? '2026-11-26T17:00:03+01:00' : at(seq)) });
    expect(problemsOf(check(offset, { journal: JOURNAL }))).toEqual([]);
  });

  it('a ts that is not an RFC 3339 time → malformed at that record (the chain is still checked)', () => {
    for (const ts of ['', 'yesterday', '2026-11-26', '2026-02-30T00:00:00.000Z', '2026-11-26T24:00:00.000Z', '2026-11-26T16:00:60Z', '2026-11-26 16:00:00Z', '1795708800000']) {
      const bad = signedStream(A, 3, { ts: (seq) => (seq === 2 ? ts : at(seq)) });
      const report = check(bad, { journal: JOURNAL });
      expect(problemsOf(report), ts).toEqual([{ stream: A, seq: 2, kind: 'malformed' }]);
      expect(report.problems[0]!.message).toBe(`ts ${JSON.stringify(ts)} is not an RFC 3339 time`);
    }
  });

  it('a ts beyond the time of verification by more than the clock skew → time_invalid at the first, with how many', () => {
    const ahead = signedStream(A, 5, { ts: (seq) => (seq >= 4 ? rfc3339(NOW + 6 * MINUTE) : at(seq)) });
    const report = check(ahead, { journal: JOURNAL, nowMs: NOW });
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 4, kind: 'time_invalid' }]);
    expect(report.problems[0]!.message).toBe(`2 records from seq 4 on (ts ${rfc3339(NOW + 6 * MINUTE)}) are dated more than 300 s after the time of verification`);
    expect(check(ahead, { journal: JOURNAL, nowMs: NOW, maxClockSkewMs: 7 * MINUTE }).problems).toEqual([]);
    expect(check(ahead, { journal: JOURNAL }).problems).toEqual([]);
  });

  it('for any times, a record is time_invalid exactly when it is earlier than its predecessor or beyond now + skew (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3600, max: 3600 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 600 }), (offsets, skewS) => {
        const nowMs = T0 + 1800 * SECOND;
        const times = offsets.map((o) => T0 + o * SECOND);
        const records = signedStream(A, times.length, { ts: (seq) => rfc3339(times[seq - 1]!) });
        const report = check(records, { journal: JOURNAL, nowMs, maxClockSkewMs: skewS * SECOND });
        const backwards = times.flatMap((t, i) => (i > 0 && t < times[i - 1]! ? [i + 1] : []));
        const firstAhead = times.findIndex((t) => t > nowMs + skewS * SECOND);
        const expected = [...backwards, ...(firstAhead >= 0 ? [firstAhead + 1] : [])].sort((a, b) => a - b);
        expect(report.problems.filter((p) => p.kind === 'time_invalid').map((p) => p.seq).sort((a, b) => a! - b!)).toEqual(expected);
        expect(report.problems.filter((p) => p.kind !== 'time_invalid')).toEqual([]);
      }),
      { seed: 3339, numRuns: 200 },
    );
  });
});

describe('ChainVerifier: signed times', () => {
  const stream = signedStream(A, 12, { every: 5 });

  it('a signature dated beyond the time of verification → time_invalid at it (it still covers what it signs)', () => {
    const report = check([...stream, { head: headOf(stream, 12, { time: rfc3339(NOW + 10 * MINUTE) }) }]);
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 12, kind: 'time_invalid' }]);
    expect(report.problems[0]!.message).toMatch(/^signed head on line 13 was signed at .*, more than 300 s after the time of verification$/);
  });

  it('a signature dated before the records it covers (beyond the skew) → time_invalid, and it covers nothing', () => {
    const backdated = headOf(stream, 12, { time: rfc3339(T0 + 12 * SECOND - 6 * MINUTE) });
    const report = check([...stream, { head: backdated }]);
    expect(problemsOf(report)).toEqual([
      { stream: A, seq: 11, kind: 'unauthenticated' },
      { stream: A, seq: 12, kind: 'time_invalid' },
    ]);
    expect(report.problems[1]!.message).toMatch(/was signed at .*, before the records it covers \(dated up to /);
    // Within the skew (another host's clock, as for a seal) it is fine.
    expect(check([...stream, { head: headOf(stream, 12, { time: rfc3339(T0 + 12 * SECOND - 4 * MINUTE) }) }]).problems).toEqual([]);
  });

  it('the same for a checkpoint record: its note backdated → time_invalid at it', () => {
    const records = signedStream(A, 7, { every: 5 });
    const cp = records[5]!;
    expect(cp.type).toBe('journal.checkpoint');
    const { size, root } = cp.data as { size: number; root: string };
    const note = signCheckpoint({ origin: checkpointOrigin(JOURNAL, A), size, root, time: rfc3339(T0 + 5 * SECOND - 6 * MINUTE) }, [signer]);
    const relinked: AuditRecord[] = records.slice(0, 5);
    for (const r of [{ ...cp, data: { ...cp.data, note } }, records[6]!]) {
      relinked.push(sealRecord(r, { ...r, prev: relinked[relinked.length - 1]!.hash }));
    }
    const report = check(withHead(relinked));
    expect(problemsOf(report)).toEqual([{ stream: A, seq: 6, kind: 'time_invalid' }]);
    expect(report.problems[0]!.message).toMatch(/^checkpoint was signed at .*, before the records it covers/);
  });

  it('a key with a validity window accepts only notes whose signed time lies in it; a note without a time never', () => {
    const windowed = [trustedKey(signer, T0, T0 + 60 * SECOND)];
    const ok = check(withHead(stream), { ...STRICT, trusted: windowed });
    expect(ok.problems).toEqual([]);
    const untimed = check([...stream, { head: headOf(stream, 12, { time: null }) }], { ...STRICT, trusted: windowed });
    expect(problemsOf(untimed)).toEqual([{ stream: A, seq: 11, kind: 'unauthenticated' }, { stream: A, seq: 12, kind: 'checkpoint_invalid' }]);
    expect(untimed.problems[1]!.message).toMatch(/untimed/);
    const expired = check([...stream, { head: headOf(stream, 12, { time: rfc3339(T0 + 61 * SECOND) }) }], { ...STRICT, trusted: windowed });
    expect(expired.problems.find((p) => p.kind === 'checkpoint_invalid')!.message).toMatch(/expired key/);
  });
});

describe('ChainVerifier: stale open streams, by signed times', () => {
  const stream = signedStream(A, 12, { every: 5 });
  const age = 5 * MINUTE;
  const signedAt = T0 + 12 * SECOND;

  it('the newest signed time decides, not record times', () => {
    const fresh = { ...STRICT, nowMs: signedAt + age - SECOND, maxCheckpointAgeMs: age };
    expect(check(withHead(stream), fresh).problems).toEqual([]);
    const old = { ...STRICT, nowMs: signedAt + age + SECOND, maxCheckpointAgeMs: age };
    const report = check(withHead(stream), old);
    expect(problemsOf(report)).toEqual([{ stream: A, seq: null, kind: 'stale' }]);
    expect(report.problems[0]!.message).toMatch(/^open stream's newest signature was made 301 s ago \(allowed 300 s;/);
    // A fresh record nobody signed does not make the stream fresh.
    const unsigned = after(stream, 'payment.received', rfc3339(signedAt + age));
    expect(problemsOf(check([...withHead(stream), unsigned], { ...old, requireCoverage: false }))).toEqual([{ stream: A, seq: null, kind: 'stale' }]);
  });

  it('with requireCoverage, an open stream without any signed time is stale; without it, the newest checkpoint record\'s ts stands in', () => {
    const untimed = [...stream, { head: headOf(stream, 12, { time: null }) }];
    const options = { ...STRICT, nowMs: signedAt + SECOND, maxCheckpointAgeMs: age };
    expect(problemsOf(check(untimed, { ...options, trusted: TRUSTED }))).toEqual([]);
    const noTimes = signedStream(A, 12).concat();
    const report = check([...noTimes, { head: headOf(noTimes, 12, { time: null }) }], options);
    expect(problemsOf(report)).toEqual([{ stream: A, seq: null, kind: 'stale' }]);
    expect(report.problems[0]!.message).toMatch(/no signature with a signed time/);
    expect(check([...noTimes, { head: headOf(noTimes, 12, { time: null }) }], { ...options, requireCoverage: false }).problems).toEqual([]);
  });

  it('is not judged without a time of verification, nor for a stopped stream', () => {
    expect(check(withHead(stream), { ...STRICT, nowMs: undefined, maxCheckpointAgeMs: age }).problems).toEqual([]);
    const stopped = signedStream(A, 8, { every: 5, stop: true });
    expect(check(withHead(stopped), { ...STRICT, nowMs: T0 + 60 * MINUTE, maxCheckpointAgeMs: age }).problems).toEqual([]);
  });
});

describe('ChainVerifier: signed journals under attack (property)', () => {
  /** A stream split into commits at random, a head after each: as the audit mirror writes it. */
  const journal = fc.record({
    count: fc.integer({ min: 2, max: 40 }),
    every: fc.integer({ min: 3, max: 12 }),
    cuts: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
  }).map(({ count, every, cuts }) => {
    const records = signedStream(A, count, { every });
    const items: Item[] = [];
    records.forEach((r, i) => {
      items.push(r);
      if (cuts[i] || i === records.length - 1) items.push({ head: headOf(records, i + 1) });
    });
    return { records, items };
  });

  it('an untouched journal verifies; unsigned records appended → unauthenticated at the first; its newest records dropped → truncated at the first dropped', () => {
    fc.assert(
      fc.property(journal, fc.integer({ min: 1, max: 5 }), fc.nat(), ({ records, items }, appended, dropSeed) => {
        expect(check(items).problems).toEqual([]);
        const tail: AuditRecord[] = [];
        for (let i = 0; i < appended; i++) tail.push(after([...records, ...tail]));
        expect(problemsOf(check([...items, ...tail]))).toEqual([{ stream: A, seq: records.length + 1, kind: 'unauthenticated' }]);
        // Drop the records from some seq on, keeping every head line: each head beyond is truncated there, and
        // what only they covered is unauthenticated.
        const from = 2 + (dropSeed % (records.length - 1));
        const dropped = items.filter((it) => 'head' in it || it.seq < from);
        const heads = items.filter((it): it is { head: SignedHead } => 'head' in it).map((it) => it.head);
        const signedSizes = [
          ...heads.map((h) => h.size),
          ...records.filter((r) => r.type === 'journal.checkpoint' && r.seq < from).map((r) => (r.data as { size: number }).size),
        ].filter((size) => size < from);
        const covered = Math.max(0, ...signedSizes);
        expect(problemsOf(check(dropped))).toEqual([
          ...(covered < from - 1 ? [{ stream: A, seq: covered + 1, kind: 'unauthenticated' }] : []),
          ...heads.filter((h) => h.size >= from).map(() => ({ stream: A, seq: from, kind: 'truncated' })),
        ]);
      }),
      { seed: 6962, numRuns: 150 },
    );
  });

  it('any one record changed, rehashed and relinked with every later one (no key): never passes', () => {
    fc.assert(
      fc.property(journal, fc.nat(), ({ records, items }, seed) => {
        const at = 1 + (seed % records.length);
        const changed: AuditRecord[] = records.slice(0, at - 1);
        for (const r of records.slice(at - 1)) {
          const body = r.seq === at ? { ...r, data: { ...r.data, amount: 1 } } : r;
          changed.push(sealRecord(body, { ...body, prev: changed[changed.length - 1]?.hash ?? GENESIS_PREV }));
        }
        const heads = items.filter((it): it is { head: SignedHead } => 'head' in it);
        const report = check([...changed, ...heads]);
        expect(report.problems.length).toBeGreaterThan(0);
        expect(report.problems.some((p) => p.kind === 'checkpoint_mismatch' || p.kind === 'unauthenticated')).toBe(true);
      }),
      { seed: 6962, numRuns: 150 },
    );
  });
});

describe('head lines', () => {
  it('are what headLine writes', () => {
    const stream = signedStream(A, 3);
    const head = headOf(stream, 3);
    expect(JSON.parse(headLine(head))).toEqual({ head });
  });
});
