import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FAST_GATEWAY_ENV } from './harness.js';

export const PAYLOG_BIN = fileURLToPath(new URL('../../bin/paylog.js', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs a paylog command to completion. */
export function runPaylog(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [PAYLOG_BIN, ...args], {
    env: { ...process.env, ...FAST_GATEWAY_ENV, ...env }, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without blocking the event loop (needed when a server the command talks to runs in this process). */
export function runPaylogAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PAYLOG_BIN, ...args], { env: { ...process.env, ...FAST_GATEWAY_ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Tries at starting a server on a port found free: another process may take the port in between. */
const PORT_TRIES_MAX = 3;

/**
 * Starts `paylog serve` as a child process on a free loopback port and waits until it is ready.
 * A port found free can be taken by another test's process before the server binds it; the
 * server then exits (after stopping its stream cleanly), and only that failure is retried, on
 * another port.
 */
export async function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [PAYLOG_BIN, 'serve', ...args], {
      env: { ...process.env, ...FAST_GATEWAY_ENV, PAYLOG_LOG_LEVEL: 'warn', ...env, PAYLOG_PORT: String(port), PAYLOG_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForReady(child, url, () => output);
      return { child, url, output: () => output };
    } catch (err) {
      const portTaken = child.exitCode !== null && output.includes(`EADDRINUSE: address already in use 127.0.0.1:${port}`);
      if (!portTaken || attempt >= PORT_TRIES_MAX) throw err;
    }
  }
}

/** The JSON log lines in a process's output, other lines left out. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

/**
 * Polls `url`/readyz until it answers 200 (the server's own answer: its store reachable, its
 * journal open); throws as soon as the process exits, or, after a generous deadline, kills it.
 */
export async function waitForReady(child: ChildProcess, url: string, output: () => string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`paylog serve exited with ${child.exitCode}: ${output()}`);
    if (await fetch(`${url}/readyz`).then((res) => res.ok, () => false)) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`paylog serve did not become ready: ${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}
