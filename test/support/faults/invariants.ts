import { type Clients, type PaymentView, type StoreReader, waitFor } from './crash-scenario.js';

const TERMINAL = new Set(['succeeded', 'declined', 'failed']);
const OUTCOME_RECORDS = new Set(['payment.succeeded', 'payment.declined', 'payment.failed']);

interface RecordView {
  type: string;
  data: { status?: string };
}

async function get<T>(url: string, secret: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

function paymentsOf(url: string, secret: string, key: string): Promise<{ data: PaymentView[] }> {
  return get(url, secret, `/v1/payments?merchantReference=${encodeURIComponent(key)}&limit=10`);
}

/** Waits until every key's payments have left processing (the serve's periodic reconcile, or a `paylog reconcile`). */
export async function waitUntilSettled(url: string, clients: Clients): Promise<void> {
  let pending: string[] = [];
  await waitFor(() => `every payment to settle; still processing: ${pending.join(', ')}`, async () => {
    const lists = await Promise.all(clients.payments.map(({ key }) => paymentsOf(url, clients.secret, key)));
    pending = lists.flatMap((list) => list.data.filter((p) => !TERMINAL.has(p.status)).map((p) => p.id));
    return pending.length === 0;
  });
}

/**
 * The invariants of docs/testing.md, for every key of `clients`, as violations (empty when all hold):
 * - one transaction per key, in a terminal state, readable by ID;
 * - every answer carrying a payment names that transaction, and a terminal answer is its final state;
 * - its records hold one payment.received and exactly one terminal record, which agrees with its row;
 * - the gateway's ledger agrees: charged (approved) exactly when it succeeded, so never charged twice.
 */
export async function violations(url: string, clients: Clients, store: StoreReader): Promise<string[]> {
  const found: string[] = [];
  const { secret } = clients;
  for (const { key } of clients.payments) {
    const { data } = await paymentsOf(url, secret, key);
    if (data.length !== 1) {
      found.push(`${key}: ${data.length} transactions (${data.map((p) => `${p.id} ${p.status}`).join(', ')})`);
      if (data.length === 0) continue;
    }
    const ledger = await store.ledger(data.map((p) => p.id));
    const charges = ledger.filter((row) => row.outcome === 'approved').length;
    if (charges > 1) found.push(`${key}: charged ${charges} times`);
    const payment = await get<PaymentView>(url, secret, `/v1/payments/${(data[0] as PaymentView).id}`);
    const at = `${key} (${payment.id})`;
    if (!TERMINAL.has(payment.status)) found.push(`${at}: still ${payment.status}`);

    for (const answer of clients.answers.get(key) ?? []) {
      if (answer.payment === null) continue;
      if (answer.payment.id !== payment.id) found.push(`${at}: a client was answered with another payment, ${answer.payment.id}`);
      else if (TERMINAL.has(answer.payment.status) && answer.payment.status !== payment.status) {
        found.push(`${at}: a client was answered ${answer.status} ${answer.payment.status}, the payment is ${payment.status}`);
      }
    }

    const events = await get<{ data: RecordView[]; hasMore: boolean }>(url, secret, `/v1/payments/${payment.id}/events?limit=100`);
    const received = events.data.filter((r) => r.type === 'payment.received').length;
    if (received !== 1) found.push(`${at}: ${received} payment.received records`);
    const terminal = events.data.flatMap((r) => {
      if (OUTCOME_RECORDS.has(r.type)) return [`${r.type} ${r.type.slice('payment.'.length)}`];
      if (r.type === 'payment.reconciled') return [`${r.type} ${r.data.status ?? '?'}`];
      return [];
    });
    if (terminal.length !== 1 || !(terminal[0] as string).endsWith(` ${payment.status}`)) {
      found.push(`${at}: row ${payment.status}, terminal records [${terminal.join(', ')}]`);
    }

    const entry = ledger.find((row) => row.gatewayKey === payment.id);
    const expected = payment.status === 'succeeded' ? 'approved' : payment.status === 'declined' ? 'declined' : null;
    if ((entry?.outcome ?? null) !== expected) found.push(`${at}: ${payment.status}, the gateway's ledger says ${entry?.outcome ?? 'no charge'}`);
  }
  return found;
}
