// lambda-warm: warm invocations of the Lambda bundle (dist/lambda/handler.mjs) against
// DynamoDB Local, beside a peer baseline written with Powertools for AWS Lambda
// (bench/powertools-baseline/handler.mjs) in the same run: p50, p99 and invocations/s of each,
// and the ratio of the p50s. Each handler runs in its own Node process, one invocation at a
// time, as a Lambda execution environment does; both get the same API Gateway events and the
// same emulator, in alternating rounds so machine noise hits both. A last short pass through a
// counting proxy gives each handler's DynamoDB requests per invocation, by action, and bare SDK
// calls of the same kinds give what those requests alone cost (bench/dynamodb-request-floor.mjs).
// `node bench/lambda-warm.mjs [--json]`; run `npm run build && npm run build:lambda` first.
// BENCH_LAMBDA_WARM_COMPARE=LABEL=DIR[,…] also times each DIR/handler.mjs (an earlier build's
// dist/lambda/, beside a node_modules/) in the same rounds, under its own Idempotency-Keys on the
// same tables, and reports it under LABEL; BENCH_LAMBDA_WARM_CPU_PROF=DIR
// writes a V8 CPU profile of paylog's timed environment there (node --cpu-prof).
import { fork, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DYNAMODB_LOCAL_ENV, startDynamoDbLocal } from '../scripts/dynamodb-local.mjs';
import { startCountingProxy } from './dynamodb-counting-proxy.mjs';
import { ROOT, median, paymentBody, stopChild, tempDir } from './lib.mjs';
import { createIdempotencyTable } from './powertools-baseline/table.mjs';
import { sectionOf } from './lambda-warm-report.mjs';
import { requestFloors } from './dynamodb-request-floor.mjs';

const WARMUP_INVOCATIONS = 200;
/** Measured invocations per handler, split evenly over the rounds. */
const MEASURED_INVOCATIONS = Number(process.env.BENCH_LAMBDA_WARM_INVOCATIONS ?? 2_000);
const ROUNDS = 4;
const PER_ROUND = Math.ceil(MEASURED_INVOCATIONS / ROUNDS);
/** Time one handler may spend on one round (or the warm-up); a slower handler measures fewer. */
const BATCH_BUDGET_MS = 60_000;
/** The request-count pass: invocations warmed (init and first-use requests left out), then counted. */
const COUNT_WARMUP_INVOCATIONS = 20;
const COUNT_INVOCATIONS = 100;
const READY_TIMEOUT_MS = 60_000;
export const TARGET_P50_RATIO = 1.5;

const RUNNER = join(ROOT, 'bench/lambda-warm-runner.mjs');
const PAYLOG_HANDLER = join(ROOT, 'dist/lambda/handler.mjs');
const BASELINE_HANDLER = join(ROOT, 'bench/powertools-baseline/handler.mjs');
const BASELINE_TABLE = 'powertools-idempotency';
const REGION = DYNAMODB_LOCAL_ENV.AWS_REGION;

/** The parent's environment without settings that would change either handler's behaviour. */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PAYLOG|POWERTOOLS|AWS)_/.test(k)));
const paylogStore = (endpoint) => `dynamodb://paylogbench?endpoint=${endpoint}&region=${REGION}`;

function paylogEnv(endpoint, dataDir, keys) {
  return {
    ...cleanEnv(), ...DYNAMODB_LOCAL_ENV, ...keys,
    PAYLOG_STORE: paylogStore(endpoint), PAYLOG_DATA_DIR: dataDir, PAYLOG_LAMBDA_MERCHANT: 'acme',
    // info is the production default; the lines go to the same sink as the baseline's.
    PAYLOG_LOG_LEVEL: 'info', PAYLOG_GATEWAY_LATENCY_MS: '0',
  };
}

function baselineEnv(endpoint) {
  // The SDK's standard per-service endpoint variable: the handler itself is what one would deploy.
  return { ...cleanEnv(), ...DYNAMODB_LOCAL_ENV, AWS_ENDPOINT_URL_DYNAMODB: endpoint, IDEMPOTENCY_TABLE_NAME: BASELINE_TABLE };
}

/** paylog's tables and one API key for merchant acme; returns the key's secret. */
function preparePaylog(env) {
  const cli = (...args) => {
    const out = spawnSync(process.execPath, [join(ROOT, 'bin/paylog.js'), ...args, '--store', env.PAYLOG_STORE], { env, cwd: ROOT, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`paylog ${args.join(' ')} failed: ${out.stderr.trim()}`);
    return out.stdout;
  };
  cli('migrate');
  return cli('keys', 'create', '--merchant', 'acme').trim().split('\n').pop().trim();
}

/** An API Gateway REST (payload 1.0) POST /v1/payments event, as in test/e2e/lambda-handler.test.ts. */
function restEvent(secret, body, n) {
  const key = `bench-${randomBytes(18).toString('base64url')}`;
  const headers = { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json', 'Idempotency-Key': key };
  return {
    resource: '/{proxy+}', path: '/v1/payments', httpMethod: 'POST', headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: { proxy: 'v1/payments' }, stageVariables: null,
    requestContext: {
      accountId: '123456789012', apiId: 'a1b2c3d4e5', httpMethod: 'POST', path: '/live/v1/payments', protocol: 'HTTP/1.1', stage: 'live',
      requestId: `${randomBytes(8).toString('hex')}-${n}`, requestTimeEpoch: Date.now(), resourceId: 'abc123', resourcePath: '/{proxy+}',
      identity: { sourceIp: '203.0.113.7', userAgent: 'bench/1' },
    },
    body, isBase64Encoded: false,
  };
}

/** Batches of events with fresh idempotency keys; each batch goes to both handlers. */
function eventSource(secret) {
  const body = paymentBody();
  let n = 0;
  return (count) => Array.from({ length: count }, () => restEvent(secret, body, n++));
}

/** The same events under other Idempotency-Keys, `tag`'s own. */
const withOtherKeys = (tag) => (events) => events.map((event) => {
  const key = `${event.headers['Idempotency-Key']}-${tag}`;
  return { ...event, headers: { ...event.headers, 'Idempotency-Key': key }, multiValueHeaders: { ...event.multiValueHeaders, 'Idempotency-Key': [key] } };
});

/** Starts one execution environment: a runner process that has imported the handler module. */
async function startEnvironment(name, handlerModule, env, stdout, execArgv = [], rewrite = (events) => events) {
  const child = fork(RUNNER, [handlerModule], { env, cwd: ROOT, stdio: ['ignore', stdout, 'inherit', 'ipc'], execArgv });
  const next = () => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`${name} environment exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (msg) => {
      child.off('exit', onExit);
      if (msg.error) reject(new Error(`${name}: ${msg.error}`));
      else resolve(msg);
    });
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
  await next().finally(() => clearTimeout(timeout));
  return {
    name,
    invoke: (events) => {
      const answer = next();
      child.send({ events: rewrite(events), budgetMs: BATCH_BUDGET_MS });
      return answer;
    },
    stop: () => stopChild(child),
  };
}

/** Nearest-rank percentile. */
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const addCounts = (into, from) => { for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v; };

/** Warm-up, then alternating measured rounds; returns each handler's timings and status codes. */
async function timedPasses(envs, nextEvents) {
  const warmup = nextEvents(WARMUP_INVOCATIONS);
  for (const env of envs) await env.invoke(warmup);
  const results = envs.map(() => ({ timingsMs: [], waitsMs: [], roundP50sMs: [], statuses: {} }));
  for (let round = 0; round < ROUNDS; round++) {
    const events = nextEvents(PER_ROUND);
    // Alternate who goes first, so neither always runs on a machine the other just warmed or loaded.
    const order = envs.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const { timingsMs, waitsMs, statuses } = await envs[i].invoke(events);
      results[i].timingsMs.push(...timingsMs);
      results[i].waitsMs.push(...waitsMs);
      results[i].roundP50sMs.push(median(timingsMs));
      addCounts(results[i].statuses, statuses);
      process.stderr.write(`lambda-warm round ${round + 1} ${envs[i].name}: ${timingsMs.length} invocations, p50 ${median(timingsMs).toFixed(2)} ms\n`);
    }
  }
  return results.map((r) => ({
    invocations: r.timingsMs.length,
    p50Ms: median(r.timingsMs),
    p99Ms: percentile(r.timingsMs, 0.99),
    // One environment invoked back to back: invocations per second of handler time.
    perSecond: r.timingsMs.length / (sum(r.timingsMs) / 1000),
    meanMs: sum(r.timingsMs) / r.timingsMs.length,
    meanDynamoWaitMs: sum(r.waitsMs) / r.waitsMs.length,
    roundP50sMs: r.roundP50sMs,
    statuses: r.statuses,
  }));
}

const lineCount = (file) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length;

/** Fresh environments through the counting proxy: DynamoDB requests and stdout lines per invocation. */
async function countingPass(dynamoEndpoint, nextEvents, makeEnvs, dir) {
  const proxy = await startCountingProxy(dynamoEndpoint);
  try {
    const out = [];
    for (const [name, handlerModule, env] of makeEnvs(proxy.endpoint)) {
      const stdoutFile = join(dir, `${name}.stdout`);
      const fd = openSync(stdoutFile, 'w');
      const environment = await startEnvironment(name, handlerModule, env, fd);
      try {
        await environment.invoke(nextEvents(COUNT_WARMUP_INVOCATIONS));
        proxy.reset();
        const linesBefore = lineCount(stdoutFile);
        const { timingsMs, statuses } = await environment.invoke(nextEvents(COUNT_INVOCATIONS));
        const byAction = proxy.snapshot();
        const n = timingsMs.length;
        out.push({
          invocations: n, statuses,
          stdoutLines: (lineCount(stdoutFile) - linesBefore) / n,
          byAction: Object.fromEntries(Object.entries(byAction).map(([action, e]) => [action, {
            requests: e.requests / n, items: e.items / n,
            tables: Object.fromEntries(Object.entries(e.tables).map(([table, items]) => [table.replace(/^paylogbench-/, ''), items / n])),
          }])),
        });
      } finally {
        await environment.stop();
        closeSync(fd);
      }
    }
    return out;
  } finally {
    await proxy.close();
  }
}

export async function measure() {
  const dir = tempDir('paylog-bench-lambda-warm-');
  const dynamo = await startDynamoDbLocal();
  try {
    const keys = {
      PAYLOG_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
      PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
    };
    const secret = preparePaylog(paylogEnv(dynamo.endpoint, join(dir, 'cli'), keys));
    // The SDK's once-per-process notice that it will need Node 22 from 2027 is noise here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const credentials = { accessKeyId: DYNAMODB_LOCAL_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: DYNAMODB_LOCAL_ENV.AWS_SECRET_ACCESS_KEY };
    await createIdempotencyTable({ endpoint: dynamo.endpoint, region: REGION, credentials, tableName: BASELINE_TABLE });
    const nextEvents = eventSource(secret);
    const makeEnvs = (endpoint) => [
      ['paylog', PAYLOG_HANDLER, paylogEnv(endpoint, join(dir, 'paylog'), keys)],
      ['baseline', BASELINE_HANDLER, baselineEnv(endpoint)],
    ];

    const envs = [];
    let timed;
    const compared = (process.env.BENCH_LAMBDA_WARM_COMPARE ?? '').split(',').filter(Boolean).map((entry) => entry.split('='));
    const profileDir = process.env.BENCH_LAMBDA_WARM_CPU_PROF;
    try {
      const timedEnvs = makeEnvs(dynamo.endpoint);
      for (const [i, [label, other]] of compared.entries()) timedEnvs.push([label, join(other, 'handler.mjs'), paylogEnv(dynamo.endpoint, join(dir, `compared-${i}`), keys)]);
      // 'ignore' is /dev/null: the handlers' stdout costs them the same write either way.
      for (const [name, handlerModule, env] of timedEnvs) {
        const execArgv = name === 'paylog' && profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
        // A compared handler shares paylog's tables: its own keys, or it would replay paylog's payments.
        const rewrite = envs.length >= 2 ? withOtherKeys(`c${envs.length - 1}`) : undefined;
        envs.push(await startEnvironment(name, handlerModule, env, 'ignore', execArgv, rewrite));
      }
      timed = await timedPasses(envs, nextEvents);
    } finally {
      for (const env of envs) await env.stop();
    }
    const [paylogCounts, baselineCounts] = await countingPass(dynamo.endpoint, nextEvents, makeEnvs, dir);
    const floors = await requestFloors({ endpoint: dynamo.endpoint, region: REGION, credentials });
    return {
      floors,
      paylog: { ...timed[0], requests: paylogCounts },
      baseline: { ...timed[1], requests: baselineCounts },
      compared: compared.map(([label], i) => ({ label, ...timed[2 + i] })),
      ratioP50: timed[0].p50Ms / timed[1].p50Ms,
      targetP50Ratio: TARGET_P50_RATIO,
      warmupInvocations: WARMUP_INVOCATIONS, rounds: ROUNDS, perRound: PER_ROUND, countInvocations: COUNT_INVOCATIONS,
      powertoolsVersion: JSON.parse(readFileSync(join(ROOT, 'node_modules/@aws-lambda-powertools/idempotency/package.json'), 'utf8')).version,
    };
  } finally {
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The markdown section of docs/BENCHMARKS.md. */
export async function run() {
  return sectionOf(await measure());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--json')) console.log(JSON.stringify(await measure(), null, 2));
  else console.log(await run());
}
