// Holds a request that has just won its Idempotency-Key's claim, in a child `paylog serve`, while
// a control file exists, so that every other request for the key arrives while it runs: the
// child-process counterpart of gatedClaims (gate.ts). Loaded before paylog's command line runs:
//
//   NODE_OPTIONS="--import <this file's URL>" PAYLOG_TEST_HOLD_CLAIMS_FILE=<path> paylog serve
//
// (test/support/hold-claims.ts gives those settings.) It writes one line to stderr for every
// request it holds, so the test can count them, and lets them go once the file is gone.
// Nothing in paylog loads it.
import { existsSync, writeSync } from 'node:fs';
import { installAdapterWrappers } from '../../dist/compose/adapter-wrappers.js';

// The same two strings as in hold-claims.ts.
const HOLD_FILE_ENV = 'PAYLOG_TEST_HOLD_CLAIMS_FILE';
const HELD_LINE = 'paylog-test: claim held';

/** A member of `target`, its methods bound to it. */
function bound(target, prop) {
  const value = Reflect.get(target, prop, target);
  return typeof value === 'function' ? value.bind(target) : value;
}

const file = process.env[HOLD_FILE_ENV];
if (file) {
  installAdapterWrappers({
    store: (store) => {
      const claim = store.idempotency.claim.bind(store.idempotency);
      const idempotency = new Proxy(store.idempotency, {
        get: (target, prop) => (prop === 'claim'
          ? async (c) => {
            const result = await claim(c);
            if (result.kind === 'claimed' && existsSync(file)) {
              writeSync(2, `${HELD_LINE}\n`);
              while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 10));
            }
            return result;
          }
          : bound(target, prop)),
      });
      return new Proxy(store, { get: (target, prop) => (prop === 'idempotency' ? idempotency : bound(target, prop)) });
    },
  });
}
