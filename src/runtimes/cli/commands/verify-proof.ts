import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ReceiptEntry, checkReceiptEntry } from '../../../core/receipt.js';
import { trustedKeysFrom } from '../trusted-keys.js';
import { collect, witnessPolicyFrom } from '../witness-keys.js';

/** Receipts are small; anything bigger is not one. */
const RECEIPT_BYTES_MAX = 4 * 1024 * 1024;

export function registerVerifyProof(program: Command, setCode: (code: number) => void): void {
  program.command('verify-proof')
    .description('check a saved GET /v1/payments/{id}/proof receipt offline, with the public key alone')
    .argument('<file>', 'the receipt (JSON)')
    .option('--key <verifier-key>', 'a trusted checkpoint key (repeatable) [PAYLOG_VERIFY_KEY]', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--keys <file>', 'a file of trusted keys with validity windows [PAYLOG_VERIFY_KEYS]', process.env.PAYLOG_VERIFY_KEYS)
    .option('--witness-key <vkey>', "a witness's cosignature key (repeatable; see `paylog witness key`)", collect, [] as string[])
    .option('--witness-quorum <n>', "valid cosignatures of those witnesses the journal tree checkpoint the receipt's checkpoint is in must carry (default: all of them)")
    .option('--json', 'print the result as JSON')
    .action((file: string, opts: { key: string[]; keys?: string; json?: boolean; witnessKey: string[]; witnessQuorum?: string }) => {
      const keys = [...opts.key, ...(process.env.PAYLOG_VERIFY_KEY ? [process.env.PAYLOG_VERIFY_KEY] : [])];
      const trusted = trustedKeysFrom(keys, opts.keys);
      if (trusted.length === 0) throw new Error('no verifier key: pass --key <verifier key> (see `paylog keys public`)');
      const witnesses = witnessPolicyFrom(opts.witnessKey, opts.witnessQuorum);
      const text = readFileSync(file, 'utf8');
      if (text.length > RECEIPT_BYTES_MAX) throw new Error(`${file} is too large to be a receipt`);
      let receipt: { payment?: unknown; proofs?: unknown };
      try {
        receipt = JSON.parse(text) as typeof receipt;
      } catch {
        throw new Error(`${file} is not JSON`);
      }
      if (!Array.isArray(receipt.proofs) || receipt.proofs.length === 0) throw new Error(`${file} holds no proofs`);
      const results = (receipt.proofs as ReceiptEntry[]).map((entry) => checkReceiptEntry(entry, trusted, witnesses));
      const valid = results.every((r) => r.ok);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ payment: receipt.payment ?? null, valid, records: results }, null, 2)}\n`);
      } else {
        for (const r of results) process.stdout.write(`${r.ok ? 'valid  ' : 'INVALID'}  ${r.stream} seq ${r.seq} ${r.type}${r.reason ? ` — ${r.reason}` : ''}\n`);
        const witnessed = witnesses ? ` (witness quorum: ${witnesses.quorum} of ${witnesses.keys.length} keys)` : '';
        process.stdout.write(`${results.filter((r) => r.ok).length}/${results.length} records of ${String(receipt.payment ?? 'the receipt')} proven${witnessed}\n`);
      }
      setCode(valid ? 0 : 1);
    });
}
