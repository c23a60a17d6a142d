// The lambda-warm section of docs/BENCHMARKS.md, from the figures `lambda-warm.mjs` measures.
import { fmt } from './lib.mjs';

const ms = (x) => `${fmt(x, 1)} ms`;
const range = (xs) => `${fmt(Math.min(...xs), 1)}–${fmt(Math.max(...xs), 1)}`;
const codes = (statuses) => Object.entries(statuses).map(([code, n]) => `${code} × ${fmt(n)}`).join(', ');
const totalRequests = (counts) => Object.values(counts.byAction).reduce((n, a) => n + a.requests, 0);
const perInvocation = (x) => fmt(x, Number.isInteger(x) ? 0 : 2);

/** "7 (journal 3, payments 2, …)": requests of one action, and the items they touch by table. */
function actionCell(entry) {
  if (!entry) return '—';
  const tables = Object.entries(entry.tables).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${perInvocation(n)}`).join(', ');
  const items = entry.items === entry.requests ? '' : `, ${perInvocation(entry.items)} items`;
  return `${perInvocation(entry.requests)}${items} (${tables})`;
}

export function sectionOf(r) {
  const { paylog: p, baseline: b } = r;
  const met = r.ratioP50 <= r.targetP50Ratio ? 'met' : '**missed**';
  const allCreated = [p.statuses, b.statuses, p.requests.statuses, b.requests.statuses].every((st) => Object.keys(st).every((code) => code === '201'));
  const measured = p.invocations === b.invocations && p.invocations === r.rounds * r.perRound
    ? `${fmt(p.invocations)} measured invocations each in ${r.rounds} rounds of ${fmt(r.perRound)}`
    : `${fmt(p.invocations)} measured invocations of paylog and ${fmt(b.invocations)} of the baseline in ${r.rounds} rounds of at most ${fmt(r.perRound)} (a time budget cut some short)`;
  const actions = [...new Set([...Object.keys(p.requests.byAction), ...Object.keys(b.requests.byAction)])].sort();
  const [pRequests, bRequests] = [totalRequests(p.requests), totalRequests(b.requests)];
  return [
    '## Lambda, warm invocations (`POST /v1/payments`)',
    '',
    `The Lambda bundle (\`dist/lambda/handler.mjs\`) beside a peer baseline written with Powertools for AWS Lambda (TypeScript) ${r.powertoolsVersion}`,
    '(`bench/powertools-baseline/handler.mjs`), in the same run. Each handler runs in its own Node process that imports it once',
    'and invokes it one event at a time, as a Lambda execution environment does; both use one DynamoDB Local (in memory, on',
    'loopback) and get the same API Gateway REST (payload 1.0) events: `POST /v1/payments` with an API key, a fresh',
    '`Idempotency-Key` and card 4242…4242 (`PAYLOG_GATEWAY_LATENCY_MS=0`, log level info, stdout to /dev/null for both). After',
    `${fmt(r.warmupInvocations)} warm-up invocations each, ${measured}, alternating which`,
    'handler goes first; each invocation is timed around the handler call. Invocations/s: one environment invoked back to back.',
    '',
    '| figure | paylog | Powertools baseline | ratio | target |',
    '|---|---|---|---|---|',
    `| p50 (range of the rounds' p50s) | ${ms(p.p50Ms)} (${range(p.roundP50sMs)}) | ${ms(b.p50Ms)} (${range(b.roundP50sMs)}) | **${fmt(r.ratioP50, 2)}×** | ≤ ${r.targetP50Ratio}× — ${met} |`,
    `| p99 | ${ms(p.p99Ms)} | ${ms(b.p99Ms)} | ${fmt(p.p99Ms / b.p99Ms, 2)}× | |`,
    `| invocations/s | ${fmt(p.perSecond)} | ${fmt(b.perSecond)} | ${fmt(p.perSecond / b.perSecond, 2)}× | |`,
    `| mean: waiting for DynamoDB + in the process | ${ms(p.meanDynamoWaitMs)} + ${ms(p.meanMs - p.meanDynamoWaitMs)} | ${ms(b.meanDynamoWaitMs)} + ${ms(b.meanMs - b.meanDynamoWaitMs)} | | |`,
    `| DynamoDB requests per invocation | ${perInvocation(pRequests)} | ${perInvocation(bRequests)} | ${fmt(pRequests / bRequests, 1)}× | |`,
    `| stdout lines per invocation | ${perInvocation(p.requests.stdoutLines)} | ${perInvocation(b.requests.stdoutLines)} | | |`,
    `| status codes | ${codes(p.statuses)} | ${codes(b.statuses)} | | all 201 — ${allCreated ? 'met' : '**missed**'} |`,
    '',
    '"Waiting for DynamoDB" is the time at least one HTTP request of the handler\'s process was open; "in the process" is the',
    'rest: the handler\'s own code and the AWS SDK\'s work around each request (serializing, signing, parsing).',
    '',
    '**Per invocation.** The baseline claims the key with one conditional `PutItem`, runs the handler — a random UUID as',
    'transaction ID, one audit line through Powertools Logger, one metric through Powertools Metrics — and stores the response',
    'with one `UpdateItem`; it does not authenticate, check the card, call a gateway, keep a payment or chain anything. paylog',
    'authenticates the API key (from its per-process cache once warm), validates and fingerprints the card, commits `payment.received`',
    'with the new payment and the key\'s claim before calling the gateway, records the call in the gateway ledger, then commits `payment.attempted` and',
    '`payment.succeeded` with the final payment and its stored response — two commits to the hash-chained journal — and writes',
    'its three audit records, two request log lines and one EMF document to stdout. DynamoDB requests per invocation, by action',
    `(and the items they touch, by table), counted through a proxy in a separate pass of ${fmt(r.countInvocations)} invocations on fresh environments:`,
    '',
    '| DynamoDB action | paylog | Powertools baseline |',
    '|---|---|---|',
    ...actions.map((a) => `| \`${a}\` | ${actionCell(p.requests.byAction[a])} | ${actionCell(b.requests.byAction[a])} |`),
    `| all | ${perInvocation(pRequests)} | ${perInvocation(bRequests)} |`,
    '',
    'On AWS each request is a network round trip to DynamoDB, usually longer than one on loopback, so the difference in',
    'requests weighs more there than here.',
    '',
    floorParagraph(r),
    ...comparedParagraph(r),
  ].join('\n');
}

/**
 * What the requests alone cost: bare SDK calls of the same kinds, on the same emulator, in the
 * same run. paylog's three requests depend on one another, so their sum bounds its p50 from below.
 */
function floorParagraph(r) {
  const f = r.floors;
  const paylogFloor = f.transaction4 + f.updateItem + f.transaction5;
  const baselineFloor = f.putItem + f.updateItem;
  return [
    `**What the requests alone cost.** Bare SDK calls of the same kinds, with items of about the same sizes and no handler code, on the same`,
    `DynamoDB Local in the same run (p50): a conditional \`PutItem\` ${ms(f.putItem)}, an \`UpdateItem\` ${ms(f.updateItem)}, a`,
    `\`TransactWriteItems\` of 4 items ${ms(f.transaction4)} and of 5 items ${ms(f.transaction5)}. paylog's three requests wait for one another —`,
    '`payment.received` with the key\'s claim, then the gateway\'s ledger entry, then the outcome — so they alone take',
    `${ms(paylogFloor)}: **${fmt(paylogFloor / r.baseline.p50Ms, 2)}× the baseline's whole p50** (whose own two requests take ${ms(baselineFloor)}), before any`,
    `work of paylog's own. [performance.md](performance.md#lambda-on-dynamodb) has the rest of the breakdown.`,
  ].join('\n');
}

/** Earlier builds of the bundle timed in the same rounds (BENCH_LAMBDA_WARM_COMPARE), beside this one. */
function comparedParagraph(r) {
  if (!r.compared || r.compared.length === 0) return [];
  const row = (label, x) => `| ${label} | ${ms(x.p50Ms)} (${range(x.roundP50sMs)}) | ${ms(x.p99Ms)} | ${ms(x.meanDynamoWaitMs)} + ${ms(x.meanMs - x.meanDynamoWaitMs)} | ${fmt(x.p50Ms / r.paylog.p50Ms, 2)}× | ${codes(x.statuses)} |`;
  return [
    '',
    '**Earlier builds, in the same rounds.** Each in its own environment beside the two above, on the same tables under its own',
    'Idempotency-Keys:',
    '',
    '| build | p50 (rounds) | p99 | mean: DynamoDB + process | p50 ÷ this build\'s | status codes |',
    '|---|---|---|---|---|---|',
    row('this build', r.paylog),
    ...r.compared.map((x) => row(x.label, x)),
  ];
}
