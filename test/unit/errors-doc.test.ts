import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TEST_CARDS } from '../../src/adapters/gateway/simulated/test-cards.js';
import { ERROR_CODES, ERROR_TYPES } from '../../src/core/errors.js';

const DOC_PATH = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const doc = readFileSync(DOC_PATH, 'utf8');

/** The lines of the section under `## title`, up to the next `## ` heading. */
function section(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${title}`);
  if (start < 0) throw new Error(`docs/errors.md has no "## ${title}" section`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  return end < 0 ? rest : rest.slice(0, end);
}

/** Rows of the first markdown table in `lines`, as header-keyed cells with backticks removed. */
function table(lines: string[]): Record<string, string>[] {
  const start = lines.findIndex((line) => line.trim().startsWith('|'));
  if (start < 0) throw new Error('no table found');
  const rows: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.trim().startsWith('|')) break;
    rows.push(line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim()));
  }
  const [header, separator, ...body] = rows;
  if (!header || !separator || !separator.every((cell) => /^:?-+:?$/.test(cell))) throw new Error('malformed table header');
  return body.map((cells, i) => {
    if (cells.length !== header.length) throw new Error(`table row ${i + 1} has ${cells.length} cells, expected ${header.length}`);
    return Object.fromEntries(header.map((name, j) => [name, (cells[j] ?? '').replace(/`/g, '')]));
  });
}

describe('docs/errors.md', () => {
  const rows = table(section(doc, 'Error codes'));

  it('has the columns code | type | HTTP status | meaning | what to do', () => {
    expect(Object.keys(rows[0] ?? {})).toEqual(['code', 'type', 'HTTP status', 'meaning', 'what to do']);
  });

  it('lists exactly the codes of ERROR_CODES, in the same order', () => {
    expect(rows.map((row) => row.code)).toEqual(Object.keys(ERROR_CODES));
  });

  it('gives every code the same type and HTTP status as ERROR_CODES', () => {
    const documented = Object.fromEntries(rows.map((row) => [row.code, { type: row.type, status: row['HTTP status'] }]));
    const defined = Object.fromEntries(
      Object.entries(ERROR_CODES).map(([code, spec]) => [code, { type: spec.type, status: String(spec.status) }]),
    );
    expect(documented).toEqual(defined);
  });

  it('fills in meaning and what to do for every code', () => {
    for (const row of rows) {
      expect(row.meaning, `meaning of ${row.code}`).not.toBe('');
      expect(row['what to do'], `what to do of ${row.code}`).not.toBe('');
    }
  });

  it('names every error type in its introduction', () => {
    const intro = section(doc, 'The error body').join('\n');
    for (const type of ERROR_TYPES) expect(intro).toContain(`\`${type}\``);
  });

  it('lists the simulated gateway’s decline codes with the code each comes with', () => {
    const declines = table(section(doc, 'Decline codes'));
    const documented = declines.map((row) => ({ declineCode: row.declineCode, code: row['comes with code'] }));
    const fromGateway = [...TEST_CARDS.values()].flatMap((behaviour) =>
      behaviour.kind === 'decline' ? [{ declineCode: behaviour.declineCode, code: behaviour.code }] : [],
    );
    // A Luhn failure is refused before the gateway: code and declineCode are both incorrect_number.
    const expected = [...fromGateway, { declineCode: 'incorrect_number', code: 'incorrect_number' }];
    const byDecline = (a: { declineCode?: string }, b: { declineCode?: string }) => String(a.declineCode).localeCompare(String(b.declineCode));
    expect([...documented].sort(byDecline)).toEqual([...expected].sort(byDecline));
    for (const row of declines) expect(Object.keys(ERROR_CODES)).toContain(row['comes with code']);
  });
});
