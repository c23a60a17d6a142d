import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * deploy/prometheus/paylog-rules.yml is checked and unit-tested by promtool itself (its cases are
 * in paylog-rules.test.yml), and every alert it defines has a summary, a severity and a runbook
 * in docs/operations.md. promtool must be installed (CI installs Debian's `prometheus`): a
 * missing promtool fails here rather than skipping, so untested rules never pass as tested.
 * That the CloudWatch alarms carry the same names is checked where the stack is synthesized,
 * in infra/test/alarms.test.ts.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const RULES_DIR = join(ROOT, 'deploy', 'prometheus');
const RULES = readFileSync(join(RULES_DIR, 'paylog-rules.yml'), 'utf8');
const TESTS = readFileSync(join(RULES_DIR, 'paylog-rules.test.yml'), 'utf8');
const OPERATIONS = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');

function promtool(): string {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'promtool')), '/usr/bin/promtool'];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('promtool not found on PATH or at /usr/bin/promtool: install Debian\'s `prometheus` package (.ci/run does)');
  return found;
}

function run(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(promtool(), args, { cwd: RULES_DIR, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Alert {
  name: string;
  body: string;
}

/** The alerting rules, each with its text up to the next rule (enough for these checks, without a YAML parser). */
function alerts(): Alert[] {
  const starts = [...RULES.matchAll(/^ {6}- alert: (\S+)$/gm)];
  return starts.map((match, i) => ({ name: match[1]!, body: RULES.slice(match.index, starts[i + 1]?.index ?? RULES.length) }));
}

/** The runbook section of docs/operations.md. */
function runbooks(): string {
  const start = OPERATIONS.indexOf('\n## Alerts and runbooks\n');
  if (start < 0) throw new Error('docs/operations.md has no "## Alerts and runbooks" section');
  const end = OPERATIONS.indexOf('\n## ', start + 1);
  return OPERATIONS.slice(start, end < 0 ? undefined : end);
}

describe('deploy/prometheus/paylog-rules.yml', () => {
  it('passes promtool check rules', () => {
    const { status, output } = run(['check', 'rules', 'paylog-rules.yml']);
    expect(status, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${alerts().length} rules found`);
  });

  it('passes its unit tests (promtool test rules paylog-rules.test.yml)', () => {
    const { status, output } = run(['test', 'rules', 'paylog-rules.test.yml']);
    expect(status, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it('defines the alerts of issue 14, each once', () => {
    const names = alerts().map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining([
      'PaylogPaymentFailureRate', 'PaylogGatewayUnavailable', 'PaylogCheckpointStale', 'PaylogJournalWriteErrors',
      'PaylogJournalConflicts', 'PaylogHttp5xxRate', 'PaylogReadinessDisagreement',
    ]));
  });

  it.each(alerts().map((a) => [a.name, a.body]))('%s has a for:, a severity, a templated summary and its runbook', (name, body) => {
    expect(body).toMatch(/^ {8}for: \d+m$/m);
    expect(body).toMatch(/^ {10}severity: (critical|warning)$/m);
    expect(body).toMatch(/^ {10}summary: '.*\{\{ \$labels\.job \}\}.*'$/m);
    const runbook = /^ {10}runbook_url: docs\/operations\.md#(\S+)$/m.exec(body);
    expect(runbook?.[1]).toBe(name.toLowerCase());
    expect(runbooks()).toContain(`\n### ${name}\n`);
  });

  it.each(alerts().map((a) => [a.name]))('%s is tested firing and staying quiet', (name) => {
    const cases = [...TESTS.matchAll(new RegExp(`alertname: ${name}\\n {8}exp_alerts:(.*)`, 'g'))].map((m) => m[1]!.trim());
    expect(cases, 'a case where it must not fire').toContain('[]');
    expect(cases, 'a case where it fires').toContain('');
  });

  it('has no runbook without an alert', () => {
    const documented = [...runbooks().matchAll(/^### (Paylog\w+)$/gm)].map((m) => m[1]);
    const defined = new Set(alerts().map((a) => a.name));
    const cloudWatchOnly = documented.filter((name) => !defined.has(name!));
    // The two Lambda platform alarms have runbooks but no Prometheus rule (no server counterpart).
    expect(cloudWatchOnly.sort()).toEqual(['PaylogFunctionErrors', 'PaylogFunctionThrottles']);
  });
});
