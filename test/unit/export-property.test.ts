import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRecords } from '../../src/app/verify-journal.js';
import type { AuditRecord } from '../../src/core/audit-record.js';
import type { ChainReport } from '../../src/core/chain-verifier.js';
import { checkCheckpoint, checkpointOrigin } from '../../src/core/checkpoint.js';
import { NOTE_BYTES_MAX, NOTE_SIGNATURES_MAX } from '../../src/core/signed-note.js';
import { fileRecords } from '../../src/runtimes/cli/commands/verify.js';
import { type JournalFixture, buildJournal, isHeadLine, signAsWriter, streamOfLine as streamOf } from '../support/journal-fixture.js';

/**
 * Properties over a real export of a stopped two-writer journal, as a writer that signs every
 * commit exports it (timed notes, each stream followed by its signed head), verified with
 * requireCoverage: any one-byte change, any deleted line (a head line included) and any swap
 * that changes a stream's order of records is reported; hostile checkpoint notes never throw
 * and are never accepted unless genuinely signed.
 */

const SEED = 20_261_126;
const RUNS = 200;

describe('export properties (real journal, read as `paylog verify --file` reads it)', () => {
  let f: JournalFixture;
  let exportPath: string;
  let lineBytes: Buffer[];
  let streamOfLine: string[];

  let recordCount: number;
  /** Head lines may sit anywhere after their stream's first records: their place is no order. */
  let isHead: boolean[];

  beforeAll(async () => {
    f = await buildJournal({ writers: 2, paymentsPerWriter: 3 });
    exportPath = join(f.dataDir, 'export.jsonl');
    const lines = signAsWriter(f.records, [f.signer]).exportLines;
    lineBytes = lines.map((l) => Buffer.from(l, 'utf8'));
    streamOfLine = lines.map(streamOf);
    isHead = lines.map(isHeadLine);
    recordCount = lines.length - isHead.filter(Boolean).length;
    expect(isHead.filter(Boolean)).toHaveLength(2);
  });
  afterAll(async () => f.cleanup());

  /** Writes the lines as an export file and verifies it through the CLI's file reader. */
  async function verifyExport(lines: readonly Buffer[]): Promise<ChainReport> {
    writeFileSync(exportPath, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
    return verifyRecords(fileRecords(exportPath), { trusted: f.trusted, requireCoverage: true });
  }

  it('the untouched export verifies (the properties below start from a valid journal)', async () => {
    const report = await verifyExport(lineBytes);
    expect(report.problems).toEqual([]);
    expect(report.streams).toHaveLength(2);
    expect(report.records).toBe(recordCount);
  });

  it('one byte of one line changed → at least one problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), async (lineSeed, offsetSeed, byte) => {
        const index = lineSeed % lineBytes.length;
        const original = lineBytes[index] as Buffer;
        const offset = offsetSeed % original.length;
        const mutated = Buffer.from(original);
        mutated[offset] = byte;
        fc.pre(mutated.toString('utf8') !== original.toString('utf8'));
        const lines = [...lineBytes];
        lines[index] = mutated;
        const report = await verifyExport(lines);
        expect(report.problems.length, `line ${index + 1} byte ${offset} → 0x${byte.toString(16)}`).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('one line deleted → at least one problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), async (seed) => {
        const index = seed % lineBytes.length;
        const report = await verifyExport(lineBytes.filter((_, i) => i !== index));
        expect(report.problems.length, `line ${index + 1} deleted`).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('two lines swapped so that a stream\'s order of records changes → at least one problem', async () => {
    const orderOf = (order: readonly number[]): string =>
      f.streams.map((s) => order.filter((i) => streamOfLine[i] === s && !isHead[i]).join(',')).join('|');
    const identity = lineBytes.map((_, i) => i);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (aSeed, bSeed) => {
        const a = aSeed % lineBytes.length;
        const b = bSeed % lineBytes.length;
        const order = [...identity];
        [order[a], order[b]] = [order[b] as number, order[a] as number];
        // Lines of different streams may interleave freely: such a swap keeps every stream's order.
        fc.pre(a !== b && orderOf(order) !== orderOf(identity));
        const report = await verifyExport(order.map((i) => lineBytes[i] as Buffer));
        expect(report.problems.length, `lines ${a + 1} and ${b + 1} swapped`).toBeGreaterThan(0);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  describe('hostile checkpoint notes given to checkCheckpoint', () => {
    let notes: { note: string; origin: string }[];
    let genuine: Set<string>;

    beforeAll(() => {
      notes = f.records.filter((r) => r.type === 'journal.checkpoint').map((r: AuditRecord) => ({
        note: (r.data as { note: string }).note,
        origin: checkpointOrigin(r.journal, r.stream),
      }));
      genuine = new Set(notes.map((n) => n.note));
      expect(notes.length).toBeGreaterThanOrEqual(4);
    });

    /** Never throws; accepts only a note byte-identical to one the journal's writer signed. */
    function check(note: string, origin: string | null): void {
      const result = checkCheckpoint(note, f.trusted, origin);
      if (result.ok) {
        expect(genuine.has(note), `accepted a note that was never signed: ${JSON.stringify(note.slice(0, 300))}`).toBe(true);
        expect(result.signedBy).toHaveLength(1);
      } else {
        expect(typeof result.message).toBe('string');
      }
    }

    it('the genuine notes are accepted (so the properties below can tell)', () => {
      for (const { note, origin } of notes) {
        expect(checkCheckpoint(note, f.trusted, origin).ok).toBe(true);
        expect(checkCheckpoint(note, f.trusted, null).ok).toBe(true);
      }
    });

    it('arbitrary strings (UTF-16 units, code points, graphemes) never throw and are never accepted', () => {
      const anyString = fc.oneof(
        fc.string({ maxLength: 400 }),
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
      );
      fc.assert(
        fc.property(anyString, fc.nat(), fc.boolean(), (note, which, withOrigin) => {
          const real = notes[which % notes.length] as (typeof notes)[number];
          check(note, withOrigin ? real.origin : null);
          // The same junk in the place of the body, under a genuine signature block.
          const block = real.note.slice(real.note.lastIndexOf('\n\n'));
          check(`${note}${block}`, withOrigin ? real.origin : null);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('mutations of genuine notes never throw and are accepted only when they change nothing', () => {
      type Edit =
        | { op: 'replace'; at: number; text: string }
        | { op: 'insert'; at: number; text: string }
        | { op: 'delete'; at: number; length: number }
        | { op: 'swapLines'; a: number; b: number }
        | { op: 'truncate'; at: number };
      const edit: fc.Arbitrary<Edit> = fc.oneof(
        fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
        fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.constantFrom('\n', '\n\n', ' ', '\u2014 ', '=', '+', '0', '\r', '\u0000')) }),
        fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
        fc.record({ op: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
      );
      const apply = (note: string, e: Edit): string => {
        const at = (n: number) => n % (note.length + 1);
        switch (e.op) {
          case 'replace': {
            const i = e.at % note.length;
            return note.slice(0, i) + e.text + note.slice(i + 1);
          }
          case 'insert':
            return note.slice(0, at(e.at)) + e.text + note.slice(at(e.at));
          case 'delete':
            return note.slice(0, at(e.at)) + note.slice(at(e.at) + e.length);
          case 'swapLines': {
            const lines = note.split('\n');
            const a = e.a % lines.length;
            const b = e.b % lines.length;
            [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
            return lines.join('\n');
          }
          case 'truncate':
            return note.slice(0, at(e.at));
        }
      };
      fc.assert(
        fc.property(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 4 }), fc.boolean(), (which, edits, withOrigin) => {
          const real = notes[which % notes.length] as (typeof notes)[number];
          const mutated = edits.reduce(apply, real.note);
          check(mutated, withOrigin ? real.origin : null);
          // The genuine origin must not be accepted for a note of another stream.
          const other = notes.find((n) => n.origin !== real.origin) as (typeof notes)[number];
          expect(checkCheckpoint(mutated, f.trusted, other.origin).ok).toBe(false);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('well-shaped forgeries (any size, any root, any signature bytes, the real key name and ID) are never accepted', () => {
      const sizeText = fc.oneof(
        fc.nat().map(String),
        fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String),
        fc.constantFrom('9007199254740991', '9007199254740992', '99999999999999999999', '-1', '007', '1e3', '0x10', ' 5', '5 ', '', '+5', '5.0', 'NaN', 'Infinity'),
      );
      const rootText = fc.oneof(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64')),
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        fc.string({ unit: 'binary', maxLength: 60 }),
      );
      fc.assert(
        fc.property(
          fc.nat(), sizeText, rootText, fc.boolean(),
          fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: 100 })),
          fc.integer({ min: 1, max: 3 }),
          (which, size, root, realRoot, sigBytes, signatureLines) => {
            const real = notes[which % notes.length] as (typeof notes)[number];
            const [origin = '', realSize = '', realRootText = ''] = real.note.split('\n');
            const sigLine = real.note.slice(real.note.lastIndexOf('\n\n') + 2, -1);
            const name = sigLine.slice(2, sigLine.lastIndexOf(' '));
            const keyId = Buffer.from(sigLine.slice(sigLine.lastIndexOf(' ') + 1), 'base64').subarray(0, 4);
            const forged = `\u2014 ${name} ${Buffer.concat([keyId, Buffer.from(sigBytes)]).toString('base64')}\n`;
            const body = `${origin}\n${size}\n${realRoot ? realRootText : root}\n`;
            // With a genuine body the forged signature alone must fail; with any other body even the genuine signature must.
            check(`${body}\n${forged.repeat(signatureLines)}`, real.origin);
            if (size !== realSize || !realRoot) check(`${body}\n${sigLine}\n`, real.origin);
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('huge notes: past the size cap, too many signatures, huge origins and sizes — refused, never thrown', () => {
      const real = notes[0] as (typeof notes)[number];
      const [origin = '', size = '', root = ''] = real.note.split('\n');
      const block = real.note.slice(real.note.lastIndexOf('\n\n') + 2);
      const huge = [
        `${'x'.repeat(NOTE_BYTES_MAX)}\n\n${block}`,
        `${origin}\n${size}\n${root}\n${'extension line\n'.repeat(5000)}\n${block}`,
        `${origin}\n${size}\n${root}\n\n${block.repeat(NOTE_SIGNATURES_MAX + 1)}`,
        `${origin}\n${size}\n${root}\n\n${'\u2014 a AAAAAAA=\n'.repeat(NOTE_SIGNATURES_MAX)}`,
        `${'o'.repeat(300)}\n${size}\n${root}\n\n${block}`,
        `${origin}\n${'9'.repeat(10_000)}\n${root}\n\n${block}`,
        `${origin}\n${size}\n${'A'.repeat(40_000)}=\n\n${block}`,
        '\n'.repeat(NOTE_BYTES_MAX + 1),
        '\u2014 '.repeat(30_000),
        `${real.note}${'\n'.repeat(10)}`,
      ];
      for (const note of huge) {
        expect(() => checkCheckpoint(note, f.trusted, real.origin)).not.toThrow();
        expect(checkCheckpoint(note, f.trusted, real.origin).ok).toBe(false);
        expect(checkCheckpoint(note, f.trusted, null).ok).toBe(false);
      }
      fc.assert(
        fc.property(fc.integer({ min: NOTE_BYTES_MAX - 200, max: NOTE_BYTES_MAX + 200 }), fc.constantFrom('a', '\u00e9', '\u{1F600}'), (length, unit) => {
          const padded = `${origin}\n${size}\n${root}\n${unit.repeat(Math.ceil(length / Buffer.byteLength(unit)))}\n\n${block}`;
          check(padded, real.origin);
        }),
        { seed: SEED, numRuns: 50 },
      );
    });
  });
});

describe('fileRecords splits lines exactly as readline does, whatever the read size', () => {
  it('gives the same line numbers and values for any mix of LF, CRLF and CR, blank lines and a missing final break', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'paylog-lines-'));
    const path = join(dir, 'lines.jsonl');
    const line = fc.oneof(
      fc.constant(''), fc.constant('   '), fc.constant('not json'),
      fc.record({ seq: fc.nat(), stream: fc.string({ maxLength: 4 }), note: fc.string({ unit: 'grapheme', maxLength: 6 }) }).map((o) => JSON.stringify(o)),
      fc.record({ seq: fc.nat() }).map((o) => `2026-11-27T00:00:00Z ${JSON.stringify(o)}`),
    );
    const content = fc.tuple(fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 12 }), line)
      .map(([pairs, last]) => pairs.map(([l, br]) => l + br).join('') + last);
    try {
      await fc.assert(fc.asyncProperty(content, fc.integer({ min: 1, max: 9 }), async (text, chunkBytes) => {
        writeFileSync(path, text);
        const got: { line: number; value: unknown }[] = [];
        for await (const batch of fileRecords(path, { skipped: 0 }, chunkBytes)) for (const r of batch) got.push({ line: r.at.line as number, value: r.value });
        // readline's line breaks: /\r\n|\n|\r/, and no empty line after a final break.
        const lines = text.split(/\r\n|\n|\r/);
        if (lines[lines.length - 1] === '') lines.pop();
        const expected = lines.flatMap((l, i) => {
          const brace = l.indexOf('{');
          const body = brace > 0 && /^\S+ $/.test(l.slice(0, brace)) ? l.slice(brace) : l;
          if (body.trim() === '') return [];
          let value: unknown = null;
          try { value = JSON.parse(body); } catch { value = null; }
          return [{ line: i + 1, value }];
        });
        expect(got).toEqual(expected);
      }), { seed: SEED, numRuns: 300 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
