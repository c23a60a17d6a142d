// Regenerates the console screenshots the README shows (docs/img/console-*.png): builds, then
// runs the console's browser test with PAYLOG_SCREENSHOTS_DIR pointing there. Needs Chromium
// (Debian's `chromium` package; PAYLOG_CHROMIUM names another executable).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const dir = resolve('docs/img');
mkdirSync(dir, { recursive: true });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args, env = {}) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run(npm, ['run', 'build']);
run(npm, ['exec', '--', 'vitest', 'run', 'test/e2e/console.test.ts'], { PAYLOG_SCREENSHOTS_DIR: dir });
console.log(`screenshots written to ${dir}`);
