// Fault injection for the crash tests, loaded before paylog's command line runs:
//
//   FAULT_AT=outcome:kill node --import ./test/support/faults/preload.mjs bin/paylog.js serve
//
// It installs wrappers through paylog's one seam (dist/compose/adapter-wrappers.js, imported
// by the same URL as the app imports it, so both share the module), around the store and the
// simulated gateway every process builds, and patches http.ServerResponse for the response
// step. At the nth occurrence (default 1) of the step named in FAULT_AT (steps.mjs) it:
//   kill  lets the call complete (a durable write lands) and then SIGKILLs the process, before
//         the caller learns of it: the dangerous case, where the store holds what nobody saw;
//   fail  makes that one call fail as a real failure would, nothing written: a store call
//         throws StoreUnavailableError (what an adapter makes of a driver's error); a charge
//         reaches the gateway but its answer is lost (the attempt ends in its timeout); a
//         lookup is answered and then the connection resets; a response's socket is destroyed.
// Every fault writes one line (faultLine) to stderr as it fires. With FAULT_CONTROL_FILE the
// fault is read from that file instead, at every occurrence of any step, and occurrences are
// counted afresh whenever its content changes (empty: no fault): one long-running server then
// meets one fault after another, as the crash tests arm them. FAULT_CLOCK_OFFSET_MS, if set,
// runs the process's Date.now() that far ahead.
import { readFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import { installAdapterWrappers } from '../../../dist/compose/adapter-wrappers.js';
import { StoreUnavailableError } from '../../../dist/ports/store.js';
import { CLOCK_OFFSET_ENV, CONTROL_FILE_ENV, FAULT_ENV, faultLine, parseFault } from './steps.mjs';

const offsetMs = Number(process.env[CLOCK_OFFSET_ENV] ?? '0');
if (!Number.isInteger(offsetMs)) throw new Error(`${CLOCK_OFFSET_ENV} must be an integer number of milliseconds`);
if (offsetMs !== 0) {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
}

const controlFile = process.env[CONTROL_FILE_ENV] || null;
let spec = controlFile ? '' : (process.env[FAULT_ENV] ?? '');
let fault = spec ? parseFault(spec) : null;
const seen = new Map();

/** Counts an occurrence of `step`; the fault when this is the occurrence it is set for, else null. */
function fires(step) {
  if (controlFile) {
    const armed = readFileSync(controlFile, 'utf8').trim();
    if (armed !== spec) {
      spec = armed;
      fault = armed ? parseFault(armed) : null;
      seen.clear();
    }
  }
  const count = (seen.get(step) ?? 0) + 1;
  seen.set(step, count);
  return fault !== null && fault.step === step && fault.nth === count ? fault : null;
}

function report(hit) {
  writeSync(2, `${faultLine(hit)}\n`);
}

function die(hit) {
  report(hit);
  process.kill(process.pid, 'SIGKILL');
}

/** Runs `call` as the step says: kill after it completes, fail before it starts. */
async function at(steps, call) {
  const hit = steps.map(fires).find(Boolean) ?? null;
  if (hit?.mode === 'fail') {
    report(hit);
    throw new StoreUnavailableError(`injected fault: ${hit.step} failed`);
  }
  const result = await call();
  if (hit) die(hit);
  return result;
}

/** A view of `target` whose `methods` replace its own; everything else is the target's, bound to it. */
function override(target, methods) {
  return new Proxy(target, {
    get(t, property) {
      if (Object.hasOwn(methods, property)) return methods[property];
      const value = Reflect.get(t, property, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

const OUTCOMES = new Set(['payment.succeeded', 'payment.declined', 'payment.failed']);

/** The steps a journal commit (a batch of units) reaches, in step order. */
function commitSteps(units) {
  const types = new Set(units.flatMap((u) => u.records.map((r) => r.type)));
  const steps = [];
  if (units.some((u) => u.idempotency?.claim)) steps.push('claim');
  if (types.has('payment.received')) steps.push('received');
  if ([...types].some((t) => OUTCOMES.has(t))) steps.push('outcome');
  if (units.some((u) => u.checkpoint && !u.seal)) steps.push('checkpoint');
  if (types.has('payment.reconciled')) steps.push('reconciled');
  if (units.some((u) => u.seal)) steps.push('seal');
  return steps;
}

function wrapStore(store) {
  const { idempotency, journal, journalTree, gatewayLedger } = store;
  const parts = {
    idempotency: override(idempotency, {
      claim: (claim) => at([claim.key.startsWith('reconcile:') ? 'reconcile-claim' : 'claim'], () => idempotency.claim(claim)),
    }),
    journal: override(journal, {
      commit: (units) => at(commitSteps(units), () => journal.commit(units)),
    }),
    journalTree: override(journalTree, {
      append: (...args) => at(['tree'], () => journalTree.append(...args)),
    }),
    gatewayLedger: override(gatewayLedger, {
      recordCall: (call) => at(['ledger'], () => gatewayLedger.recordCall(call)),
    }),
  };
  return override(store, parts);
}

/** Resolves never; rejects with the signal's reason once it aborts (the caller's attempt timeout). */
function untilAborted(signal) {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function wrapGateway(gateway) {
  return override(gateway, {
    async charge(request, signal) {
      const hit = fires('attempt');
      const settled = gateway.charge(request, signal).then((reply) => ({ reply }), (error) => ({ error }));
      if (hit?.mode === 'fail') {
        report(hit);
        await settled; // the gateway handled the call…
        return untilAborted(signal); // …and its answer never arrives
      }
      const { reply, error } = await settled;
      if (hit) die(hit);
      if (error !== undefined) throw error;
      return reply;
    },
    async lookup(gatewayKey, signal) {
      const hit = fires('lookup');
      const reply = await gateway.lookup(gatewayKey, signal);
      if (hit?.mode === 'fail') {
        report(hit);
        throw Object.assign(new Error('injected fault: lookup connection reset'), { code: 'ECONNRESET' });
      }
      if (hit) die(hit);
      return reply;
    },
  });
}

const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function writeHeadAtFault(...args) {
  const req = this.req;
  const hit = req?.method === 'POST' && req.url?.split('?')[0] === '/v1/payments' ? fires('response') : null;
  if (hit) {
    if (hit.mode === 'kill') die(hit);
    report(hit);
    this.socket?.destroy();
  }
  return writeHead.apply(this, args);
};

installAdapterWrappers({ store: wrapStore, gateway: wrapGateway });
