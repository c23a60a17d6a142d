import type { Command } from 'commander';
import { runDoctor } from '../../../compose/doctor.js';
import type { CheckResult } from '../../../core/check-result.js';
import { STORE_FLAGS, configFrom, withSettings } from '../options.js';

const STATUS_LABELS: Record<CheckResult['status'], string> = { ok: 'ok', fail: 'FAIL', skip: 'skip' };

export function registerDoctor(program: Command, setCode: (code: number) => void): void {
  withSettings(program.command('doctor').description("check the store: exit 0 all pass, 1 a check failed, 2 could not run"), STORE_FLAGS)
    .action(async (opts: Record<string, unknown>) => {
      const report = await runDoctor(configFrom(opts));
      process.stdout.write(`Checking ${report.target}\n\n${table(report.checks)}\n${summary(report.checks)}\n`);
      setCode(report.checks.some((c) => c.status === 'fail') ? 1 : 0);
    });
}

/** One row per check, columns padded; the detail is last, so a long one does not push anything else. */
export function table(checks: CheckResult[]): string {
  const rows = [['check', 'result', 'detail'], ...checks.map((c) => [c.name, STATUS_LABELS[c.status], c.detail])];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => `${(r[0] as string).padEnd(widths[0] as number)}  ${(r[1] as string).padEnd(widths[1] as number)}  ${r[2]}`.trimEnd()).join('\n') + '\n';
}

function summary(checks: CheckResult[]): string {
  const failed = checks.filter((c) => c.status === 'fail').length;
  const skipped = checks.filter((c) => c.status === 'skip').length;
  const ran = checks.length - skipped;
  const skippedText = skipped === 0 ? '' : `, ${skipped} skipped`;
  return failed === 0 ? `All ${ran} checks passed${skippedText}.` : `${failed} of ${ran} checks failed${skippedText}.`;
}
