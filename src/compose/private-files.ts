import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../config/settings.js';

/** Permission bits of group and others: none may be set on paylog's directories and key files. */
const GROUP_OR_OTHERS = 0o077;

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * Makes sure `dir` exists and only its owner may enter it. A missing directory is created
 * 0700 (parents too); an existing one that group or others may read, write or enter stops the
 * process with the chmod to run — as PostgreSQL refuses a data directory others can read. paylog
 * never loosens or silently tightens a directory the operator made: it may be a mount point, or
 * managed by a tool that would change it back.
 */
export function privateDirectory(dir: string, setting: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode;
  if ((mode & GROUP_OR_OTHERS) !== 0) {
    throw new ConfigError(`${setting}: the directory ${dir} has mode ${octal(mode)}, open to group or others; it holds the database and keys: run chmod 700 ${dir}`);
  }
}

/**
 * Reads a secret (a key) from a file that only its owner may read; one readable or writable by
 * group or others stops the process, as ssh refuses an unprotected private key: the key may have
 * been read already, so the fix is to protect the file and, if others had access, rotate the key.
 */
export function readPrivateFile(path: string, setting: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new ConfigError(`${setting}: cannot read ${path}`);
  }
  try {
    // fstat on the open file: the mode checked is that of the bytes read, even if the path is swapped meanwhile.
    const mode = fstatSync(fd).mode;
    if ((mode & GROUP_OR_OTHERS) !== 0) {
      throw new ConfigError(`${setting}: UNPROTECTED PRIVATE KEY FILE ${path} has mode ${octal(mode)}, readable by group or others; run chmod 600 ${path} (and rotate the key if anyone else could read it)`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
