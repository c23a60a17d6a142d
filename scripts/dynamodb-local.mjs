// Amazon's DynamoDB Local, for the tests and benchmarks: fetched once from the npm registry
// (it ships inside amplify-dynamodb-simulator, pinned by version and checked against the
// registry's sha512), unpacked under node_modules/.cache, and run in memory with Java 17 on
// a free loopback port. Only the emulator directory of the tarball is used; the package's own
// dependencies (hundreds of them) are never installed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIMULATOR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
/** The registry's dist.integrity of that tarball. */
const SIMULATOR_INTEGRITY = 'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'paylog', 'dynamodb-local-2.9.30');
const START_TIMEOUT_MS = 60_000;
const START_ATTEMPTS_MAX = 3;

/** Credentials DynamoDB Local accepts (any do); without some, the SDK would probe EC2 metadata. */
export const DYNAMODB_LOCAL_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDPAYLOGTEST',
  AWS_SECRET_ACCESS_KEY: 'paylog-test-secret',
  AWS_REGION: 'us-east-1',
  // The SDK warns once per process on Node 20 that it will need Node 22 from 2027; noise here.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib, fetching it on first use.
 * PAYLOG_DYNAMODB_LOCAL_DIR points at an existing copy instead.
 */
export function ensureDynamoDbLocal() {
  const given = process.env.PAYLOG_DYNAMODB_LOCAL_DIR;
  if (given) {
    if (!existsSync(join(given, 'DynamoDBLocal.jar'))) throw new Error(`PAYLOG_DYNAMODB_LOCAL_DIR: no DynamoDBLocal.jar in ${given}`);
    return given;
  }
  const emulator = join(CACHE, 'emulator');
  if (existsSync(join(emulator, 'DynamoDBLocal.jar'))) return emulator;

  const work = `${CACHE}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const pack = spawnSync('npm', ['pack', SIMULATOR_PACKAGE, '--json', '--pack-destination', work], { encoding: 'utf8', cwd: work });
    if (pack.status !== 0) throw new Error(`npm pack ${SIMULATOR_PACKAGE} failed: ${pack.stderr.trim().split('\n').pop()}`);
    const [{ filename }] = JSON.parse(pack.stdout);
    const tarball = join(work, filename);
    const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (digest !== SIMULATOR_INTEGRITY) throw new Error(`${SIMULATOR_PACKAGE}: the tarball's sha512 is not the pinned one`);
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', work, 'package/emulator'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`could not unpack ${filename}: ${untar.stderr.trim()}`);
    mkdirSync(CACHE, { recursive: true });
    // A rename is atomic: a concurrent fetch either finds the whole directory or none.
    try {
      renameSync(join(work, 'package', 'emulator'), emulator);
    } catch (err) {
      if (!existsSync(join(emulator, 'DynamoDBLocal.jar'))) throw err;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return emulator;
}

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts one in-memory DynamoDB Local on a free loopback port and resolves once it answers.
 * Returns `{ endpoint, stop() }`; stop() ends the Java process.
 */
export async function startDynamoDbLocal() {
  const dir = ensureDynamoDbLocal();
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) {
    throw new Error('DynamoDB Local needs Java 17: install Debian\'s openjdk-17-jre-headless (.ci/run does)');
  }
  let lastError;
  for (let attempt = 1; attempt <= START_ATTEMPTS_MAX; attempt++) {
    try {
      return await launch(dir, await freePort());
    } catch (err) {
      // The port may have been taken between freePort() and Java binding it: try another.
      lastError = err;
    }
  }
  throw lastError;
}

async function launch(dir, port) {
  const child = spawn('java', [
    '-Xms256m', '-Xmx1g', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'),
    '-inMemory', '-port', String(port), '-disableTelemetry',
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output.trim().slice(-500)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`DynamoDB Local did not answer within ${START_TIMEOUT_MS} ms: ${output.trim().slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint, port, stop, pid: child.pid };
}

/** True once the endpoint answers a DynamoDB API call (any answer, even an error, means it is up). */
async function answers(endpoint) {
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKIDPAYLOGTEST/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: '{}',
    });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

// `node scripts/dynamodb-local.mjs` fetches the emulator and prints where it is.
if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(ensureDynamoDbLocal());
