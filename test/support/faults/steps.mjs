// The numbered steps at which the fault preload (preload.mjs) kills the process or fails the
// call. Plain JavaScript: the preload runs inside `node bin/paylog.js`, without a TypeScript
// loader, and the crash tests iterate over the same table (docs/testing.md, "Crash at every step").

/**
 * `phase` says which scenario reaches the step: a payment (POST /v1/payments), a reconcile
 * (`paylog reconcile`), or a starting writer sealing a crashed writer's stream. `point` says
 * where the preload acts: `kill` always lets a durable write land first, so the caller never
 * learns of a write that is there. `nths`: the occurrences the tests try (default [1]); a
 * payment's second gateway attempt is occurrence 2 (the tests pay with a fail-once card first).
 */
export const STEPS = [
  { n: 1, name: 'claim', phase: 'payment', point: "the client's Idempotency-Key claim: the journal commit holding payment.received, which claims a new key, or IdempotencyStore.claim for a key that commit found held" },
  { n: 2, name: 'received', phase: 'payment', point: 'the journal commit holding payment.received' },
  { n: 3, name: 'attempt', phase: 'payment', point: 'a gateway attempt (Gateway.charge): the gateway has handled it, paylog has not seen the answer', nths: [1, 2] },
  { n: 4, name: 'ledger', phase: 'payment', point: "the simulated gateway's ledger entry (GatewayLedger.recordCall): the charge is recorded, not answered", nths: [1, 2] },
  { n: 5, name: 'outcome', phase: 'payment', point: 'the journal commit holding payment.succeeded, payment.declined or payment.failed' },
  { n: 6, name: 'response', phase: 'payment', point: 'the HTTP response to POST /v1/payments, as it is written' },
  { n: 7, name: 'checkpoint', phase: 'payment', point: "a journal commit carrying a signed checkpoint of the writer's own stream" },
  { n: 8, name: 'tree', phase: 'payment', point: 'an append of checkpoints to the journal tree (JournalTreeStore.append)' },
  { n: 9, name: 'reconcile-claim', phase: 'reconcile', point: 'the reconcile:<payment id> claim (IdempotencyStore.claim)' },
  { n: 10, name: 'lookup', phase: 'reconcile', point: 'the gateway lookup of a processing payment (Gateway.lookup)' },
  { n: 11, name: 'reconciled', phase: 'reconcile', point: 'the journal commit holding payment.reconciled' },
  { n: 12, name: 'seal', phase: 'seal', point: "the journal commit sealing a crashed writer's stream" },
];

export const MODES = ['kill', 'fail'];

/** The environment variable the preload reads: `<step>:<kill|fail>[:<nth occurrence, default 1>]`. */
export const FAULT_ENV = 'FAULT_AT';
/** A file holding the fault instead (read at every occurrence; empty for none), so a running process can be armed. */
export const CONTROL_FILE_ENV = 'FAULT_CONTROL_FILE';
/** Moves the process's clock forward by this many milliseconds (a process started that much later). */
export const CLOCK_OFFSET_ENV = 'FAULT_CLOCK_OFFSET_MS';

export function faultSpec(fault) {
  return `${fault.step}:${fault.mode}:${fault.nth}`;
}

/** Parses a FAULT_AT value; throws on anything it does not know, so a typo never disables a fault. */
export function parseFault(value) {
  const [name, mode, nth = '1', ...rest] = value.split(':');
  const step = STEPS.find((s) => s.name === name);
  if (!step || !MODES.includes(mode) || !/^[1-9][0-9]*$/.test(nth) || rest.length > 0) {
    throw new Error(`${FAULT_ENV}=${value}: expected <step>:<kill|fail>[:<n>], step one of ${STEPS.map((s) => s.name).join(', ')}`);
  }
  return { step: step.name, mode, nth: Number(nth) };
}

/** The line the preload writes to stderr as a fault fires; tests look for it to know the fault was reached. */
export function faultLine(fault) {
  return `fault injected: ${fault.mode} at ${fault.step} #${fault.nth}`;
}
