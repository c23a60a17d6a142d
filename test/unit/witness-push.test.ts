import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpWitnessClient } from '../../src/adapters/witness-client/http.js';
import type { Caller } from '../../src/app/context.js';
import { createPayment } from '../../src/app/create-payment.js';
import { SubtreeHashes } from '../../src/app/subtree-hashes.js';
import { type WitnessEvent, type WitnessPushOptions, WitnessPusher, logWitnessEvent } from '../../src/app/witness-push.js';
import { parseAddCheckpointRequest } from '../../src/app/witness/request.js';
import { startServices } from '../../src/compose/services.js';
import { loadConfig } from '../../src/config/config.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import { cosign, cosignerFromPrivateKey, cosignerKeyOf, parseCosignerKey, verifyCosignature } from '../../src/core/cosignature.js';
import { hashLeaf, subtreeRoot, verifyConsistency } from '../../src/core/merkle.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { type NoteSigner, signerFromPrivateKey, verifierKeyOf } from '../../src/core/signed-note.js';
import { rfc3339 } from '../../src/core/time.js';
import { openNote } from '../../src/core/tlog-checkpoint.js';
import type { JournalTreeHead } from '../../src/ports/journal-tree-store.js';
import type { WitnessAnswer, WitnessClient } from '../../src/ports/witness-client.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { InProcessWitness } from '../support/witness-server.js';

const JOURNAL = 'paylog-push-test';
const T0 = Date.UTC(2026, 10, 30, 18, 0, 0);
const FAST = { retryBaseMs: 1, retryMaxMs: 4, attemptsMax: 5 };

/** A journal tree as the appender makes it: leaves, and heads signed by the journal key for origin `<journal>`. */
class Tree {
  readonly signer: NoteSigner = signerFromPrivateKey(JOURNAL, generateKeyPairSync('ed25519').privateKey);
  readonly vkey = verifierKeyOf(this.signer);
  leaves: Buffer[] = [];

  constructor(private readonly salt = '') {}

  grow(count: number): this {
    for (let i = 0; i < count; i++) this.leaves.push(hashLeaf(Buffer.from(`checkpoint note ${this.leaves.length}${this.salt}`)));
    return this;
  }

  /** The same key over other leaves from `from` on: a fork. */
  fork(salt: string, from: number): Tree {
    const fork = new Tree(salt);
    Object.assign(fork, { signer: this.signer, vkey: this.vkey });
    fork.leaves = this.leaves.slice(0, from);
    return fork;
  }

  root(size: number): Buffer {
    return subtreeRoot(this.leaves, 0, size);
  }

  head(size = this.leaves.length, timeMs = T0 + size * 1000): JournalTreeHead {
    const root = this.root(size).toString('hex');
    return { journal: JOURNAL, size, root, note: signCheckpoint({ origin: JOURNAL, size, root, time: rfc3339(timeMs) }, [this.signer]), frontier: [], cosignatures: [] };
  }
}

interface Sent {
  url: string;
  old: number;
  size: number;
  proof: Buffer[];
}

/** The real HTTP client, recording what is sent; `script` may answer instead of the witness (or throw, as a network would). */
class RecordingClient implements WitnessClient {
  readonly sent: Sent[] = [];
  private readonly http = createHttpWitnessClient();
  script: ((sent: Sent, call: number) => WitnessAnswer | 'pass' | Error) | null = null;
  /** Rewrites the witness's real answer. */
  rewrite: ((answer: WitnessAnswer) => WitnessAnswer) | null = null;

  async addCheckpoint(url: string, body: string, timeoutMs: number, signal?: AbortSignal): Promise<WitnessAnswer> {
    const parsed = parseAddCheckpointRequest(Buffer.from(body));
    if (!parsed.ok) throw new Error(`the pusher sent a malformed body: ${parsed.reason}`);
    const sent = { url, old: parsed.value.oldSize, size: parsed.value.checkpoint.size, proof: parsed.value.proof };
    this.sent.push(sent);
    const scripted = this.script?.(sent, this.sent.length) ?? 'pass';
    if (scripted instanceof Error) throw scripted;
    if (scripted !== 'pass') return scripted;
    const answer = await this.http.addCheckpoint(url, body, timeoutMs, signal);
    return this.rewrite ? this.rewrite(answer) : answer;
  }
}

let tree: Tree;
let client: RecordingClient;
let nowMs: number;
let saved: { size: number; lines: string[] }[];
let events: WitnessEvent[];
let ages: [string, number][];
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  tree = new Tree().grow(40);
  client = new RecordingClient();
  nowMs = T0 + 100_000;
  saved = [];
  events = [];
  ages = [];
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startWitness(name = 'witness.test/w1', logs = [tree.vkey]): Promise<InProcessWitness> {
  const witness = await new InProcessWitness(logs, name).start();
  cleanups.push(() => witness.close());
  return witness;
}

/** The journal tree as a store holding these leaves would give it to the pusher. */
function over(leaves: readonly Buffer[]): Pick<WitnessPushOptions, 'journal' | 'tree'> {
  return { journal: JOURNAL, tree: new SubtreeHashes(async (_journal, lo, hi) => {
    if (hi > leaves.length) throw new Error(`the store holds ${leaves.length} leaves`);
    return leaves.slice(lo, hi);
  }) };
}

function pusherFor(witnesses: InProcessWitness[], options: Partial<WitnessPushOptions> = {}, limits = {}): WitnessPusher {
  const pusher = new WitnessPusher({
    witnesses: witnesses.map((w) => ({ url: w.url, key: w.vkey })),
    client,
    ...over(tree.leaves),
    saveCosignatures: async (size, lines) => { saved.push({ size, lines }); return true; },
    clock: { now: () => nowMs },
    random: () => 0.5,
    onAge: (name, ageMs) => ages.push([name, ageMs]),
    onEvent: (event) => events.push(event),
    limits: { ...FAST, ...limits },
    ...options,
  });
  cleanups.push(async () => pusher.stop());
  return pusher;
}

/** Sends `head` to the witness directly from `old`, as another writer's pusher would have. */
async function seed(witness: InProcessWitness, source: Tree, size: number): Promise<void> {
  const other = new WitnessPusher({
    witnesses: [{ url: witness.url, key: witness.vkey }], client: createHttpWitnessClient(),
    ...over(source.leaves), saveCosignatures: async () => true,
    clock: { now: () => nowMs }, random: () => 0, limits: FAST,
  });
  other.push(source.head(size));
  await other.idle(10_000);
  expect(await witness.size(JOURNAL)).toBe(size);
}

function expectValidCosignature(line: string, head: JournalTreeHead, witness: InProcessWitness): void {
  const text = openNote(head.note).text;
  expect(verifyCosignature(text, openNote(`${text}\n${line}\n`).signatures[0]!, parseCosignerKey(witness.vkey))).not.toBeNull();
}

describe('WitnessPusher', () => {
  it('pushes a head to a witness that never saw the log (old 0, no proof) and stores the valid cosignature', async () => {
    const witness = await startWitness();
    const pusher = pusherFor([witness]);
    const head = tree.head(10);
    pusher.push(head);
    await pusher.idle(10_000);
    expect(client.sent).toEqual([{ url: witness.url, old: 0, size: 10, proof: [] }]);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.size).toBe(10);
    expectValidCosignature(saved[0]!.lines[0]!, head, witness);
    expect(await witness.size(JOURNAL)).toBe(10);
    // The age of the newest witnessed checkpoint: now less its signed time.
    expect(ages).toEqual([['witness.test/w1', nowMs - (T0 + 10_000)]]);
    expect(events).toEqual([]);
  });

  it('after a 409, sends the head again from the size the witness names, with a proof that verifies', async () => {
    const witness = await startWitness();
    await seed(witness, tree, 13);
    const pusher = pusherFor([witness]);
    pusher.push(tree.head(29));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => [s.old, s.size])).toEqual([[0, 29], [13, 29]]);
    const { proof } = client.sent[1]!;
    expect(proof.length).toBeGreaterThan(0);
    expect(verifyConsistency(13, 29, proof, tree.root(13), tree.root(29))).toBe(true);
    expect(saved.map((s) => s.size)).toEqual([29]);
    expect(await witness.size(JOURNAL)).toBe(29);

    // The acknowledged size is remembered: the next head goes straight from 29.
    pusher.push(tree.head(40));
    await pusher.idle(10_000);
    expect(client.sent.slice(2).map((s) => [s.old, s.size])).toEqual([[29, 40]]);
    expect(verifyConsistency(29, 40, client.sent[2]!.proof, tree.root(29), tree.root(40))).toBe(true);
  });

  it('resends the same tree (old = size, no proof) when the witness already holds exactly that head', async () => {
    const witness = await startWitness();
    await seed(witness, tree, 20);
    const pusher = pusherFor([witness]);
    pusher.push(tree.head(20));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => [s.old, s.size, s.proof.length])).toEqual([[0, 20, 0], [20, 20, 0]]);
    expect(saved.map((s) => s.size)).toEqual([20]);
  });

  it('leaves a head alone when the witness already holds a larger tree (another writer pushed it)', async () => {
    const witness = await startWitness();
    await seed(witness, tree, 30);
    const pusher = pusherFor([witness]);
    pusher.push(tree.head(25));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => [s.old, s.size])).toEqual([[0, 25]]);
    expect(saved).toEqual([]);
    expect(events).toEqual([]);
    pusher.push(tree.head(40));
    await pusher.idle(10_000);
    expect(client.sent.slice(1).map((s) => [s.old, s.size])).toEqual([[30, 40]]);
    expect(saved.map((s) => s.size)).toEqual([40]);
  });

  it('retries network errors and 5xx with backoff, then succeeds', async () => {
    const witness = await startWitness();
    const pusher = pusherFor([witness]);
    client.script = (_sent, call) => {
      if (call === 1) return new TypeError('fetch failed');
      if (call === 2) return { status: 503, contentType: 'text/plain', body: 'witness store unavailable\n' };
      if (call === 3) return { status: 429, contentType: 'text/plain', body: 'slow down\n' };
      return 'pass';
    };
    pusher.push(tree.head(12));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => s.size)).toEqual([12, 12, 12, 12]);
    expect(saved.map((s) => s.size)).toEqual([12]);
    // Warned from the second failed try on, at most once a minute: one warning, then "again".
    expect(events.map((e) => e.kind)).toEqual(['failing', 'recovered']);
    expect(events[0]).toMatchObject({ kind: 'failing', witness: witness.url, name: 'witness.test/w1', size: 12, status: 503 });
    expect((events[0] as { reason: string }).reason).toContain('retrying');
  });

  it('gives up on a head after the bounded number of tries, warning once per minute per witness', async () => {
    const witness = await startWitness();
    const pusher = pusherFor([witness], {}, { attemptsMax: 4 });
    client.script = () => ({ status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' });
    pusher.push(tree.head(5));
    await pusher.idle(10_000);
    expect(client.sent).toHaveLength(4);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'failing', status: 502 });

    // A minute later the next head fails too: one more warning, naming how many were left out.
    nowMs += 60_000;
    pusher.push(tree.head(6));
    await pusher.idle(10_000);
    expect(client.sent).toHaveLength(8);
    expect(events).toHaveLength(2);
    // The first warning was for a failed try of head 5 (its give-up came within the minute).
    expect((events[0] as { reason: string }).reason).toMatch(/try 2 of 4; retrying/);
    expect(events[1]).toMatchObject({ kind: 'failing', size: 6, suppressed: 2, witnessedAgeMs: nowMs - (T0 + 5_000) });
    // The age keeps growing while it cosigns nothing.
    expect(ages.at(-1)).toEqual(['witness.test/w1', nowMs - (T0 + 5_000)]);
    expect(saved).toEqual([]);
  });

  it('a witness down for a while is sent only the newest head when it is back, from the size it holds', async () => {
    const witness = await startWitness();
    await seed(witness, tree, 8);
    const pusher = pusherFor([witness], {}, { attemptsMax: 1_000 });
    await witness.stop();
    pusher.push(tree.head(10));
    // Heads queue up while it is down: each replaces the one waiting.
    for (const size of [15, 22, 31]) pusher.push(tree.head(size));
    await until(() => client.sent.length >= 3);
    await witness.start();
    await pusher.idle(10_000);
    expect(new Set(client.sent.map((s) => s.size))).toEqual(new Set([10, 31]));
    const last = client.sent.at(-1)!;
    expect(last).toMatchObject({ old: 8, size: 31 });
    expect(verifyConsistency(8, 31, last.proof, tree.root(8), tree.root(31))).toBe(true);
    expect(await witness.size(JOURNAL)).toBe(31);
    expect(saved.map((s) => s.size)).toEqual([31]);
    expect(events.map((e) => e.kind)).toEqual(['failing', 'recovered']);
    expect((events[0] as { reason: string }).reason).toMatch(/ECONNREFUSED/);
  });

  it('ignores lines that are not valid cosignatures by the witness key, and stores only the valid one', async () => {
    const witness = await startWitness();
    const stranger = cosignerFromPrivateKey('witness.test/w1', generateKeyPairSync('ed25519').privateKey);
    const pusher = pusherFor([witness]);
    const head = tree.head(10);
    const text = openNote(head.note).text;
    const forged = cosign(text, stranger, 1_800_000_000).trimEnd(); // same name, another key
    const tampered = (line: string) => line.replace(/.{4}$/, line.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    client.rewrite = (answer) => ({ ...answer, body: `${forged}\n${tampered(answer.body.trimEnd())}\n${answer.body}` });
    pusher.push(head);
    await pusher.idle(10_000);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.lines).toHaveLength(1);
    expectValidCosignature(saved[0]!.lines[0]!, head, witness);
    expect(events).toEqual([{ kind: 'ignored', witness: witness.url, name: 'witness.test/w1', size: 10, lines: 2 }]);
  });

  it('stores nothing, and warns, when a 200 carries no valid cosignature or is not signature lines', async () => {
    const witness = await startWitness();
    const other = cosignerFromPrivateKey('witness.test/other', generateKeyPairSync('ed25519').privateKey);
    const pusher = pusherFor([witness]);
    const head = tree.head(10);
    client.script = () => ({ status: 200, contentType: 'text/plain', body: cosign(openNote(head.note).text, other, 1_800_000_000) });
    pusher.push(head);
    await pusher.idle(10_000);
    expect(client.sent).toHaveLength(1); // a refusal, not retried
    expect(saved).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(['ignored', 'failing']);
    expect((events[1] as { reason: string }).reason).toMatch(/no valid cosignature by witness\.test\/w1\+[0-9a-f]{8}/);

    nowMs += 60_000;
    client.script = () => ({ status: 200, contentType: 'text/plain', body: 'hello\n' });
    pusher.push(tree.head(11));
    await pusher.idle(10_000);
    expect(saved).toEqual([]);
    expect(events.at(-1)).toMatchObject({ kind: 'failing', status: 200 });
    expect((events.at(-1) as { reason: string }).reason).toMatch(/not signature lines/);
  });

  it('a 422 (the witness holds a fork) is an error-level warning and is not retried', async () => {
    const witness = await startWitness();
    await seed(witness, tree.fork('-other', 5).grow(7), 12);
    const pusher = pusherFor([witness]);
    pusher.push(tree.head(20));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => [s.old, s.size])).toEqual([[0, 20], [12, 20]]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'failing', status: 422, inconsistent: true });
    const lines: [string, string][] = [];
    logWitnessEvent({ error: (_o, m) => lines.push(['error', m]), warn: (_o, m) => lines.push(['warn', m]), info: () => undefined, debug: () => undefined }, events[0]!);
    expect(lines).toEqual([['error', 'witness refused the journal checkpoint as inconsistent']]);
  });

  it('sends no proof built from stored leaves that do not reproduce the signed head', async () => {
    const witness = await startWitness();
    await seed(witness, tree, 10);
    const tampered = tree.fork('-tampered', 15).grow(25);
    const pusher = pusherFor([witness], over(tampered.leaves));
    pusher.push(tree.head(40));
    await pusher.idle(10_000);
    expect(client.sent.map((s) => [s.old, s.size])).toEqual([[0, 40]]);
    expect(events.map((e) => e.kind)).toEqual(['unprovable', 'failing']);
    expect(await witness.size(JOURNAL)).toBe(10);
  });

  it('pushes to every witness; one failing does not hold up the other', async () => {
    const a = await startWitness('witness.test/a');
    const b = await startWitness('witness.test/b');
    const pusher = pusherFor([a, b], {}, { attemptsMax: 3 });
    client.script = (sent) => (sent.url === b.url ? new TypeError('fetch failed') : 'pass');
    pusher.push(tree.head(17));
    await pusher.idle(10_000);
    expect(saved.map((s) => s.size)).toEqual([17]);
    expectValidCosignature(saved[0]!.lines[0]!, tree.head(17), a);
    expect(events).toMatchObject([{ kind: 'failing', witness: b.url, name: 'witness.test/b' }]);
    expect(new Set(ages.map(([name]) => name))).toEqual(new Set(['witness.test/a', 'witness.test/b']));
  });

  it('idle() is bounded: a witness that never answers holds it no longer than asked', async () => {
    const hanging = await hangingServer();
    const pusher = new WitnessPusher({
      witnesses: [{ url: hanging.url, key: cosignerKeyOf(cosignerFromPrivateKey('witness.test/slow', generateKeyPairSync('ed25519').privateKey)) }],
      client: createHttpWitnessClient(), ...over([]), saveCosignatures: async () => true,
      clock: { now: () => nowMs }, random: () => 0.5, limits: { requestTimeoutMs: 120_000 },
    });
    cleanups.push(async () => pusher.stop());
    pusher.push(tree.head(3));
    await hanging.received();
    // The witness never answers and its request may run 2 minutes: idle() returns after the 50 ms asked anyway.
    await pusher.idle(50);
    // stop() aborts the request under way: the loop ends now, not when the 2-minute timeout would.
    pusher.stop();
    await pusher.idle(60_000);
  });
});

describe('WitnessPusher.idle', () => {
  it('does not wait for a retry due after its deadline (it could not happen in time)', async () => {
    const witness = await startWitness();
    const pusher = pusherFor([witness], {}, { retryBaseMs: 240_000, retryMaxMs: 240_000 });
    client.script = () => new TypeError('fetch failed');
    pusher.push(tree.head(4));
    // Resolves as soon as the only work left is a retry two minutes away, not after 60 s.
    await pusher.idle(60_000);
    expect(client.sent).toHaveLength(1);
    client.script = null;
  });
});

describe('pushing from the running service', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'paylog-push-services-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('never holds up a payment: payments complete while the witness has answered nothing', async () => {
    const hanging = await hangingServer();
    const vkey = cosignerKeyOf(cosignerFromPrivateKey('witness.test/slow', generateKeyPairSync('ed25519').privateKey));
    const config = loadConfig({}, {
      ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dataDir, PAYLOG_CHECKPOINT_EVERY: '1', PAYLOG_WITNESS: `${hanging.url} ${vkey}`,
    });
    const services = await startServices(config, { role: 'test' });
    const caller: Caller = { merchantId: 'acme', actor: 'key_test', origin: { requestId: null, traceId: null, ip: null } };
    try {
      const pay = (i: number) => createPayment(services.ctx, caller, paymentBody() as unknown as PaymentRequest, `push-${i}`);
      expect((await pay(0)).status).toBe(201);
      await hanging.received(); // a push is under way, and will never be answered
      let pushesSettled = false;
      void services.witnesses.idle(60_000).then(() => { pushesSettled = true; });
      for (let i = 1; i <= 5; i++) expect((await pay(i)).status).toBe(201);
      expect(pushesSettled).toBe(false);
    } finally {
      services.witnesses.stop();
      hanging.server.closeAllConnections();
      await services.close();
    }
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An HTTP server that reads requests and never answers them. */
async function hangingServer(): Promise<{ server: Server; url: string; received: () => Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req) => { requests.push(req); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
  });
  return {
    server, url,
    received: async () => { if (requests.length === 0) await once(server, 'request'); },
  };
}
