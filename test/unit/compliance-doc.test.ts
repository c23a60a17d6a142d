import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/compliance.md maps PCI DSS v4.0 requirements to what paylog does and to the tests that
 * show it. Those names are a promise: this fails when a named test file or test no longer
 * exists, and when a requirement the product addresses has no row.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'compliance.md'), 'utf8');

const REQUIRED = [
  '3.3.1', '3.4.1', '3.5.1',
  '10.2.1.1', '10.2.1.2', '10.2.1.3', '10.2.1.4', '10.2.1.5', '10.2.1.6', '10.2.1.7',
  '10.2.2', '10.3.1', '10.3.2', '10.3.3', '10.3.4', '10.4.1', '10.5.1', '10.7.1', '10.7.2', '10.7.3',
];

interface Row {
  requirement: string;
  cells: string[];
}

/** The rows of the requirements table (the section's one table). */
function rows(): Row[] {
  const section = DOC.slice(DOC.indexOf('## PCI DSS v4.0 requirements'));
  return section.split('\n')
    .filter((line) => /^\| \d+\.\d/.test(line))
    .map((line) => {
      const cells = line.slice(1, -1).split(' | ').map((c) => c.trim());
      return { requirement: cells[0]!, cells };
    });
}

/** `file` › title references of a "shown by" cell. */
function references(cell: string): { file: string; title: string }[] {
  return cell.split('<br>').map((part) => {
    const match = /^`([^`]+)` › (.+)$/.exec(part.trim());
    if (!match) throw new Error(`not a \`file\` › title reference: ${part}`);
    return { file: match[1]!, title: match[2]! };
  });
}

/** A test file's source with string escapes undone, so titles can be found as written. */
function source(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8').replace(/\\(['"`\\])/g, '$1');
}

describe('docs/compliance.md: the PCI DSS v4.0 table', () => {
  const table = rows();

  it('has a row for every requirement paylog addresses, each with four cells', () => {
    const covered = table.flatMap((r) => r.requirement.match(/\d+(?:\.\d+)+/g) ?? []);
    for (const requirement of REQUIRED) expect(covered, requirement).toContain(requirement);
    for (const row of table) expect(row.cells, row.requirement).toHaveLength(4);
  });

  it('names, in every row, tests that exist', () => {
    const all = table.flatMap((row) => references(row.cells[3]!).map((ref) => ({ ...ref, requirement: row.requirement })));
    expect(all.length).toBeGreaterThanOrEqual(REQUIRED.length);
    for (const { file, title, requirement } of all) {
      expect(existsSync(join(ROOT, file)), `${requirement}: ${file}`).toBe(true);
      const text = source(file);
      const declared = [`it('${title}'`, `it("${title}"`, `it(\`${title}\``, `describe('${title}'`, `describe("${title}"`];
      expect(declared.some((d) => text.includes(d)), `${requirement}: ${file} has no test named "${title}"`).toBe(true);
    }
  });

  it('reads references the way the check expects: a renamed test is reported', () => {
    const [ref] = references('`test/unit/compliance-doc.test.ts` › no test has this name');
    expect(source(ref!.file).includes(`it('${ref!.title}'`)).toBe(false);
  });
});
