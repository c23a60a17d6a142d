import type { Metrics } from '../ports/metrics.js';
import { type Store, StoreUnavailableError } from '../ports/store.js';

const STORE_PARTS = ['journal', 'journalTree', 'payments', 'idempotency', 'keys', 'gatewayLedger'] as const;

/**
 * The store, with every call that fails as unavailable counted in `paylog_store_errors_total`
 * under `<part>.<method>` (e.g. `journal.commit`, `idempotency.claim`): a name from the store
 * ports, so a bounded set. The calls themselves are passed through unchanged.
 */
export function countStoreErrors(store: Store, metrics: Metrics): Store {
  const wrapped: Record<string, unknown> = {};
  for (const part of STORE_PARTS) wrapped[part] = countErrorsOf(store[part] as unknown as object, part, metrics);
  return {
    kind: store.kind,
    ...(wrapped as unknown as Pick<Store, (typeof STORE_PARTS)[number]>),
    ping: () => store.ping().catch((err: unknown) => fail(err, 'ping', metrics)),
    close: () => store.close(),
  };
}

function countErrorsOf(target: object, part: string, metrics: Metrics): object {
  const out: Record<string, unknown> = {};
  for (const name of methodNames(target)) {
    const method = (target as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
    const operation = `${part}.${name}`;
    out[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = method.apply(target, args);
      } catch (err) {
        return fail(err, operation, metrics);
      }
      return result instanceof Promise ? result.catch((err: unknown) => fail(err, operation, metrics)) : result;
    };
  }
  return out;
}

/** Own and inherited methods (adapters are classes or object literals). */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}

function fail(err: unknown, operation: string, metrics: Metrics): never {
  if (err instanceof StoreUnavailableError) metrics.storeError(operation);
  throw err;
}
