import { headOfLine } from '../../src/core/signed-head.js';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStdoutMirror } from '../../src/adapters/mirror/stdout.js';
import { IncompleteWriteError, type WriteSyncFn, writeFullySync } from '../../src/adapters/mirror/write-sync.js';
import { type AuditRecord, recordLine } from '../../src/core/audit-record.js';
import type { Caller } from '../../src/app/context.js';
import { createPayment } from '../../src/app/create-payment.js';
import { startServices } from '../../src/compose/services.js';
import { loadSigningKeys } from '../../src/compose/signing-keys.js';
import { loadConfig } from '../../src/config/config.js';
import type { PaymentRequest } from '../../src/core/payment.js';
import { FAST_GATEWAY_ENV, paymentBody } from '../support/harness.js';
import { trustedKeyOf, verifyLines } from '../support/journal-fixture.js';
import { expectVerifiedLines, mirrorStream } from '../support/mirror-streams.js';

/** Records with awkward content: newlines, U+2028, non-ASCII, quotes. */
function buildStream(n: number, padding = 0): AuditRecord[] {
  return mirrorStream(n, { note: 'line one\nline two \u2028 "quoted" café', padding, startedBy: 'system:lambda' });
}

/** Splits text into lines and checks each is one record, the records are exactly `expected`, and the chain verifies. */
function expectVerifiedText(text: string, expected: readonly AuditRecord[]): void {
  expect(text.endsWith('\n')).toBe(true);
  expectVerifiedLines(text.slice(0, -1).split('\n'), expected);
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: simulated`), { code });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paylog-stdout-mirror-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('stdout mirror', () => {
  it('writes every record as exactly one JSON line to the fd, synchronously; the lines verify as a chain', async () => {
    const records = buildStream(700);
    const path = join(dir, 'out.jsonl');
    const fd = openSync(path, 'w');
    const calls: number[] = [];
    const spy: WriteSyncFn = (f, buffer, offset, length) => {
      calls.push(length);
      return writeSync(f, buffer, offset, length);
    };
    try {
      const mirror = createStdoutMirror({ fd, writeSync: spy });
      const batches = [records.slice(0, 1), records.slice(1, 4), records.slice(4, 600), records.slice(600)];
      let written = 0;
      for (const batch of batches) {
        mirror.publish(batch);
        written += batch.length;
        // Synchronous: on disk the moment publish returns, before any await.
        expect(readFileSync(path, 'utf8').split('\n').length - 1).toBe(written);
      }
      mirror.publish([]);
      await mirror.flush();
      await mirror.close();
      // One writeSync per batch (a file takes it whole); the empty publish writes nothing.
      expect(calls).toHaveLength(batches.length);
    } finally {
      closeSync(fd);
    }
    expectVerifiedText(readFileSync(path, 'utf8'), records);
  });

  it('by default writes fd 1: in a process whose stdout is a non-blocking pipe read slowly, EAGAIN is retried and every line arrives intact', async () => {
    const records = buildStream(3_000, 600);
    const recordsPath = join(dir, 'records.json');
    writeFileSync(recordsPath, JSON.stringify(records));
    const bundle = join(dir, 'stdout-mirror.mjs');
    buildSync({ entryPoints: [fileURLToPath(new URL('../../src/adapters/mirror/stdout.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent' });
    const script = `
      import { readFileSync, writeSync } from 'node:fs';
      import { createStdoutMirror } from ${JSON.stringify(pathToFileURL(bundle).href)};
      void process.stdout; // as in Lambda: Node's stdout handle puts the pipe in O_NONBLOCK mode
      let eagain = 0;
      const counting = (fd, buffer, offset, length) => {
        try { return writeSync(fd, buffer, offset, length); } catch (err) {
          // The first EAGAIN tells the test the pipe is full: only then does its reader start.
          if (err.code === 'EAGAIN' && eagain++ === 0) writeSync(2, 'PIPE FULL\\n');
          throw err;
        }
      };
      const mirror = createStdoutMirror({ writeSync: counting, onError: (err) => { writeSync(2, 'ERROR ' + err.message + '\\n'); } });
      const records = JSON.parse(readFileSync(${JSON.stringify(recordsPath)}, 'utf8'));
      for (let i = 0; i < records.length; i += 500) mirror.publish(records.slice(i, i + 500));
      writeSync(2, 'EAGAIN ' + eagain + '\\n');
      process.exit(0); // exits at once: nothing may be left in a buffer
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const full = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      if (Buffer.concat(err).toString('utf8').includes('PIPE FULL')) resolve();
    }));
    child.stdout.pause();
    // The reader is slow to start: it reads only once the pipe filled and the child's writes met EAGAIN.
    await Promise.race([full, closed]);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stdout.resume();
    const code = await closed;
    clearTimeout(guard);
    const stderr = Buffer.concat(err).toString('utf8');
    expect(code).toBe(0);
    expect(stderr).not.toContain('ERROR');
    expect(Number(/EAGAIN (\d+)/.exec(stderr)?.[1])).toBeGreaterThan(0);
    expectVerifiedText(Buffer.concat(out).toString('utf8'), records);
  });

  it('mirrors a real journal: services publish through it, and its fd alone verifies, checkpoints and all', async () => {
    const path = join(dir, 'mirror.jsonl');
    const fd = openSync(path, 'w');
    const config = loadConfig({}, { ...FAST_GATEWAY_ENV, PAYLOG_STORE: 'memory:', PAYLOG_DATA_DIR: dir, PAYLOG_CHECKPOINT_EVERY: '4', PAYLOG_CHECKPOINT_INTERVAL_MS: '0' });
    try {
      const services = await startServices(config, { role: 'test', mirror: createStdoutMirror({ fd }) });
      const caller: Caller = { merchantId: 'acme', actor: 'key_mirror', origin: { requestId: 'req_mirror', traceId: null, ip: '127.0.0.1' } };
      for (const card of ['4242424242424242', '4000000000000002', '4242424242424241', '4000000005030004']) {
        await createPayment(services.ctx, caller, paymentBody(card) as unknown as PaymentRequest, undefined);
      }
      await services.close();
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    // Every commit's records, then the head signed with them: every record is covered.
    const report = await verifyLines(lines, { trusted: [trustedKeyOf(loadSigningKeys(config).current)], requireCoverage: true });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints).toBeGreaterThanOrEqual(2);
    expect(report.streams).toHaveLength(1);
    const records = lines.filter((l) => headOfLine(JSON.parse(l)) === null);
    expect(lines.length - records.length).toBeGreaterThanOrEqual(5);
    expect(report.streams[0]).toMatchObject({ end: 'stopped', records: records.length, uncovered: 0 });
    const types = records.map((l) => (JSON.parse(l) as AuditRecord).type);
    expect(types[0]).toBe('journal.started');
    expect(types).toContain('payment.succeeded');
    expect(types).toContain('payment.declined');
  });

  it('retries the remaining bytes after EAGAIN, EINTR and short writes (injected writer), and backs off between tries', () => {
    const records = buildStream(40);
    const expected = records.map((r) => `${recordLine(r)}\n`).join('');
    const received: Buffer[] = [];
    const sleeps: number[] = [];
    let call = 0;
    // EAGAIN ×3, then 1,000-byte short writes with an EAGAIN or EINTR between every few.
    const flaky: WriteSyncFn = (_fd, buffer, offset, length) => {
      call++;
      if (call <= 3) throw errno('EAGAIN');
      if (call % 5 === 0) throw errno(call % 10 === 0 ? 'EINTR' : 'EAGAIN');
      const n = Math.min(length, 1_000);
      received.push(Buffer.from(buffer.subarray(offset, offset + n)));
      return n;
    };
    const errors: unknown[] = [];
    const mirror = createStdoutMirror({ fd: 99, writeSync: flaky, sleep: (ms) => sleeps.push(ms), onError: (e) => errors.push(e) });
    mirror.publish(records.slice(0, 25));
    mirror.publish(records.slice(25));
    expect(errors).toEqual([]);
    expect(Buffer.concat(received).toString('utf8')).toBe(expected);
    expectVerifiedText(Buffer.concat(received).toString('utf8'), records);
    // Doubling waits from 1 ms while blocked; progress starts again from 1 ms.
    expect(sleeps.slice(0, 3)).toEqual([1, 2, 4]);
    expect(sleeps.slice(3).every((ms) => ms === 1)).toBe(true);
  });

  it('a descriptor blocked for good: publish gives the batch up after maxBlockedMs, reports it, never throws; the torn line is ended before the next batch', () => {
    const records = buildStream(6);
    const received: Buffer[] = [];
    let mode: 'short-then-full' | 'full' | 'ok' = 'short-then-full';
    let waited = 0;
    const writer: WriteSyncFn = (_fd, buffer, offset, length) => {
      if (mode === 'full') throw errno('EAGAIN');
      const n = mode === 'ok' ? length : Math.min(length, 50);
      if (mode === 'short-then-full') mode = 'full'; // 50 bytes go out, then the pipe stays full
      received.push(Buffer.from(buffer.subarray(offset, offset + n)));
      return n;
    };
    const errors: unknown[] = [];
    const mirror = createStdoutMirror({ fd: 99, writeSync: writer, maxBlockedMs: 40, sleep: (ms) => { waited += ms; }, onError: (e) => errors.push(e) });
    expect(() => mirror.publish(records.slice(0, 3))).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(IncompleteWriteError);
    expect(errors[0]).toMatchObject({ written: 50 });
    expect(waited).toBeGreaterThanOrEqual(40);
    expect(waited).toBeLessThanOrEqual(40 + 50);

    mode = 'ok'; // the reader caught up
    mirror.publish(records.slice(3));
    expect(errors).toHaveLength(1);
    const lines = Buffer.concat(received).toString('utf8').split('\n');
    // The 50 torn bytes stand alone on their line (a malformed line verify reports), and the next batch's lines are whole.
    expect(lines[0]).toBe(recordLine(records[0] as AuditRecord).slice(0, 50));
    expect(lines.slice(1, -1)).toEqual(records.slice(3).map(recordLine));
    expect(lines.at(-1)).toBe('');
  });

  it('a descriptor that fails (EBADF) is reported, not thrown, and not retried', () => {
    let calls = 0;
    const errors: unknown[] = [];
    const mirror = createStdoutMirror({
      fd: 99,
      writeSync: () => {
        calls++;
        throw errno('EBADF');
      },
      onError: (e) => errors.push(e),
    });
    expect(() => mirror.publish(buildStream(2))).not.toThrow();
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('EBADF');
  });

  it('an onError that throws still leaves publish silent', () => {
    const mirror = createStdoutMirror({ write: () => { throw new Error('sink broke'); }, onError: () => { throw new Error('reporter broke'); } });
    expect(() => mirror.publish(buildStream(1))).not.toThrow();
  });

  it('the write option receives each batch as one string of complete lines', async () => {
    const records = buildStream(12);
    const texts: string[] = [];
    const mirror = createStdoutMirror({ write: (text) => texts.push(text) });
    mirror.publish(records.slice(0, 5));
    mirror.publish(records.slice(5));
    await expect(mirror.flush()).resolves.toBeUndefined();
    await expect(mirror.close()).resolves.toBeUndefined();
    expect(texts).toHaveLength(2);
    expect(texts.every((t) => t.endsWith('\n'))).toBe(true);
    expectVerifiedText(texts.join(''), records);
  });

  it('writeFullySync gives up on a descriptor that makes no progress only after maxBlockedMs of waiting, backing off 1, 2, 4 … ms', () => {
    const slept: number[] = [];
    const err = (() => {
      try {
        writeFullySync(99, Buffer.from('abc'), { writeSync: () => { throw errno('EAGAIN'); }, sleep: (ms) => { slept.push(ms); }, maxBlockedMs: 30 });
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IncompleteWriteError);
    expect(err).toMatchObject({ written: 0, total: 3 });
    // Waits in doubling steps until the waits add up to maxBlockedMs, then gives up: never before.
    expect(slept).toEqual([1, 2, 4, 8, 16]);
  });
});
