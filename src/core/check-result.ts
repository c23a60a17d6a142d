/**
 * One row of `paylog doctor`: a store checks what it needs (a file's rights, a schema
 * version, a DynamoDB table's keys…) and says, in one line, what it found and, when that is
 * wrong, what was expected and the command that fixes it.
 */
export interface CheckResult {
  /** What was checked: "file", "schema version", "table paylog-journal"… */
  name: string;
  /** `skip` when an earlier failure left nothing to check (no file, no connection). */
  status: 'ok' | 'fail' | 'skip';
  /** One line; never a driver's message, a password or a stack. */
  detail: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const fail = (name: string, detail: string): CheckResult => ({ name, status: 'fail', detail });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

/**
 * A word a POSIX shell passes through unchanged, for the fix commands details end with:
 * quoted when it holds anything else (an `&` would end the command, a space split it).
 */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_.:/=?,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
