import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Creates `path` with `content` (mode 0600) unless it exists; true if this call created it.
 *
 * The content goes to a temporary file first, which is then hard-linked into place: link
 * fails if the file exists, so of processes racing on a first start exactly one creates it,
 * and a reader sees no file or the whole file — never one created but not yet written, which
 * `writeFileSync(…, { flag: 'wx' })` would show another process starting at the same moment.
 */
export function createOnce(path: string, content: string): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temporary);
  }
}
