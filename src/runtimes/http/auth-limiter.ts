import { isIP } from 'node:net';

/** Failed authentications are counted per calendar minute (UTC). */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Client addresses one window tracks: a few MB at most. Further addresses are not limited (see docs/api.md). */
export const AUTH_FAILURE_ADDRESSES_MAX = 10_000;

/**
 * What failures are counted under: an IPv4 address as it is (also when IPv4-mapped), an IPv6
 * address by its /64 prefix, since one host commonly holds a whole /64 and could otherwise
 * change address with every request.
 */
export function clientAddress(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, lowercase without leading zeros. */
function expandIpv6(ip: string): string[] {
  const bare = ip.split('%')[0] ?? ip;
  const [head = '', tail] = bare.split('::') as [string, string | undefined];
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4 forms other than the mapped one) is two groups; only the first four matter here.
  const fill = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((group) => (group.includes('.') ? group : (Number.parseInt(group, 16) || 0).toString(16)));
}

/**
 * Failed authentications per client address in fixed windows. Once an address has failed
 * `perWindow` times in a window, it is refused until the window ends, before its key is
 * looked up (a valid key from it too); other addresses are not affected. Bounded: a window
 * tracks at most `addressesMax` addresses and forgets all of them when it ends.
 */
export class AuthFailureLimiter {
  private window = Number.NEGATIVE_INFINITY;
  private failures = new Map<string, number>();

  /** `perWindow` 0 turns the limit off. */
  constructor(
    private readonly perWindow: number,
    private readonly windowMs = AUTH_FAILURE_WINDOW_MS,
    private readonly addressesMax = AUTH_FAILURE_ADDRESSES_MAX,
  ) {
    if (!Number.isSafeInteger(perWindow) || perWindow < 0) throw new RangeError(`perWindow must be a whole number >= 0, got ${perWindow}`);
  }

  /** Seconds until the address may try again (what Retry-After says), or 0 when it may try now. */
  retryAfterS(address: string, nowMs: number): number {
    if (this.perWindow === 0) return 0;
    this.rollTo(nowMs);
    if ((this.failures.get(address) ?? 0) < this.perWindow) return 0;
    return Math.max(1, Math.ceil(((this.window + 1) * this.windowMs - nowMs) / 1000));
  }

  /** Counts one failed authentication from the address. */
  fail(address: string, nowMs: number): void {
    if (this.perWindow === 0) return;
    this.rollTo(nowMs);
    const failures = this.failures.get(address);
    if (failures === undefined && this.failures.size >= this.addressesMax) return;
    this.failures.set(address, (failures ?? 0) + 1);
  }

  /** A clock that stepped back stays in the current window. */
  private rollTo(nowMs: number): void {
    const window = Math.floor(nowMs / this.windowMs);
    if (window <= this.window) return;
    this.window = window;
    this.failures = new Map();
  }
}
