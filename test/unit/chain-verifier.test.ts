import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord, GENESIS_PREV, type RecordDraft, type RecordType, recordLine, sealRecord,
} from '../../src/core/audit-record.js';
import { type ChainReport, ChainVerifier, type Location } from '../../src/core/chain-verifier.js';

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
