// The soak's final checks, read straight from each store once everything has been restarted
// cleanly and reconciled: payments, their journal records, the simulated gateway's ledger.
import Database from 'better-sqlite3';
import pg from 'pg';

const TERMINAL = new Set(['succeeded', 'declined', 'failed']);
const OUTCOME_TYPES = { 'payment.succeeded': 'succeeded', 'payment.declined': 'declined', 'payment.failed': 'failed' };
const PAYMENT_TYPES = ['payment.received', ...Object.keys(OUTCOME_TYPES), 'payment.reconciled'];
/** What an answer promised about its payment's final status. */
const PROMISED = { 201: 'succeeded', 402: 'declined' };

/** Reads payments, their records and the ledger of one store into plain rows. */
export async function readStore(storeUrl) {
  const queries = {
    payments: 'SELECT id, status, body FROM payments',
    records: `SELECT resource, type, body FROM journal WHERE type IN (${PAYMENT_TYPES.map((t) => `'${t}'`).join(', ')}) ORDER BY ts, stream, seq`,
    ledger: 'SELECT gateway_key, outcome FROM gateway_ledger',
  };
  if (storeUrl.startsWith('sqlite:')) {
    const db = new Database(storeUrl.slice('sqlite:'.length), { readonly: true });
    try {
      return Object.fromEntries(Object.entries(queries).map(([name, sql]) => [name, db.prepare(sql).all()]));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: storeUrl });
  await client.connect();
  try {
    const out = {};
    for (const [name, sql] of Object.entries(queries)) out[name] = (await client.query(sql)).rows;
    return out;
  } finally {
    await client.end();
  }
}

/**
 * The invariants of one store. `answers` are the acknowledged answers (2xx/402 naming a payment)
 * the soak got from this store's instances. Returns [{ invariant, evidence }] of every violation.
 */
export function checkStore(store, { payments, records, ledger }, answers) {
  const violations = [];
  const fail = (invariant, evidence) => violations.push({ invariant, store, evidence });
  const byId = new Map();
  const byReference = new Map();
  for (const row of payments) {
    const body = JSON.parse(row.body);
    byId.set(row.id, row);
    const ref = body.merchantReference ?? null;
    if (ref !== null) byReference.set(ref, [...(byReference.get(ref) ?? []), row.id]);
  }
  const recordsOf = new Map();
  for (const r of records) {
    const list = recordsOf.get(r.resource) ?? [];
    list.push({ type: r.type, data: JSON.parse(r.body).data ?? {} });
    recordsOf.set(r.resource, list);
  }

  // No acknowledged payment lost, and it ends as the answer promised.
  const idOfKey = new Map();
  for (const a of answers) {
    const row = byId.get(a.paymentId);
    if (!row) { fail('no acknowledged payment lost', `${a.status} for ${a.paymentId} (key ${a.key}, ${a.instance}): no such payment`); continue; }
    const promised = PROMISED[a.status];
    if (promised && row.status !== promised) fail('no acknowledged payment lost', `${a.status} for ${a.paymentId} (key ${a.key}, ${a.instance}) but it ends ${row.status}`);
    const known = idOfKey.get(a.key);
    if (known && known !== a.paymentId) fail('one transaction per idempotency key', `key ${a.key} answered with ${known} and ${a.paymentId}`);
    idOfKey.set(a.key, a.paymentId);
  }
  // One transaction per key: the soak sets merchantReference to the key.
  for (const [ref, ids] of byReference) if (ids.length > 1) fail('one transaction per idempotency key', `merchantReference ${ref}: ${ids.join(', ')}`);

  // Exactly one terminal state per payment, its records agreeing with its row, no duplicate record.
  for (const row of payments) {
    const list = recordsOf.get(row.id) ?? [];
    const received = list.filter((r) => r.type === 'payment.received');
    const outcomes = list.filter((r) => r.type in OUTCOME_TYPES);
    const reconciled = list.filter((r) => r.type === 'payment.reconciled');
    if (!TERMINAL.has(row.status)) fail('every payment in one terminal state', `${row.id} is ${row.status}`);
    if (received.length !== 1) fail('no duplicate record', `${row.id}: ${received.length} payment.received records`);
    if (outcomes.length > 1) fail('no duplicate record', `${row.id}: outcome records ${outcomes.map((r) => r.type).join(', ')}`);
    if (reconciled.length > 1) fail('no duplicate record', `${row.id}: ${reconciled.length} payment.reconciled records`);
    if (outcomes.length > 0 && reconciled.length > 0) fail('no duplicate record', `${row.id}: both ${outcomes[0].type} and payment.reconciled`);
    const last = [...outcomes, ...reconciled].at(-1);
    const journalSays = last === undefined ? 'processing' : (OUTCOME_TYPES[last.type] ?? last.data.status);
    if (journalSays !== row.status) fail('records agree with the row', `${row.id}: row ${row.status}, journal ${journalSays}`);
  }

  // No double charge: the gateway key is the payment ID; each has one ledger entry, and what the
  // ledger settled is what the payment says.
  for (const entry of ledger) {
    const row = byId.get(entry.gateway_key);
    if (entry.outcome === 'approved' && row?.status !== 'succeeded') fail('no double charge', `gateway key ${entry.gateway_key} charged, payment ${row ? row.status : 'missing'}`);
    if (entry.outcome === 'declined' && row && row.status !== 'declined') fail('no double charge', `gateway key ${entry.gateway_key} declined, payment ${row.status}`);
  }
  const approved = new Set(ledger.filter((e) => e.outcome === 'approved').map((e) => e.gateway_key));
  for (const row of payments) if (row.status === 'succeeded' && !approved.has(row.id)) fail('no double charge', `${row.id} succeeded without a charge in the gateway ledger`);

  const statuses = {};
  for (const row of payments) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  return { violations, summary: { payments: payments.length, records: records.length, ledgerEntries: ledger.length, statuses } };
}
