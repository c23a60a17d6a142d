import { userInfo } from 'node:os';

/** Who ran a command, as the operating system knows them (a record's actor is the process): for PCI DSS 10.2.2's user identification. */
export function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}
