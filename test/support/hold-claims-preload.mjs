// Holds a request that has won its Idempotency-Key, in a child `paylog serve`, while a control
// file exists, so that every other request for the key arrives while it runs: the child-process
// counterpart of gatedGateway (gate.ts). It is held at its gateway call, the first step after the
// key is won either way: by claim(), or by the commit of `payment.received` that claims the key
// (IdempotencyUpdate.claim), which a hold must not block (the writer commits other requests'
// units too). Give it a gateway attempt timeout longer than the hold. Loaded before paylog's
// command line runs:
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
    gateway: (gateway) => {
      const charge = gateway.charge.bind(gateway);
      return new Proxy(gateway, {
        get: (target, prop) => (prop === 'charge'
          ? async (request, signal) => {
            if (existsSync(file)) {
              writeSync(2, `${HELD_LINE}\n`);
              while (existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 10));
            }
            return charge(request, signal);
          }
          : bound(target, prop)),
      });
    },
  });
}
