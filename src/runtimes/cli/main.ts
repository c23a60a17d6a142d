import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../config/settings.js';
import { PAYLOG_VERSION } from '../../compose/services.js';
import { PaylogError } from '../../core/errors.js';
import { registerCheckpoints } from './commands/checkpoints.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExport } from './commands/export.js';
import { registerKeys } from './commands/keys.js';
import { registerMigrate } from './commands/migrate.js';
import { registerReconcile } from './commands/reconcile.js';
import { registerServe } from './commands/serve.js';
import { registerVerify } from './commands/verify.js';
import { registerVerifyProof } from './commands/verify-proof.js';
import { registerWitness } from './commands/witness.js';

/** Exit codes: 0 success, 1 a negative result (e.g. an invalid journal), 2 could not run. */
export const EXIT_OK = 0;
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 2;

export interface CommandResult {
  code: number;
}

/** Runs the paylog command line; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = EXIT_OK;
  const setCode = (c: number): void => { code = c; };
  const program = new Command('paylog')
    .description('Payments with a tamper-evident audit journal')
    .version(PAYLOG_VERSION)
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerServe(program, setCode);
  registerKeys(program);
  registerVerify(program, setCode);
  registerVerifyProof(program, setCode);
  registerExport(program);
  registerReconcile(program);
  registerMigrate(program);
  registerDoctor(program, setCode);
  registerDemo(program, setCode);
  registerWitness(program, setCode);
  registerCheckpoints(program);
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    process.stderr.write(`paylog: ${describeError(err)}\n`);
    return EXIT_ERROR;
  }
}

function describeError(err: unknown): string {
  if (err instanceof ConfigError || err instanceof PaylogError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
