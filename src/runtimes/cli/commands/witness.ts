import type { Command } from 'commander';
import { WITNESS_SETTINGS, type WitnessConfig, loadWitnessConfig } from '../../../config/witness.js';
import { loadWitnessCosigner, openWitnessStore } from '../../../compose/witness.js';
import { cosignerKeyOf } from '../../../core/cosignature.js';

/** Evidence rows `paylog witness evidence` prints at most. */
const EVIDENCE_PRINTED_MAX = 100_000;

/** Adds the witness's flags (each also has its PAYLOG_WITNESS_… variable); `--log` repeats. */
function withWitnessSettings(command: Command, only?: string[]): Command {
  for (const setting of Object.values(WITNESS_SETTINGS)) {
    if (only && !only.includes(setting.flag)) continue;
    const description = `${setting.description} [${setting.env}]`;
    if (setting.flag === 'log') command.option('--log <vkey>', description, (value: string, all: string[] | undefined) => [...(all ?? []), value]);
    else command.option(`--${setting.flag} <value>`, description);
  }
  return command;
}

function witnessConfigFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): WitnessConfig {
  const flags: Record<string, string | undefined> = {};
  for (const setting of Object.values(WITNESS_SETTINGS)) {
    const value = opts[setting.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
    if (typeof value === 'string') flags[setting.flag] = value;
    else if (Array.isArray(value) && value.length > 0) flags[setting.flag] = value.join('\n');
  }
  return loadWitnessConfig(flags, env);
}

const KEY_FLAGS = ['data-dir', 'name', 'signing-key', 'signing-key-file'];

export function registerWitness(program: Command, setCode: (code: number) => void): void {
  const witness = program.command('witness').description('a C2SP tlog witness: cosigns checkpoints of the logs it trusts, if consistent with what it saw before');

  withWitnessSettings(witness.command('serve').description('serve POST /add-checkpoint and GET /<origin hash>/checkpoint'))
    .action(async (opts: Record<string, unknown>) => {
      const config = witnessConfigFrom(opts);
      const { serveWitnessUntilSignalled } = await import('../../witness/server.js');
      setCode(await serveWitnessUntilSignalled(config));
    });

  withWitnessSettings(witness.command('key').description("print the witness's verifier key (cosignature/v1, type 0x04)"), KEY_FLAGS)
    .action((opts: Record<string, unknown>) => {
      process.stdout.write(`${cosignerKeyOf(loadWitnessCosigner(witnessConfigFrom(opts)))}\n`);
    });

  withWitnessSettings(witness.command('evidence').description('print the refused, validly signed checkpoints kept as evidence, one JSON line each'), ['data-dir'])
    .action((opts: Record<string, unknown>) => {
      const store = openWitnessStore(witnessConfigFrom(opts));
      try {
        for (const row of store.evidence(EVIDENCE_PRINTED_MAX)) {
          process.stdout.write(`${JSON.stringify({ ...row, receivedAt: new Date(row.receivedAtMs).toISOString(), receivedAtMs: undefined })}\n`);
        }
      } finally {
        store.close();
      }
    });
}
