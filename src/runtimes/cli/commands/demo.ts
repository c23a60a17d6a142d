import type { Command } from 'commander';
import { createApiKey } from '../../../app/api-keys.js';
import { type Payment, PaylogApiError, PaylogClient } from '../../../client/index.js';
import { secretFlagError } from '../../../config/settings.js';
import { startServices } from '../../../compose/services.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';
import { table } from './keys.js';

/** One payment per outcome of the simulated gateway (SPEC §2). */
export const DEMO_CARDS: { label: string; number: string; cvc?: string }[] = [
  { label: 'approved (visa)', number: '4242424242424242' },
  { label: 'approved (amex)', number: '378282246310005', cvc: '1234' },
  { label: 'declined: generic', number: '4000000000000002' },
  { label: 'declined: insufficient funds', number: '4000000000009995' },
  { label: 'declined: lost card', number: '4000000000009987' },
  { label: 'declined: stolen card', number: '4000000000009979' },
  { label: 'declined: expired card', number: '4000000000000069' },
  { label: 'declined: incorrect cvc', number: '4000000000000127' },
  { label: 'declined: processing error', number: '4000000000000119' },
  { label: 'declined: fraudulent', number: '4100000000000019' },
  { label: 'fails Luhn (never sent)', number: '4242424242424241' },
  { label: 'gateway 503 once, then approved', number: '4000000005030004' },
  { label: 'gateway 429 once, then approved', number: '4000000004290005' },
  { label: 'gateway 500 once, then approved', number: '4000000005000007' },
  { label: 'gateway down', number: '4000000005039997' },
  { label: 'slow approval, retried', number: '4000000004080000' },
  { label: 'gateway never answers', number: '4000000004089993' },
  { label: 'malformed gateway reply', number: '4000000005020005' },
];

export function registerDemo(program: Command, setCode: (code: number) => void): void {
  withSettings(program.command('demo').description('send one sample payment per outcome to a running server and print the results'), STORE_FLAGS)
    .option('--url <url>', 'the server [PAYLOG_URL]', process.env.PAYLOG_URL ?? 'http://127.0.0.1:3000')
    // Registered only to refuse it with the alternative: a secret on a command line is read by every local user (ps).
    .option('--key <secret>', 'refused: give the API secret key in PAYLOG_API_KEY; without one, a key for merchant "demo" is created in the local store')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.key !== undefined) throw secretFlagError('PAYLOG_API_KEY', 'key', 'PAYLOG_API_KEY');
      const fromEnv = process.env.PAYLOG_API_KEY;
      const secret = fromEnv !== undefined && fromEnv !== '' ? fromEnv : await demoKey(opts);
      const client = new PaylogClient({ baseUrl: String(opts.url), apiKey: secret });
      const year = new Date().getUTCFullYear() + 3;
      const rows: string[][] = [];
      let unexpected = 0;
      for (const card of DEMO_CARDS) {
        const { status, payment, error } = await client.createPayment({
          amount: 1099, currency: 'usd', description: `paylog demo: ${card.label}`,
          paymentMethod: { type: 'card', card: { number: card.number, expMonth: 12, expYear: year, cvc: card.cvc ?? '123' } },
        }).then(
          (created) => ({ status: created.status, payment: created.data as Payment | undefined, error: undefined }),
          // Every answer of the API is a row to show (a decline, a gateway failure, a bad key); no answer stops the demo.
          (err: unknown) => {
            if (!(err instanceof PaylogApiError)) throw err;
            return { status: err.status, payment: err.payment, error: err };
          },
        );
        if (status >= 500 && status !== 503) unexpected++;
        rows.push([card.label, `…${card.number.slice(-4)}`, String(status), payment?.status ?? '-', String(payment?.attempts ?? '-'),
          [error?.code, error?.declineCode].filter(Boolean).join(' / ') || '-', payment?.id ?? '-']);
      }
      process.stdout.write(table(['CASE', 'CARD', 'HTTP', 'STATUS', 'ATTEMPTS', 'ERROR', 'PAYMENT'], rows));
      if (unexpected > 0) setCode(1);
    });
}

async function demoKey(opts: Record<string, unknown>): Promise<string> {
  const services = await startServices(configFrom(opts), { role: 'cli' });
  try {
    const { key, secret } = await createApiKey(services.ctx, services.system, 'demo', 'paylog demo');
    process.stderr.write(`Created API key ${key.id} for merchant "demo" in the local store.\n`);
    return secret;
  } finally {
    await services.close();
  }
}
