import { osUser } from '../os-user.js';
import { type Command, Option } from 'commander';
import { createApiKey, revokeApiKey } from '../../../app/api-keys.js';
import { openStore } from '../../../compose/open-store.js';
import { startServices } from '../../../compose/services.js';
import { loadSigningKeys } from '../../../compose/signing-keys.js';
import { DEFAULT_KEY_ROLE, KEY_ROLES, type KeyRole } from '../../../core/key-role.js';
import { verifierKeyOf } from '../../../core/signed-note.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  withSettings(keys.command('create').description('create an API key; prints its secret once, alone on the last line'), STORE_FLAGS)
    .option('--merchant <id>', 'the merchant the key belongs to (merchant keys only)')
    .addOption(new Option('--role <role>', 'merchant: takes and reads its payments; auditor: reads the audit trail (/v1/audit/*), no payments').choices(KEY_ROLES).default(DEFAULT_KEY_ROLE))
    .option('--name <name>', 'a label for the key')
    .action(async (opts: Record<string, unknown>) => {
      const role = opts.role as KeyRole;
      const merchant = typeof opts.merchant === 'string' ? opts.merchant : null;
      // Checked before the store is opened: a usage error writes nothing.
      if (role === 'merchant' && merchant === null) throw new Error("--merchant: a merchant key needs the merchant it acts for (or give --role auditor)");
      if (role === 'auditor' && merchant !== null) throw new Error('--merchant: an auditor key belongs to no merchant; leave --merchant out');
      const services = await startServices(configFrom(opts), { role: 'cli' });
      try {
        const { key, secret } = await createApiKey(services.ctx, services.system, merchant ?? '', typeof opts.name === 'string' ? opts.name : null, role, { osUser: osUser() });
        const owner = key.role === 'auditor' ? 'an auditor (reads /v1/audit/*, no payments)' : `merchant ${key.merchantId}`;
        process.stderr.write(`Created ${key.id} for ${owner}. The secret is shown once; store it now:\n`);
        process.stdout.write(`${secret}\n`);
      } finally {
        await services.close();
      }
    });

  withSettings(keys.command('list').description('list API keys (never their secrets)'), STORE_FLAGS)
    .option('--json', 'print JSON')
    .action(async (opts: Record<string, unknown>) => {
      const store = await openStore(configFrom(opts));
      try {
        const all = await store.keys.list();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(all.map(({ secretHash: _s, ...k }) => k), null, 2)}\n`);
          return;
        }
        const rows = all.map((k) => [k.id, k.role, k.merchantId, k.name ?? '', k.createdAt, k.revokedAt ? `revoked ${k.revokedAt}` : 'active']);
        process.stdout.write(table(['ID', 'ROLE', 'MERCHANT', 'NAME', 'CREATED', 'STATUS'], rows));
      } finally {
        await store.close();
      }
    });

  registerPublicKey(keys);

  withSettings(keys.command('revoke').description('revoke an API key').argument('<keyId>'), STORE_FLAGS)
    .action(async (keyId: string, opts: Record<string, unknown>) => {
      const services = await startServices(configFrom(opts), { role: 'cli' });
      try {
        const key = await revokeApiKey(services.ctx, services.system, keyId, { osUser: osUser() });
        process.stdout.write(`Revoked ${key.id} (${key.role === 'auditor' ? 'auditor' : `merchant ${key.merchantId}`}) at ${key.revokedAt}\n`);
      } finally {
        await services.close();
      }
    });
}

export function registerPublicKey(keys: Command): void {
  withSettings(keys.command('public').description("print the journal's checkpoint verifier key (signed-note form)"), [...STORE_FLAGS, 'signing-key', 'signing-key-file', 'previous-signing-key', 'previous-signing-key-file'])
    .action((opts: Record<string, unknown>) => {
      const signing = loadSigningKeys(configFrom(opts));
      process.stdout.write(`${verifierKeyOf(signing.current)}\n`);
      if (signing.previous) process.stderr.write(`(rotating from ${verifierKeyOf(signing.previous)})\n`);
    });
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
