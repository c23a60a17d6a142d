// The soak's report: a markdown file for people and a JSON file beside it for tools.
import { writeFileSync } from 'node:fs';

const table = (rows, head) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function writeReport(path, report) {
  const faultCounts = {};
  for (const f of report.faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
  const first = report.violations[0];
  const md = [
    `# paylog chaos soak: ${report.violations.length === 0 ? 'all invariants held' : `${report.violations.length} violation(s)`}`,
    '',
    `seed ${report.seed} (replay with \`npm run soak -- --minutes ${report.minutes} --seed ${report.seed}\`), ${report.minutes} min, `
      + `${report.concurrency} concurrent clients, ${report.machine}; started ${report.startedAt}, took ${report.tookS} s.`,
    '',
    '## Faults',
    '',
    table(Object.entries(faultCounts).map(([k, n]) => [k, n]), ['fault', 'count']),
    '',
    '<details><summary>Each fault</summary>',
    '',
    table(report.faults.map((f) => [f.atS, f.kind, `\`${JSON.stringify(f.details ?? {})}\``, f.error ?? '']), ['at s', 'fault', 'details', 'error']),
    '',
    '</details>',
    '',
    '## Requests per status',
    '',
    table(Object.entries(report.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, n]), ['kind and status', 'count']),
    '',
    `Instances restarted by the soak's supervisor after exiting on their own: ${report.unexpectedExits.length}.`,
    '',
    '## Invariants',
    '',
    table(report.invariants.map((i) => [i.name, i.held ? 'held' : `**violated** (${i.violations})`]), ['invariant', 'result']),
    '',
    '## Stores',
    '',
    table(Object.entries(report.stores).map(([store, s]) => [store, s.payments, s.records, s.ledgerEntries, `\`${JSON.stringify(s.statuses)}\``, s.verify]), ['store', 'payments', 'payment records', 'ledger entries', 'statuses', 'paylog verify']),
    '',
    '## Memory (VmRSS, KiB)',
    '',
    table(report.memory.map((m) => [m.instance, m.pid, m.windowS, m.baselineKiB, m.endKiB, `${m.growthPct} %`, m.measured ? (m.held ? 'held' : '**grew**') : 'too short to measure']),
      ['instance', 'pid', 'window s', 'after warm-up', 'at end', 'growth', 'result']),
    '',
    '## First violation',
    '',
    first ? `**${first.invariant}** (${first.store ?? 'all stores'}): ${first.evidence}` : 'none',
    '',
  ].join('\n');
  writeFileSync(path, md);
  const jsonPath = path.replace(/\.md$/, '') + '.json';
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  return { md: path, json: jsonPath };
}
