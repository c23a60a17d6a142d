import type { Gateway } from '../../src/ports/gateway.js';

/**
 * Holding a call at a chosen point until the test lets it go, so that "while the first request is
 * still running" is a state the test creates, not a moment it hopes to hit with a sleep.
 */

/** Open by default; while closed, pass() holds its callers until open(). */
export class Gate {
  private opened: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  /** Callers held right now. */
  waiting = 0;

  private shut = false;

  get closed(): boolean {
    return this.shut;
  }

  close(): void {
    if (this.shut) return;
    this.shut = true;
    this.opened = new Promise((resolve) => { this.release = resolve; });
  }

  open(): void {
    this.shut = false;
    this.release();
    this.opened = Promise.resolve();
  }

  /** Waits until the gate is open, or until `signal` aborts (then rejects with its reason). */
  async pass(signal?: AbortSignal): Promise<void> {
    this.waiting++;
    try {
      if (signal === undefined) return await this.opened;
      signal.throwIfAborted();
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([this.opened, aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } finally {
      this.waiting--;
    }
  }
}

/**
 * The gateway, every charge first passing `gate`. A request that won its Idempotency-Key is held
 * here, at the first step after the commit that claimed the key (a hold in that commit would
 * stop the journal writer, and with it every other request); give it a gateway attempt timeout
 * longer than the hold.
 */
export function gatedGateway(inner: Gateway, gate: Gate): Gateway {
  return withOverrides(inner, {
    charge: async (request, signal) => {
      await gate.pass(signal);
      return inner.charge(request, signal);
    },
  });
}

/**
 * `target` with some of its members replaced; every other member is the target's own, its
 * methods bound to it (so a class instance's private state keeps working).
 */
export function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof T];
      const value = Reflect.get(t, prop, t) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}

/**
 * The gateway, every lookup held until `lookups` lookups have been asked, so that reconcilers
 * started together overlap for sure; or until `boundMs` passed, since with one reconciler per
 * payment the others may find nothing left to look up. The bound only ends a hold: no test
 * outcome depends on it.
 */
export function overlappingLookups(inner: Gateway, lookups: number, boundMs: number): Gateway {
  let asked = 0;
  let release: () => void = () => undefined;
  const allAsked = new Promise<void>((resolve) => { release = resolve; });
  return withOverrides(inner, {
    lookup: async (gatewayKey, signal) => {
      asked += 1;
      if (asked >= lookups) release();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allAsked, new Promise((resolve) => { timer = setTimeout(resolve, boundMs); })]);
      clearTimeout(timer);
      return inner.lookup(gatewayKey, signal);
    },
  });
}
