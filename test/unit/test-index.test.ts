import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * test/README.md says where each part of src/ is tested. Every source file must be in a row of
 * its index (itself, or a folder above it), or be imported by some file under test/ (a test
 * that imports a module says by that where it is tested). Every path the index names exists.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The source files in git (what a commit holds: a file being written is checked once committed); every file outside a checkout. */
function sourceFiles(): string[] {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => f !== '');
  } catch {
    files = walk('src');
  }
  return files.filter((f) => /\.(ts|mts)$/.test(f) && !f.endsWith('.d.ts') && existsSync(join(ROOT, f)));
}

/** The index's rows: the src paths of the first cell, the test paths of the second. */
function indexRows(): { src: string[]; tests: string[] }[] {
  const text = readFileSync(join(ROOT, 'test', 'README.md'), 'utf8');
  const index = text.slice(text.indexOf('## Index'));
  return index.split('\n').filter((line) => line.startsWith('| `src/')).map((line) => {
    const [, srcCell = '', testCell = ''] = line.split('|');
    const paths = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    return { src: paths(srcCell), tests: paths(testCell) };
  });
}

/** src files some file under test/ imports (statically or with import()), as paths from the root. */
function importedByTests(): Set<string> {
  const imported = new Set<string>();
  for (const file of walk('test').filter((f) => /\.(ts|mts|js|mjs)$/.test(f))) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)) {
      const target = normalize(join(dirname(file), match[1] as string)).replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
      if (target.startsWith(`src${'/'}`)) imported.add(target);
    }
  }
  return imported;
}

describe('test/README.md: the index of where src/ is tested', () => {
  const rows = indexRows();

  it('has rows, each naming src paths and tests', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row.src.length, JSON.stringify(row)).toBeGreaterThan(0);
      expect(row.tests.length, JSON.stringify(row)).toBeGreaterThan(0);
    }
  });

  it('names only paths that exist', () => {
    const missing = rows.flatMap((row) => [...row.src, ...row.tests]).filter((path) => !existsSync(join(ROOT, path)));
    expect(missing).toEqual([]);
    for (const path of rows.flatMap((row) => row.tests)) expect(path, 'a test path').toMatch(/^test\/(unit|contract|api|e2e)\//);
  });

  it('covers every source file, or a test imports it', () => {
    const covered = rows.flatMap((row) => row.src);
    const imported = importedByTests();
    const untested = sourceFiles().filter((file) => !imported.has(file) && !covered.some((path) => file === path || (path.endsWith('/') && file.startsWith(path))));
    expect(untested, 'add each to a row of the index in test/README.md, with its tests (or write one that imports it)').toEqual([]);
  });

});
