import type { Gateway } from '../ports/gateway.js';
import type { Store } from '../ports/store.js';

/**
 * The one seam through which a test wraps the adapters a process builds, to fail a call or
 * kill the process at a chosen step of a payment (docs/testing.md, "Crash at every step").
 * Nothing in paylog installs wrappers: only a test's preload module (`node --import …`) does,
 * before the command line runs. With none installed, each function returns its argument.
 */
export interface AdapterWrappers {
  store?: (store: Store) => Store;
  gateway?: (gateway: Gateway) => Gateway;
}

let installed: AdapterWrappers = {};

export function installAdapterWrappers(wrappers: AdapterWrappers): void {
  installed = wrappers;
}

export function wrapStore(store: Store): Store {
  return installed.store ? installed.store(store) : store;
}

export function wrapGateway(gateway: Gateway): Gateway {
  return installed.gateway ? installed.gateway(gateway) : gateway;
}
