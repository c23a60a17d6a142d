// One Lambda execution environment for `bench/lambda-warm.mjs`: imports a handler module once,
// then, for each batch of events the parent sends over IPC, invokes the handler on them one at
// a time, as Lambda does, timing each invocation with performance.now(). Timings and status
// codes go back over IPC because stdout belongs to the handler (audit records, logs, EMF).
// Usage (as a child with an IPC channel): node lambda-warm-runner.mjs HANDLER_MODULE
import { subscribe } from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';

// Time during which at least one outgoing HTTP request (the SDK's, to DynamoDB) was open, so
// each invocation's time splits into waiting for DynamoDB and the rest (the handler's code and
// the SDK's own work). The diagnostics channel sees every node:http request without touching
// the handler.
let requestsOpen = 0;
let openSince = 0;
let waitedMs = 0;
subscribe('http.client.request.start', ({ request }) => {
  if (requestsOpen++ === 0) openSince = performance.now();
  // 'close' follows the end of the response, or the error.
  request.once('close', () => {
    if (--requestsOpen === 0) waitedMs += performance.now() - openSince;
  });
});
const waitedSoFarMs = () => waitedMs + (requestsOpen > 0 ? performance.now() - openSince : 0);

/** Milliseconds Lambda would report as left; the handlers only read it to size their leases. */
const REMAINING_TIME_MS = 28_000;
const FUNCTION_NAME = 'payments-bench';

const [modulePath] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(modulePath).href);
let invocation = 0;

function lambdaContext() {
  invocation++;
  return {
    functionName: FUNCTION_NAME, functionVersion: '$LATEST', memoryLimitInMB: '512',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
    awsRequestId: `bench-${process.pid}-${invocation}`,
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`, logStreamName: `bench/${process.pid}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => REMAINING_TIME_MS,
  };
}

/** Invokes the handler on each event in turn until the batch's time budget is spent. */
async function runBatch({ events, budgetMs }) {
  const timingsMs = [];
  const waitsMs = [];
  const statuses = {};
  const until = performance.now() + budgetMs;
  for (const event of events) {
    if (performance.now() > until) break;
    const context = lambdaContext();
    const started = performance.now();
    const waitedBefore = waitedSoFarMs();
    let status;
    try {
      status = (await handler(event, context))?.statusCode ?? 'none';
    } catch (err) {
      status = `threw ${err?.name ?? 'error'}`;
    }
    timingsMs.push(performance.now() - started);
    waitsMs.push(waitedSoFarMs() - waitedBefore);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  return { timingsMs, waitsMs, statuses };
}

process.on('message', (batch) => {
  runBatch(batch).then((result) => process.send(result), (err) => process.send({ error: String(err?.stack ?? err) }));
});
process.send({ ready: true });
