import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/** What `npm pack` puts in the package (its "files"): the CLI, the client with its types, the console, the document. */
it('the package holds the CLI, paylog/client with its declarations, the console and the OpenAPI document, and no tests or Lambda bundle', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = spawnSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(packed.status, packed.stderr).toBe(0);
  const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
  expect(files).toEqual(expect.arrayContaining([
    'bin/paylog.js', 'dist/runtimes/cli/main.js', 'dist/client/index.js', 'dist/client/index.d.ts',
    'web/index.html', 'docs/openapi.json', 'package.json', 'README.md',
  ]));
  expect(files.filter((f) => /^(test|src|soak|bench|infra|scripts)\//.test(f) || f.startsWith('dist/lambda/'))).toEqual([]);
});
