// Runs the built Lambda bundle like the Lambda runtime does: imports dist/lambda/handler.mjs,
// invokes `handler` once per event, writes the results to a file (stdout belongs to the
// handler: audit records, logs and metrics go there), then sends itself SIGTERM as Lambda
// does before shutting an environment down.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventsFile, resultsFile] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const results = [];
for (const [i, event] of events.entries()) {
  const context = { awsRequestId: `invoke-${i}-${process.pid}`, functionName: 'paylog-test', getRemainingTimeInMillis: () => 28_000 };
  results.push(await handler(event, context));
}
writeFileSync(resultsFile, JSON.stringify(results));
// Like the Lambda runtime, stay alive until the handler's SIGTERM listener ends the process;
// exit 3 if it never does.
setTimeout(() => process.exit(3), 15_000);
process.kill(process.pid, 'SIGTERM');
